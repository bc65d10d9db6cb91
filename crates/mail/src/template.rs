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

    /// Adds (or replaces) the text for language `tag` (BCP 47, e.g. `de` or `pt-BR`).
    pub fn language(mut self, tag: &str, translation: Translation) -> Self {
        let tag = tag.to_ascii_lowercase();
        self.translations.retain(|(t, _)| *t != tag);
        self.translations.push((tag, translation));
        self
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
