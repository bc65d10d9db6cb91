//! Forms: typed extraction of submitted fields that collects every error at once (not the first
//! only), labelled inputs that show their own error and keep what was typed, and the error
//! summary that gets focus after a failed submission so screen-reader users hear what to fix.

use std::collections::HashMap;
use std::str::FromStr;

use axum::extract::{FromRequest, Request};
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use maud::{Markup, html};

/// A submitted form: its fields as sent (repeated names keep every value). Reading a field
/// through [`FormData::parse`] records an error for the field instead of failing the request,
/// so one submission reports every bad field and the form is shown again with what was typed.
#[derive(Debug, Clone, Default)]
pub struct FormData {
    pairs: Vec<(String, String)>,
}

impl FormData {
    /// A form from pairs (tests, and pages that build one).
    pub fn from_pairs(pairs: Vec<(String, String)>) -> Self {
        Self { pairs }
    }

    /// The first value of `name`, trimmed; `None` when missing or blank.
    pub fn text(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    }

    /// Every value of `name` (checkbox groups).
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.pairs
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// Whether a checkbox named `name` was ticked.
    pub fn checked(&self, name: &str) -> bool {
        self.text(name).is_some()
    }

    /// A required field parsed as `T`; a missing or unparsable value records an error under
    /// `name` (with `what` saying what is expected) and gives `None`.
    pub fn required<T: FromStr>(
        &self,
        name: &str,
        what: &str,
        errors: &mut FormErrors,
    ) -> Option<T> {
        match self.text(name) {
            None => {
                errors.add(name, format!("Enter {what}."));
                None
            }
            Some(v) => self.parse_value(name, v, what, errors),
        }
    }

    /// An optional field parsed as `T`: blank is `None`, unparsable records an error.
    pub fn optional<T: FromStr>(
        &self,
        name: &str,
        what: &str,
        errors: &mut FormErrors,
    ) -> Option<T> {
        self.text(name)
            .and_then(|v| self.parse_value(name, v, what, errors))
    }

    fn parse_value<T: FromStr>(
        &self,
        name: &str,
        v: &str,
        what: &str,
        errors: &mut FormErrors,
    ) -> Option<T> {
        match v.parse() {
            Ok(t) => Some(t),
            Err(_) => {
                errors.add(name, format!("Enter {what}."));
                None
            }
        }
    }

    /// The pairs, for code that reads them itself.
    pub fn pairs(&self) -> &[(String, String)] {
        &self.pairs
    }
}

impl<S: Send + Sync> FromRequest<S> for FormData {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Form::<Vec<(String, String)>>::from_request(req, state).await {
            Ok(axum::Form(pairs)) => Ok(Self { pairs }),
            Err(e) => Err((StatusCode::BAD_REQUEST, e.body_text()).into_response()),
        }
    }
}

/// The errors of one submission, by field name, in the order found.
#[derive(Debug, Clone, Default)]
pub struct FormErrors {
    list: Vec<(String, String)>,
    by_name: HashMap<String, usize>,
}

impl FormErrors {
    /// No errors.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records `message` for `field` (the first message per field is kept).
    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        if !self.by_name.contains_key(field) {
            self.by_name.insert(field.to_string(), self.list.len());
            self.list.push((field.to_string(), message.into()));
        }
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// How many fields are wrong.
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// The message for `field`.
    pub fn of(&self, field: &str) -> Option<&str> {
        self.by_name.get(field).map(|&i| self.list[i].1.as_str())
    }

    /// Every (field, message).
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.list.iter().map(|(f, m)| (f.as_str(), m.as_str()))
    }

    /// `Ok(value)` when there are no errors.
    pub fn into_result<T>(self, value: T) -> Result<T, FormErrors> {
        if self.is_empty() {
            Ok(value)
        } else {
            Err(self)
        }
    }
}

/// The HTML id of the input for field `name` (`contact.email` → `f-contact-email`).
pub fn field_id(name: &str) -> String {
    let mut id = String::from("f-");
    for c in name.chars() {
        id.push(if c.is_ascii_alphanumeric() {
            c.to_ascii_lowercase()
        } else {
            '-'
        });
    }
    id
}

/// The error summary above a form: the count, then a link to each bad field. Focused by app.js
/// on load (it has `id="error-summary"`), so the reader hears it first.
pub fn error_summary(errors: &FormErrors) -> Markup {
    html! {
        @if !errors.is_empty() {
            div.error-summary #error-summary tabindex="-1" role="alert" aria-labelledby="error-summary-title" {
                h2 #error-summary-title {
                    @if errors.len() == 1 { "Please correct 1 field" } @else { "Please correct " (errors.len()) " fields" }
                }
                ul {
                    @for (field, message) in errors.iter() {
                        li { a href={ "#" (field_id(field)) } { (message) } }
                    }
                }
            }
        }
    }
}

/// The kind of control a [`Field`] is.
#[derive(Debug, Clone)]
pub enum FieldKind {
    /// A line of text of an HTML input type (`text`, `email`, `tel`, `date`, `search`, `number`,
    /// `password`, `datetime-local`).
    Input(&'static str),
    /// Several lines.
    TextArea,
    /// One of several (value, label) choices; the first is selected when nothing is.
    Select(Vec<(String, String)>),
    /// A checkbox (value sent when ticked).
    Checkbox,
}

/// A labelled form control that keeps the submitted value and shows its own error.
#[derive(Debug, Clone)]
pub struct Field<'a> {
    name: &'a str,
    label: &'a str,
    kind: FieldKind,
    value: Option<String>,
    hint: Option<&'a str>,
    required: bool,
    autocomplete: Option<&'a str>,
}

impl<'a> Field<'a> {
    /// A text input.
    pub fn text(name: &'a str, label: &'a str) -> Self {
        Self::new(name, label, FieldKind::Input("text"))
    }

    /// A control of any kind.
    pub fn new(name: &'a str, label: &'a str, kind: FieldKind) -> Self {
        Self {
            name,
            label,
            kind,
            value: None,
            hint: None,
            required: false,
            autocomplete: None,
        }
    }

    /// The value shown (what was stored or typed).
    pub fn value(mut self, value: Option<impl Into<String>>) -> Self {
        self.value = value.map(Into::into);
        self
    }

    /// A hint under the label (format, example).
    pub fn hint(mut self, hint: &'a str) -> Self {
        self.hint = Some(hint);
        self
    }

    /// Marks it required (told in the label and to assistive technology).
    pub fn required(mut self) -> Self {
        self.required = true;
        self
    }

    /// The `autocomplete` token (`email`, `tel`, `off`).
    pub fn autocomplete(mut self, token: &'a str) -> Self {
        self.autocomplete = Some(token);
        self
    }

    /// The control with its label, hint and error (from `errors`).
    pub fn render(&self, errors: &FormErrors) -> Markup {
        let id = field_id(self.name);
        let error = errors.of(self.name);
        let hint_id = format!("{id}-hint");
        let error_id = format!("{id}-error");
        let described: Vec<&str> = [
            self.hint.map(|_| hint_id.as_str()),
            error.map(|_| error_id.as_str()),
        ]
        .into_iter()
        .flatten()
        .collect();
        let described = (!described.is_empty()).then(|| described.join(" "));
        let invalid = error.map(|_| "true");
        html! {
            div.field.has-error[error.is_some()] {
                @if let FieldKind::Checkbox = self.kind {
                    label for=(id) {
                        input type="checkbox" id=(id) name=(self.name) value="on"
                            checked[self.value.is_some()] aria-invalid=[invalid] aria-describedby=[described.as_deref()];
                        " " (self.label)
                    }
                } @else {
                    label for=(id) {
                        (self.label)
                        @if self.required { span.required aria-hidden="true" { " *" } }
                    }
                }
                @if let Some(h) = self.hint { small.hint id=(hint_id) { (h) } }
                @if let Some(e) = error { small.field-error id=(error_id) { (e) } }
                @match &self.kind {
                    FieldKind::Input(kind) => {
                        input type=(kind) id=(id) name=(self.name) value=[self.value.as_deref()]
                            required[self.required] aria-invalid=[invalid]
                            aria-describedby=[described.as_deref()] autocomplete=[self.autocomplete];
                    }
                    FieldKind::TextArea => {
                        textarea id=(id) name=(self.name) rows="4" required[self.required]
                            aria-invalid=[invalid] aria-describedby=[described.as_deref()] {
                            (self.value.as_deref().unwrap_or(""))
                        }
                    }
                    FieldKind::Select(options) => {
                        select id=(id) name=(self.name) required[self.required]
                            aria-invalid=[invalid] aria-describedby=[described.as_deref()] {
                            @for (value, label) in options {
                                option value=(value) selected[self.value.as_deref() == Some(value.as_str())] { (label) }
                            }
                        }
                    }
                    FieldKind::Checkbox => {}
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bad_field_is_reported_and_the_typed_value_comes_back() {
        let form = FormData::from_pairs(vec![
            ("seats".into(), "many".into()),
            ("name".into(), "  Ada ".into()),
        ]);
        let mut errors = FormErrors::new();
        let seats: Option<u32> = form.required("seats", "a number of seats", &mut errors);
        let flight: Option<String> = form.required("flight", "a flight number", &mut errors);
        assert_eq!((seats, flight), (None, None));
        assert_eq!(form.text("name"), Some("Ada"));
        assert_eq!(errors.len(), 2);
        let html = error_summary(&errors).into_string();
        assert!(html.contains("href=\"#f-seats\"") && html.contains("Please correct 2 fields"));
        let field = Field::text("seats", "Seats")
            .value(form.text("seats"))
            .render(&errors)
            .into_string();
        assert!(
            field.contains("aria-invalid=\"true\"") && field.contains("value=\"many\""),
            "{field}"
        );
    }
}
