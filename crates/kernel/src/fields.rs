//! Reading a JSON object field by field, collecting every problem with its JSON pointer.
//!
//! Why: Aloft's validation reports *every* bad field of a document at once (RFC 9457 problem
//! details and ingest rejections name each one), so readers never stop at the first error; each
//! domain's document parser (customer profiles, travel records) reads through this one type, so
//! the same mistake gets the same sentence everywhere.

use serde_json::{Map, Value};

use crate::problem::FieldError;

/// Reads one JSON object under the pointer `base`, pushing a [`FieldError`] for every problem.
pub struct FieldReader<'a, 'e> {
    obj: &'a Map<String, Value>,
    base: String,
    errors: &'e mut Vec<FieldError>,
}

impl<'a, 'e> FieldReader<'a, 'e> {
    /// A reader of `obj`, found at JSON pointer `base` (`""` for the document itself).
    pub fn new(
        obj: &'a Map<String, Value>,
        base: impl Into<String>,
        errors: &'e mut Vec<FieldError>,
    ) -> Self {
        Self {
            obj,
            base: base.into(),
            errors,
        }
    }

    /// The JSON pointer of `field` of this object.
    pub fn pointer(&self, field: &str) -> String {
        format!("{}/{field}", self.base)
    }

    /// Records a problem with `field`.
    pub fn fail(&mut self, field: &str, detail: impl Into<String>) {
        let p = self.pointer(field);
        self.errors.push(FieldError::new(p, detail));
    }

    /// Records every field not in `known`, naming the known ones.
    pub fn reject_unknown(&mut self, known: &[&str]) {
        let unknown: Vec<String> = self
            .obj
            .keys()
            .filter(|k| !known.contains(&k.as_str()))
            .cloned()
            .collect();
        for k in unknown {
            let detail = format!(
                "is not a known field; expected one of: {}",
                known.join(", ")
            );
            self.fail(&escape_pointer(&k), detail);
        }
    }

    /// The raw value of `field`, if any.
    pub fn get(&self, field: &str) -> Option<&'a Value> {
        self.obj.get(field)
    }

    /// Whether `field` is present and not null.
    pub fn present(&self, field: &str) -> bool {
        !matches!(self.obj.get(field), None | Some(Value::Null))
    }

    /// A string field parsed by `parse`; absent or null gives `None`.
    pub fn opt<T>(
        &mut self,
        field: &str,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Option<T> {
        match self.obj.get(field) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => match parse(s) {
                Ok(v) => Some(v),
                Err(e) => {
                    self.fail(field, e);
                    None
                }
            },
            Some(_) => {
                self.fail(field, "must be a string");
                None
            }
        }
    }

    /// Like [`FieldReader::opt`] but the field must be present.
    pub fn req<T>(
        &mut self,
        field: &str,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Option<T> {
        if !self.present(field) {
            self.fail(field, "is required");
            return None;
        }
        self.opt(field, parse)
    }

    /// An optional whole number within `min..=max`.
    pub fn int(&mut self, field: &str, min: u32, max: u32) -> Option<u32> {
        match self.obj.get(field) {
            None | Some(Value::Null) => None,
            Some(v) => match v.as_u64().and_then(|n| u32::try_from(n).ok()) {
                Some(n) if (min..=max).contains(&n) => Some(n),
                _ => {
                    self.fail(field, format!("must be a whole number from {min} to {max}"));
                    None
                }
            },
        }
    }

    /// Like [`FieldReader::int`] but the field must be present.
    pub fn req_int(&mut self, field: &str, min: u32, max: u32) -> Option<u32> {
        if !self.present(field) {
            self.fail(field, "is required");
            return None;
        }
        self.int(field, min, max)
    }

    /// A nested object at `field`; `None` when absent or null (an error if not an object).
    pub fn object(&mut self, field: &str) -> Option<&'a Map<String, Value>> {
        match self.obj.get(field) {
            None | Some(Value::Null) => None,
            Some(Value::Object(m)) => Some(m),
            Some(_) => {
                self.fail(field, "must be an object");
                None
            }
        }
    }

    /// An array at `field`; `None` when absent or null (an error if not an array).
    pub fn array(&mut self, field: &str) -> Option<&'a Vec<Value>> {
        match self.obj.get(field) {
            None | Some(Value::Null) => None,
            Some(Value::Array(a)) => Some(a),
            Some(_) => {
                self.fail(field, "must be an array");
                None
            }
        }
    }

    /// A reader for `obj`, found at `pointer` relative to this object (e.g. `segments/0`); its
    /// problems join this reader's.
    pub fn nested<'b>(
        &'b mut self,
        pointer: &str,
        obj: &'a Map<String, Value>,
    ) -> FieldReader<'a, 'b> {
        FieldReader {
            obj,
            base: self.pointer(pointer),
            errors: self.errors,
        }
    }
}

/// `key` escaped as a JSON pointer segment (RFC 6901).
pub fn escape_pointer(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_problem_is_reported_with_its_pointer() {
        let doc = json!({"name": 7, "seg": {"n": 99, "x/y": 1}, "list": "no"});
        let obj = doc.as_object().unwrap();
        let mut errors = Vec::new();
        let mut r = FieldReader::new(obj, "/data", &mut errors);
        r.reject_unknown(&["name", "seg", "list", "when"]);
        assert_eq!(r.opt("name", |s| Ok(s.to_owned())), None);
        assert_eq!(r.req("when", |s| Ok(s.to_owned())), None);
        assert!(r.array("list").is_none());
        let seg = r.object("seg").unwrap();
        let mut n = r.nested("seg", seg);
        assert_eq!(n.int("n", 1, 9), None);
        n.reject_unknown(&["n"]);
        let got: Vec<(String, String)> = errors
            .iter()
            .map(|e| (e.pointer.clone(), e.detail.clone()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("/data/name".into(), "must be a string".into()),
                ("/data/when".into(), "is required".into()),
                ("/data/list".into(), "must be an array".into()),
                (
                    "/data/seg/n".into(),
                    "must be a whole number from 1 to 9".into()
                ),
                (
                    "/data/seg/x~1y".into(),
                    "is not a known field; expected one of: n".into()
                ),
            ]
        );
    }
}
