//! Mail templates per language: a subject, a plain-text body and an optional HTML body, with
//! `{{name}}` placeholders filled from a JSON object of parameters.
//!
//! Why no template engine: messages are short and written by developers next to the code that
//! sends them; placeholder substitution covers them without another dependency. Values are
//! inserted as text — HTML-escaped in the HTML body, line breaks removed from the subject (a
//! header) — so a parameter can never add markup or headers.
//!
//! Language choice: the exact tag (`de-AT`), then its primary language (`de`), then English,
//! which every template has by construction ([`Template::new`]).

use std::collections::HashMap;

/// One language's text of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Translation {
    /// Subject line, with placeholders.
    pub subject: String,
    /// Plain-text body, with placeholders (always sent: some readers show only text).
    pub text: String,
    /// HTML body, with placeholders (sent as the alternative part when given).
    pub html: Option<String>,
}

impl Translation {
    /// A subject and plain-text body.
    pub fn new(subject: impl Into<String>, text: impl Into<String>) -> Self {
        Self {
            subject: subject.into(),
            text: text.into(),
            html: None,
        }
    }

    /// With an HTML alternative.
    pub fn html(mut self, html: impl Into<String>) -> Self {
        self.html = Some(html.into());
        self
    }
}

/// A named message in one or more languages; English is required as the fallback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    name: &'static str,
    translations: Vec<(String, Translation)>,
}

/// A template filled in for one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// The language actually used (after fallback).
    pub language: String,
    /// Subject, on one line.
    pub subject: String,
    /// Plain-text body.
    pub text: String,
    /// HTML body, if the template has one.
    pub html: Option<String>,
}

/// Why a template could not be filled in. Names parameters, never their values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    /// No template of that name is registered.
    #[error("no mail template named {0:?}")]
    UnknownTemplate(String),
    /// A placeholder has no parameter.
    #[error("template {template:?} needs the parameter {param:?}")]
    MissingParam {
        /// The template.
        template: &'static str,
        /// The placeholder's name.
        param: String,
    },
    /// A parameter is an object or array, which has no text form.
    #[error("template {template:?}: parameter {param:?} must be a string, number or boolean")]
    NotScalar {
        /// The template.
        template: &'static str,
        /// The placeholder's name.
        param: String,
    },
}

impl Template {
    /// A template named `name` (stable: stored with each message and logged) with its English
    /// text, the fallback for every other language.
    pub fn new(name: &'static str, english: Translation) -> Self {
        Self {
            name,
            translations: vec![("en".into(), english)],
        }
    }

    /// Adds (or replaces, in place: English stays the fallback) the text for language `tag`
    /// (BCP 47, e.g. `de` or `pt-BR`).
    pub fn language(mut self, tag: &str, translation: Translation) -> Self {
        let tag = tag.to_ascii_lowercase();
        match self.translations.iter_mut().find(|(t, _)| *t == tag) {
            Some((_, existing)) => *existing = translation,
            None => self.translations.push((tag, translation)),
        }
        self
    }

    /// Its texts by language tag, English first.
    pub fn translations(&self) -> &[(String, Translation)] {
        &self.translations
    }

    /// The placeholders its texts use (every language's), sorted: the parameters its sender
    /// provides, and so the only ones an edited text may use.
    pub fn placeholders(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .translations
            .iter()
            .flat_map(|(_, t)| {
                [
                    Some(t.subject.as_str()),
                    Some(t.text.as_str()),
                    t.html.as_deref(),
                ]
                .into_iter()
                .flatten()
                .flat_map(placeholders_in)
            })
            .collect();
        names.sort();
        names.dedup();
        names
    }

    /// What is wrong with `edit` as a text of this template, each as (field, message): an
    /// empty or overlong subject or body, a placeholder its sender does not provide (it would
    /// fail every message at send time), an unclosed `{{`. Empty: it may be saved.
    pub fn check(&self, edit: &Translation) -> Vec<(&'static str, String)> {
        let known = self.placeholders();
        let mut problems = Vec::new();
        let parts = [
            ("subject", Some(edit.subject.as_str()), 200),
            ("text", Some(edit.text.as_str()), 20_000),
            ("html", edit.html.as_deref(), 50_000),
        ];
        for (field, value, max) in parts {
            let Some(value) = value else { continue };
            if value.trim().is_empty() && field != "html" {
                problems.push((field, "is required".to_owned()));
                continue;
            }
            if value.chars().count() > max {
                problems.push((field, format!("must be at most {max} characters")));
                continue;
            }
            if value.matches("{{").count() != value.matches("}}").count() {
                problems.push((field, "has a {{ without its }}".to_owned()));
                continue;
            }
            let unknown: Vec<String> = placeholders_in(value)
                .filter(|p| !known.contains(p))
                .collect();
            if !unknown.is_empty() {
                problems.push((
                    field,
                    format!(
                        "uses {} — not provided by this message; use {}",
                        unknown
                            .iter()
                            .map(|u| format!("{{{{{u}}}}}"))
                            .collect::<Vec<_>>()
                            .join(", "),
                        if known.is_empty() {
                            "no placeholder".to_owned()
                        } else {
                            known
                                .iter()
                                .map(|k| format!("{{{{{k}}}}}"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        }
                    ),
                ));
            }
        }
        problems
    }

    /// The template's name.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The translation for `language`: exact tag, primary language, then English.
    fn choose(&self, language: &str) -> &(String, Translation) {
        let wanted = language.trim().to_ascii_lowercase();
        let primary = wanted.split(['-', '_']).next().unwrap_or_default();
        self.translations
            .iter()
            .find(|(t, _)| *t == wanted)
            .or_else(|| self.translations.iter().find(|(t, _)| t == primary))
            .unwrap_or(&self.translations[0])
    }

    /// Fills in the text for `language` from `params` (a JSON object).
    pub fn render(
        &self,
        language: &str,
        params: &serde_json::Value,
    ) -> Result<Rendered, RenderError> {
        let (tag, t) = self.choose(language);
        let subject = self.fill(&t.subject, params, Escape::Header)?;
        Ok(Rendered {
            language: tag.clone(),
            subject: subject.split_whitespace().collect::<Vec<_>>().join(" "),
            text: self.fill(&t.text, params, Escape::None)?,
            html: t
                .html
                .as_deref()
                .map(|h| self.fill(h, params, Escape::Html))
                .transpose()?,
        })
    }

    fn fill(
        &self,
        source: &str,
        params: &serde_json::Value,
        escape: Escape,
    ) -> Result<String, RenderError> {
        let mut out = String::with_capacity(source.len());
        let mut rest = source;
        while let Some(start) = rest.find("{{") {
            let Some(len) = rest[start + 2..].find("}}") else {
                break;
            };
            out.push_str(&rest[..start]);
            let name = rest[start + 2..start + 2 + len].trim();
            let value = lookup(params, name).ok_or_else(|| RenderError::MissingParam {
                template: self.name,
                param: name.to_owned(),
            })?;
            let text = match value {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Null => String::new(),
                serde_json::Value::Bool(_) | serde_json::Value::Number(_) => value.to_string(),
                _ => {
                    return Err(RenderError::NotScalar {
                        template: self.name,
                        param: name.to_owned(),
                    });
                }
            };
            escape.push(&mut out, &text);
            rest = &rest[start + 2 + len + 2..];
        }
        out.push_str(rest);
        Ok(out)
    }
}

/// The `{{name}}` placeholders of `source`, in order.
fn placeholders_in(source: &str) -> impl Iterator<Item = String> + '_ {
    source.split("{{").skip(1).filter_map(|rest| {
        rest.find("}}")
            .map(|end| rest[..end].trim().to_owned())
            .filter(|n| !n.is_empty())
    })
}

/// Whether `tag` is a language tag a template text may be saved under: a 2–3 letter primary
/// language, optionally with subtags of 2–8 letters or digits (`de`, `pt-br`, `zh-hant`).
pub fn is_language_tag(tag: &str) -> bool {
    let mut parts = tag.split('-');
    let primary = parts.next().unwrap_or_default();
    (2..=3).contains(&primary.len())
        && primary.bytes().all(|b| b.is_ascii_lowercase())
        && parts.all(|p| (2..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()))
        && tag.len() <= 35
}

/// `a.b.c` in a JSON object.
fn lookup<'a>(params: &'a serde_json::Value, path: &str) -> Option<&'a serde_json::Value> {
    path.split('.')
        .try_fold(params, |value, key| value.as_object()?.get(key))
}

#[derive(Debug, Clone, Copy)]
enum Escape {
    None,
    Header,
    Html,
}

impl Escape {
    fn push(self, out: &mut String, text: &str) {
        match self {
            Escape::None => out.push_str(text),
            Escape::Header => {
                out.extend(text.chars().map(|c| if c.is_control() { ' ' } else { c }));
            }
            Escape::Html => {
                for c in text.chars() {
                    match c {
                        '&' => out.push_str("&amp;"),
                        '<' => out.push_str("&lt;"),
                        '>' => out.push_str("&gt;"),
                        '"' => out.push_str("&quot;"),
                        '\'' => out.push_str("&#39;"),
                        c => out.push(c),
                    }
                }
            }
        }
    }
}

/// The templates a [`crate::Mailer`] can send, by name. Domains register theirs at start-up.
#[derive(Debug, Clone, Default)]
pub struct Templates(HashMap<&'static str, Template>);

impl Templates {
    /// None yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `template` (replacing one of the same name).
    pub fn with(mut self, template: Template) -> Self {
        self.0.insert(template.name, template);
        self
    }

    /// Adds every template of `more` (a domain's set).
    pub fn extend(mut self, more: impl IntoIterator<Item = Template>) -> Self {
        for t in more {
            self.0.insert(t.name, t);
        }
        self
    }

    /// The template named `name`.
    pub fn get(&self, name: &str) -> Option<&Template> {
        self.0.get(name)
    }

    /// Every template, by name.
    pub fn all(&self) -> Vec<&Template> {
        let mut all: Vec<&Template> = self.0.values().collect();
        all.sort_by_key(|t| t.name);
        all
    }

    /// Fills in template `name` for `language`.
    pub fn render(
        &self,
        name: &str,
        language: &str,
        params: &serde_json::Value,
    ) -> Result<(&'static str, Rendered), RenderError> {
        let template = self
            .0
            .get(name)
            .ok_or_else(|| RenderError::UnknownTemplate(name.to_owned()))?;
        Ok((template.name, template.render(language, params)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn greeting() -> Template {
        Template::new(
            "greeting",
            Translation::new(
                "Hello {{name}}",
                "Dear {{ name }}, flight {{flight.number}}.",
            )
            .html("<p>Dear {{name}}</p>"),
        )
        .language(
            "de",
            Translation::new("Hallo {{name}}", "Liebe(r) {{name}}"),
        )
    }

    #[test]
    fn languages_fall_back_to_the_primary_tag_then_english() {
        let p = json!({ "name": "Ann", "flight": { "number": "BA117" } });
        assert_eq!(greeting().render("de-AT", &p).unwrap().subject, "Hallo Ann");
        assert_eq!(greeting().render("DE", &p).unwrap().language, "de");
        let fr = greeting().render("fr", &p).unwrap();
        assert_eq!(fr.language, "en");
        assert_eq!(fr.text, "Dear Ann, flight BA117.");
        assert_eq!(
            greeting().render("de", &p).unwrap().html,
            None,
            "the German text has no HTML part"
        );
    }

    #[test]
    fn an_edit_may_use_only_the_placeholders_the_sender_provides() {
        let t = greeting();
        assert_eq!(t.placeholders(), ["flight.number", "name"]);
        assert!(
            t.check(&Translation::new(
                "Olá {{name}}",
                "Caro {{ name }}, voo {{flight.number}}."
            ))
            .is_empty()
        );
        let problems = t
            .check(&Translation::new(" ", "Dear {{customer_name}} {{name}}").html("<p>{{name</p>"));
        let fields: Vec<&str> = problems.iter().map(|(f, _)| *f).collect();
        assert_eq!(fields, ["subject", "text", "html"]);
        assert!(
            problems[1].1.contains("{{customer_name}}"),
            "{}",
            problems[1].1
        );
        assert!(
            problems[1].1.contains("{{flight.number}}, {{name}}"),
            "{}",
            problems[1].1
        );
        let long = "x".repeat(201);
        assert_eq!(t.check(&Translation::new(long, "ok"))[0].0, "subject");
    }

    #[test]
    fn replacing_english_keeps_it_the_fallback() {
        let t = greeting().language("en", Translation::new("Hi {{name}}", "Hi {{name}}"));
        let r = t.render("fr", &json!({"name": "Ann"})).unwrap();
        assert_eq!((r.language.as_str(), r.subject.as_str()), ("en", "Hi Ann"));
        assert_eq!(t.translations().len(), 2);
    }

    #[test]
    fn language_tags() {
        for ok in ["de", "pt-br", "zh-hant", "gsw"] {
            assert!(is_language_tag(ok), "{ok}");
        }
        for bad in ["", "d", "DE", "deutsch", "de_", "de-", "de-a", "en-<x>"] {
            assert!(!is_language_tag(bad), "{bad}");
        }
    }

    #[test]
    fn values_cannot_inject_markup_or_headers() {
        let p = json!({ "name": "<b>Ann</b> & \"co\"\r\nBcc: x@example.org", "flight": { "number": 1 } });
        let r = greeting().render("en", &p).unwrap();
        assert_eq!(
            r.html.unwrap(),
            "<p>Dear &lt;b&gt;Ann&lt;/b&gt; &amp; &quot;co&quot;\r\nBcc: x@example.org</p>"
        );
        assert!(!r.subject.contains('\n') && !r.subject.contains('\r'));
        assert_eq!(r.subject, "Hello <b>Ann</b> & \"co\" Bcc: x@example.org");
    }

    #[test]
    fn missing_and_structured_parameters_are_named() {
        assert_eq!(
            greeting().render("en", &json!({ "flight": { "number": 1 } })),
            Err(RenderError::MissingParam {
                template: "greeting",
                param: "name".into()
            })
        );
        assert_eq!(
            greeting().render("en", &json!({ "name": ["a"], "flight": { "number": 1 } })),
            Err(RenderError::NotScalar {
                template: "greeting",
                param: "name".into()
            })
        );
        let t = Templates::new().with(greeting());
        assert!(matches!(
            t.render("nope", "en", &json!({})),
            Err(RenderError::UnknownTemplate(_))
        ));
    }
}
