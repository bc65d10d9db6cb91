//! The segment builder's form, pure: rows of conditions (`c{i}_field`, `c{i}_op`,
//! `c{i}_value`) joined by `all` or `any`, turned into a rule document of the rule language,
//! and the rule's problems (JSON pointers such as `/all/2/value`) turned back into the form
//! field they belong to (`c2_value`), so a 422 is shown next to the right row.

use serde_json::{Value, json};

use crate::segment::{FieldType, RuleError, field};

/// The most rows the form offers (the rule language allows more; a form of 50 is plenty).
pub const MAX_ROWS: usize = 50;

/// The operators offered, with their labels.
pub const OPERATORS: &[(&str, &str)] = &[
    ("=", "is"),
    ("!=", "is not"),
    (">", "more than"),
    (">=", "at least"),
    ("<", "less than"),
    ("<=", "at most"),
    ("in", "is one of (comma-separated)"),
    ("not_in", "is none of (comma-separated)"),
];

/// One condition row as typed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Row {
    /// A catalogue field name.
    pub field: String,
    /// An operator code.
    pub op: String,
    /// The value as typed (a list comma-separated).
    pub value: String,
}

/// The form: how the rows are joined and the rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Draft {
    /// `all` or `any`.
    pub join: &'static str,
    /// The conditions.
    pub rows: Vec<Row>,
}

impl Draft {
    /// A new draft with one empty row.
    pub fn new() -> Self {
        Self {
            join: "all",
            rows: vec![Row::default()],
        }
    }

    /// Reads the draft from form pairs (`join`, `rows`, `c{i}_…`).
    pub fn from_form(text: impl Fn(&str) -> Option<String>) -> Self {
        let join = if text("join").as_deref() == Some("any") {
            "any"
        } else {
            "all"
        };
        let n = text("rows")
            .and_then(|n| n.trim().parse::<usize>().ok())
            .unwrap_or(1)
            .min(MAX_ROWS);
        let rows = (0..n)
            .map(|i| Row {
                field: text(&format!("c{i}_field")).unwrap_or_default(),
                op: text(&format!("c{i}_op")).unwrap_or_default(),
                value: text(&format!("c{i}_value")).unwrap_or_default(),
            })
            .collect();
        Self { join, rows }
    }

    /// The rule document: values typed by the field's type where they parse, left as text
    /// where they do not (so the rule language names the wrong type).
    pub fn rule(&self) -> Value {
        let conditions: Vec<Value> = self
            .rows
            .iter()
            .map(|r| {
                let ty = field(r.field.trim()).map(|f| f.ty);
                let value = if r.op == "in" || r.op == "not_in" {
                    Value::Array(
                        r.value
                            .split(',')
                            .map(str::trim)
                            .filter(|v| !v.is_empty())
                            .map(|v| typed(ty, v))
                            .collect(),
                    )
                } else {
                    typed(ty, r.value.trim())
                };
                json!({"field": r.field.trim(), "op": r.op.trim(), "value": value})
            })
            .collect();
        json!({ self.join: conditions })
    }
}

impl Default for Draft {
    fn default() -> Self {
        Self::new()
    }
}

impl Draft {
    /// The draft of a saved rule, if the form can show it: one condition, or an `all`/`any`
    /// of conditions (nested groups and `not` are for the API).
    pub fn of_rule(rule: &Value) -> Option<Self> {
        let (join, list) = if let Some(l) = rule.get("all").and_then(Value::as_array) {
            ("all", l.clone())
        } else if let Some(l) = rule.get("any").and_then(Value::as_array) {
            ("any", l.clone())
        } else if rule.get("field").is_some() {
            ("all", vec![rule.clone()])
        } else {
            return None;
        };
        if list.is_empty() || list.len() > MAX_ROWS {
            return None;
        }
        let text = |v: &Value| match v {
            Value::String(s) => s.clone(),
            Value::Bool(true) => "yes".to_owned(),
            Value::Bool(false) => "no".to_owned(),
            other => other.to_string(),
        };
        let rows = list
            .iter()
            .map(|c| {
                let field = c.get("field")?.as_str()?.to_owned();
                let op = c.get("op")?.as_str()?.to_owned();
                let value = match c.get("value")? {
                    Value::Array(vs) => vs.iter().map(text).collect::<Vec<_>>().join(", "),
                    v => text(v),
                };
                Some(Row { field, op, value })
            })
            .collect::<Option<Vec<_>>>()?;
        Some(Self { join, rows })
    }
}

fn typed(ty: Option<FieldType>, v: &str) -> Value {
    match ty {
        Some(FieldType::Integer | FieldType::DaysSince) => v
            .parse::<i64>()
            .map(Value::from)
            .unwrap_or_else(|_| Value::from(v)),
        Some(FieldType::Boolean) => match v.to_ascii_lowercase().as_str() {
            "true" | "yes" => Value::Bool(true),
            "false" | "no" => Value::Bool(false),
            _ => Value::from(v),
        },
        _ => Value::from(v),
    }
}

/// The form field a rule problem belongs to: `/all/2/value/1` → `c2_value`; a problem of the
/// whole rule (too many conditions) → `rule`.
pub fn form_field(e: &RuleError) -> String {
    let parts: Vec<&str> = e.pointer.split('/').skip(1).collect();
    match parts.as_slice() {
        [_join, i, part, ..] if i.parse::<usize>().is_ok() => {
            let part = match *part {
                "field" | "op" | "value" => *part,
                _ => "field",
            };
            format!("c{i}_{part}")
        }
        [_join, i] if i.parse::<usize>().is_ok() => format!("c{i}_field"),
        _ => "rule".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::segment::parse;

    fn draft(join: &'static str, rows: &[(&str, &str, &str)]) -> Draft {
        Draft {
            join,
            rows: rows
                .iter()
                .map(|(f, o, v)| Row {
                    field: (*f).into(),
                    op: (*o).into(),
                    value: (*v).into(),
                })
                .collect(),
        }
    }

    #[test]
    fn rows_become_a_typed_rule() {
        let d = draft(
            "any",
            &[
                ("loyalty.tier", "in", "gold, platinum"),
                ("travel.flights_12m", ">=", "4"),
                ("consent.marketing_email", "=", "yes"),
                ("travel.spend_12m", ">", "1250.00"),
            ],
        );
        let rule = d.rule();
        assert_eq!(rule["any"][0]["value"], json!(["gold", "platinum"]));
        assert_eq!(rule["any"][1]["value"], json!(4));
        assert_eq!(rule["any"][2]["value"], json!(true));
        assert!(parse(&rule).is_ok(), "{rule}");
    }

    #[test]
    fn problems_land_on_their_row() {
        let d = draft(
            "all",
            &[
                ("loyalty.tier", "=", "gold"),
                ("loyalty.teir", "=", "gold"),
                ("travel.flights_12m", ">=", "many"),
            ],
        );
        let errors = parse(&d.rule()).unwrap_err();
        let fields: Vec<String> = errors.iter().map(form_field).collect();
        assert!(fields.contains(&"c1_field".to_owned()), "{errors:?}");
        assert!(fields.contains(&"c2_value".to_owned()), "{errors:?}");
        assert_eq!(
            form_field(&RuleError {
                pointer: String::new(),
                detail: String::new()
            }),
            "rule"
        );
    }

    #[test]
    fn a_saved_flat_rule_comes_back_as_rows_and_round_trips() {
        let d = draft(
            "any",
            &[
                ("loyalty.tier", "in", "gold, platinum"),
                ("travel.flights_12m", ">=", "4"),
                ("consent.marketing_email", "=", "yes"),
            ],
        );
        let back = Draft::of_rule(&d.rule()).unwrap();
        assert_eq!(back, d);
        let single = json!({"field": "loyalty.tier", "op": "=", "value": "gold"});
        assert_eq!(Draft::of_rule(&single).unwrap().rows.len(), 1);
        let nested =
            json!({"all": [{"not": {"field": "loyalty.tier", "op": "=", "value": "gold"}}]});
        assert!(Draft::of_rule(&nested).is_none());
    }

    #[test]
    fn the_form_is_read_back() {
        let pairs = [
            ("join", "any"),
            ("rows", "2"),
            ("c0_field", "loyalty.tier"),
            ("c0_op", "="),
            ("c0_value", "gold"),
            ("c1_field", "cases.open"),
        ];
        let d = Draft::from_form(|k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| (*v).to_owned())
        });
        assert_eq!(d.join, "any");
        assert_eq!(d.rows.len(), 2);
        assert_eq!(d.rows[0].value, "gold");
        assert_eq!(d.rows[1].op, "");
    }
}
