//! The segment builder's form, pure: conditions (`c{path}_field`, `c{path}_op`,
//! `c{path}_value`) and groups of conditions (`c{path}_kind=group`, `c{path}_join`,
//! `c{path}_rows`) joined by `all` or `any`, turned into a rule document of the rule language,
//! and the rule's problems (JSON pointers such as `/all/2/any/1/value`) turned back into the
//! form field they belong to (`c2-1_value`), so a 422 is shown next to the right control.
//!
//! A path is the item's position: `2` for the third item of the rule, `2-1` for the second
//! item of that group. The form nests groups one level (a group holds conditions), which
//! covers "all of these, and any of those"; a group may also be "none of" these (`not` of
//! `any`). Deeper rules are edited through the API.

use serde_json::{Value, json};

use crate::segment::{FieldType, RuleError, field};

/// The most conditions the form offers in all (the rule language allows more).
pub const MAX_ROWS: usize = 50;

/// How deep groups nest in the form: groups inside the rule, conditions inside groups.
pub const MAX_GROUP_DEPTH: usize = 1;

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

/// How a group's items are joined, with their labels: every one, at least one, or none.
pub const JOINS: &[(&str, &str)] = &[
    ("all", "all of the conditions"),
    ("any", "any of the conditions"),
    ("none", "none of the conditions"),
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

/// An item of a group: a condition or a group of its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// A condition row.
    Cond(Row),
    /// A nested group.
    Group(Group),
}

/// Items joined by `all`, `any` or `none`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// `all`, `any` or `none` (the rule's top level offers `all` and `any`).
    pub join: &'static str,
    /// The items, in order.
    pub items: Vec<Item>,
}

/// The form: the rule's top-level group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Draft {
    /// The top level.
    pub root: Group,
}

/// A path's form prefix: `[2, 1]` → `c2-1`.
pub fn prefix(path: &[usize]) -> String {
    let parts: Vec<String> = path.iter().map(usize::to_string).collect();
    format!("c{}", parts.join("-"))
}

/// A path as people number it: `[2, 1]` → `3.2`.
pub fn label(path: &[usize]) -> String {
    let parts: Vec<String> = path.iter().map(|i| (i + 1).to_string()).collect();
    parts.join(".")
}

/// The path of the rule's top level as the form's buttons send it (a blank value would read as
/// no value at all).
pub const TOP: &str = "top";

/// Parses a path as the form's buttons send it (`2-1`; [`TOP`] for the top level).
pub fn parse_path(s: &str) -> Option<Vec<usize>> {
    if s.is_empty() || s == TOP {
        return Some(Vec::new());
    }
    s.split('-').map(|p| p.parse().ok()).collect()
}

fn join_code(s: Option<&str>, allow_none: bool) -> &'static str {
    match s {
        Some("any") => "any",
        Some("none") if allow_none => "none",
        _ => "all",
    }
}

impl Group {
    fn conditions(&self) -> usize {
        self.items
            .iter()
            .map(|i| match i {
                Item::Cond(_) => 1,
                Item::Group(g) => g.conditions(),
            })
            .sum()
    }

    fn read(text: &dyn Fn(&str) -> Option<String>, path: &[usize], budget: &mut usize) -> Self {
        let (join, rows) = if path.is_empty() {
            (text("join"), text("rows"))
        } else {
            let p = prefix(path);
            (text(&format!("{p}_join")), text(&format!("{p}_rows")))
        };
        let join = join_code(join.as_deref(), !path.is_empty());
        let n = rows
            .and_then(|n| n.trim().parse::<usize>().ok())
            .unwrap_or(1)
            .min(MAX_ROWS);
        let mut items = Vec::with_capacity(n);
        for i in 0..n {
            if *budget == 0 {
                break;
            }
            let mut child = path.to_vec();
            child.push(i);
            let p = prefix(&child);
            let group = path.len() < MAX_GROUP_DEPTH
                && text(&format!("{p}_kind")).as_deref() == Some("group");
            if group {
                items.push(Item::Group(Group::read(text, &child, budget)));
            } else {
                *budget -= 1;
                items.push(Item::Cond(Row {
                    field: text(&format!("{p}_field")).unwrap_or_default(),
                    op: text(&format!("{p}_op")).unwrap_or_default(),
                    value: text(&format!("{p}_value")).unwrap_or_default(),
                }));
            }
        }
        Self { join, items }
    }

    fn rule(&self) -> Value {
        let items: Vec<Value> = self
            .items
            .iter()
            .map(|i| match i {
                Item::Cond(r) => r.rule(),
                Item::Group(g) => g.rule(),
            })
            .collect();
        match self.join {
            "none" => json!({"not": {"any": items}}),
            join => json!({ join: items }),
        }
    }

    /// A saved group the form can show: conditions, and (above `MAX_GROUP_DEPTH`) groups.
    fn of_rule(rule: &Value, depth: usize) -> Option<Self> {
        let (join, list) = if let Some(l) = rule.get("all").and_then(Value::as_array) {
            ("all", l.clone())
        } else if let Some(l) = rule.get("any").and_then(Value::as_array) {
            ("any", l.clone())
        } else if let Some(inner) = rule.get("not").filter(|_| depth > 0) {
            // "none of": not any of the conditions (or not the one condition).
            if let Some(l) = inner.get("any").and_then(Value::as_array) {
                ("none", l.clone())
            } else if inner.get("field").is_some() {
                ("none", vec![inner.clone()])
            } else {
                return None;
            }
        } else if rule.get("field").is_some() && depth == 0 {
            ("all", vec![rule.clone()])
        } else {
            return None;
        };
        if list.is_empty() || list.len() > MAX_ROWS {
            return None;
        }
        let items = list
            .iter()
            .map(|c| {
                if c.get("field").is_some() {
                    Row::of_rule(c).map(Item::Cond)
                } else if depth < MAX_GROUP_DEPTH {
                    Group::of_rule(c, depth + 1).map(Item::Group)
                } else {
                    None
                }
            })
            .collect::<Option<Vec<_>>>()?;
        Some(Self { join, items })
    }

    fn at_mut(&mut self, path: &[usize]) -> Option<&mut Group> {
        match path.split_first() {
            None => Some(self),
            Some((i, rest)) => match self.items.get_mut(*i)? {
                Item::Group(g) => g.at_mut(rest),
                Item::Cond(_) => None,
            },
        }
    }
}

impl Row {
    fn rule(&self) -> Value {
        let ty = field(self.field.trim()).map(|f| f.ty);
        let value = if self.op == "in" || self.op == "not_in" {
            Value::Array(
                self.value
                    .split(',')
                    .map(str::trim)
                    .filter(|v| !v.is_empty())
                    .map(|v| typed(ty, v))
                    .collect(),
            )
        } else {
            typed(ty, self.value.trim())
        };
        json!({"field": self.field.trim(), "op": self.op.trim(), "value": value})
    }

    fn of_rule(c: &Value) -> Option<Self> {
        let text = |v: &Value| match v {
            Value::String(s) => s.clone(),
            Value::Bool(true) => "yes".to_owned(),
            Value::Bool(false) => "no".to_owned(),
            other => other.to_string(),
        };
        Some(Row {
            field: c.get("field")?.as_str()?.to_owned(),
            op: c.get("op")?.as_str()?.to_owned(),
            value: match c.get("value")? {
                Value::Array(vs) => vs.iter().map(text).collect::<Vec<_>>().join(", "),
                v => text(v),
            },
        })
    }
}

impl Draft {
    /// A new draft with one empty row.
    pub fn new() -> Self {
        Self {
            root: Group {
                join: "all",
                items: vec![Item::Cond(Row::default())],
            },
        }
    }

    /// Reads the draft from form pairs (`join`, `rows`, `c{path}_…`); at most [`MAX_ROWS`]
    /// conditions are read.
    pub fn from_form(text: impl Fn(&str) -> Option<String>) -> Self {
        let mut budget = MAX_ROWS;
        Self {
            root: Group::read(&text, &[], &mut budget),
        }
    }

    /// The rule document: values typed by the field's type where they parse, left as text
    /// where they do not (so the rule language names the wrong type).
    pub fn rule(&self) -> Value {
        self.root.rule()
    }

    /// How many conditions the draft holds, groups' included.
    pub fn conditions(&self) -> usize {
        self.root.conditions()
    }

    /// The draft of a saved rule, if the form can show it: one condition, or an `all`/`any`
    /// of conditions and of groups of conditions (`all`, `any`, or `not` of `any`). Deeper
    /// nesting is for the API.
    pub fn of_rule(rule: &Value) -> Option<Self> {
        Group::of_rule(rule, 0).map(|root| Self { root })
    }

    /// The condition at `path`, if there is one.
    pub fn row(&self, path: &[usize]) -> Option<&Row> {
        let mut g = &self.root;
        let (last, groups) = path.split_last()?;
        for i in groups {
            match g.items.get(*i)? {
                Item::Group(inner) => g = inner,
                Item::Cond(_) => return None,
            }
        }
        match g.items.get(*last)? {
            Item::Cond(r) => Some(r),
            Item::Group(_) => None,
        }
    }

    /// Adds an empty condition to the group at `path` (the top level when empty), or a group
    /// holding one empty condition when `group`; nothing past [`MAX_ROWS`] conditions or
    /// [`MAX_GROUP_DEPTH`]. Returns whether something was added.
    pub fn add(&mut self, path: &[usize], group: bool) -> bool {
        if self.conditions() >= MAX_ROWS || (group && path.len() >= MAX_GROUP_DEPTH) {
            return false;
        }
        let Some(g) = self.root.at_mut(path) else {
            return false;
        };
        g.items.push(if group {
            Item::Group(Group {
                join: "any",
                items: vec![Item::Cond(Row::default())],
            })
        } else {
            Item::Cond(Row::default())
        });
        true
    }

    /// Removes the item at `path`; a group's last item goes with its group, and the rule keeps
    /// at least one item. Returns whether something was removed.
    pub fn remove(&mut self, path: &[usize]) -> bool {
        let Some((last, parent)) = path.split_last() else {
            return false;
        };
        let alone = |g: &Group| g.items.len() <= 1;
        if !parent.is_empty() && self.root.at_mut(parent).is_some_and(|g| alone(g)) {
            return self.remove(parent);
        }
        let Some(g) = self.root.at_mut(parent) else {
            return false;
        };
        if *last >= g.items.len() || (parent.is_empty() && alone(g)) {
            return false;
        }
        g.items.remove(*last);
        true
    }
}

impl Default for Draft {
    fn default() -> Self {
        Self::new()
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

/// The form field a rule problem belongs to: `/all/2/value/1` → `c2_value`,
/// `/all/2/any/1/op` → `c2-1_op`, `/all/2/not/any/0/field` → `c2-0_field`; a problem of a group
/// itself → its `…_join`; a problem of the whole rule (too many conditions) → `rule`.
pub fn form_field(e: &RuleError) -> String {
    let parts: Vec<&str> = e.pointer.split('/').skip(1).collect();
    let mut path = Vec::new();
    // After the top level's join key: an index, then a condition's part or a group's key.
    let mut rest = parts.get(1..).unwrap_or(&[]);
    while let Some((i, tail)) = rest.split_first() {
        let Ok(i) = i.parse::<usize>() else {
            break;
        };
        path.push(i);
        match tail {
            [] => return format!("{}_field", prefix(&path)),
            [part, ..] if matches!(*part, "field" | "op" | "value") => {
                return format!("{}_{part}", prefix(&path));
            }
            ["not", "any", more @ ..] | ["all" | "any", more @ ..] if !more.is_empty() => {
                rest = more;
            }
            ["not" | "all" | "any", ..] => return format!("{}_join", prefix(&path)),
            _ => return format!("{}_field", prefix(&path)),
        }
    }
    "rule".to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::segment::parse;

    fn rows(rows: &[(&str, &str, &str)]) -> Vec<Item> {
        rows.iter()
            .map(|(f, o, v)| {
                Item::Cond(Row {
                    field: (*f).into(),
                    op: (*o).into(),
                    value: (*v).into(),
                })
            })
            .collect()
    }

    fn draft(join: &'static str, items: &[(&str, &str, &str)]) -> Draft {
        Draft {
            root: Group {
                join,
                items: rows(items),
            },
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
    fn groups_nest_in_the_rule_and_none_is_not_any() {
        let mut d = draft("all", &[("loyalty.tier", "=", "gold")]);
        d.root.items.push(Item::Group(Group {
            join: "any",
            items: rows(&[
                ("travel.route", "=", "FRA-JFK"),
                ("sentiment.negative_90d", ">", "0"),
            ]),
        }));
        d.root.items.push(Item::Group(Group {
            join: "none",
            items: rows(&[("cases.open", ">", "0")]),
        }));
        let rule = d.rule();
        assert_eq!(
            rule,
            json!({"all": [
                {"field": "loyalty.tier", "op": "=", "value": "gold"},
                {"any": [{"field": "travel.route", "op": "=", "value": "FRA-JFK"},
                         {"field": "sentiment.negative_90d", "op": ">", "value": 0}]},
                {"not": {"any": [{"field": "cases.open", "op": ">", "value": 0}]}}
            ]})
        );
        assert!(parse(&rule).is_ok());
        // The saved rule opens in the form as it was built.
        assert_eq!(Draft::of_rule(&rule).unwrap(), d);
        assert_eq!(d.conditions(), 4);
        assert_eq!(d.row(&[1, 1]).unwrap().field, "sentiment.negative_90d");
        assert!(d.row(&[1]).is_none(), "a group is no row");
    }

    #[test]
    fn problems_land_on_their_row() {
        let mut d = draft(
            "all",
            &[
                ("loyalty.tier", "=", "gold"),
                ("loyalty.teir", "=", "gold"),
                ("travel.flights_12m", ">=", "many"),
            ],
        );
        d.root.items.push(Item::Group(Group {
            join: "none",
            items: rows(&[("cases.open", ">", "0"), ("travel.route", "=", "FRA JFK")]),
        }));
        let errors = parse(&d.rule()).unwrap_err();
        let fields: Vec<String> = errors.iter().map(form_field).collect();
        assert!(fields.contains(&"c1_field".to_owned()), "{errors:?}");
        assert!(fields.contains(&"c2_value".to_owned()), "{errors:?}");
        assert!(fields.contains(&"c3-1_value".to_owned()), "{errors:?}");
        let at = |pointer: &str| {
            form_field(&RuleError {
                pointer: pointer.into(),
                detail: String::new(),
            })
        };
        assert_eq!(at(""), "rule");
        assert_eq!(at("/all/2/any/1/op"), "c2-1_op");
        assert_eq!(at("/any/0/all"), "c0_join");
        assert_eq!(at("/all/4"), "c4_field");
    }

    #[test]
    fn a_saved_rule_comes_back_as_rows_and_round_trips() {
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
        assert_eq!(Draft::of_rule(&single).unwrap().root.items.len(), 1);
        let not_one =
            json!({"all": [{"not": {"field": "loyalty.tier", "op": "=", "value": "gold"}}]});
        let back = Draft::of_rule(&not_one).unwrap();
        assert!(matches!(&back.root.items[0], Item::Group(g) if g.join == "none"));
        // Deeper than the form nests: the API's.
        let deep =
            json!({"all": [{"any": [{"all": [{"field": "cases.open", "op": ">", "value": 0}]}]}]});
        assert!(Draft::of_rule(&deep).is_none());
        assert!(
            Draft::of_rule(&json!({"not": {"field": "cases.open", "op": ">", "value": 0}}))
                .is_none()
        );
    }

    #[test]
    fn the_form_is_read_back_with_its_groups() {
        let pairs = [
            ("join", "any"),
            ("rows", "3"),
            ("c0_field", "loyalty.tier"),
            ("c0_op", "="),
            ("c0_value", "gold"),
            ("c1_field", "cases.open"),
            ("c2_kind", "group"),
            ("c2_join", "none"),
            ("c2_rows", "2"),
            ("c2-0_field", "travel.route"),
            ("c2-1_kind", "group"),
            ("c2-1_field", "cases.open"),
        ];
        let d = Draft::from_form(|k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| (*v).to_owned())
        });
        assert_eq!(d.root.join, "any");
        assert_eq!(d.root.items.len(), 3);
        assert_eq!(d.row(&[0]).unwrap().value, "gold");
        assert_eq!(d.row(&[1]).unwrap().op, "");
        let Item::Group(g) = &d.root.items[2] else {
            panic!("a group")
        };
        assert_eq!(g.join, "none");
        // Groups nest one level in the form: a group's "group" is read as a condition.
        assert_eq!(d.row(&[2, 1]).unwrap().field, "cases.open");
        // The top level is never "none".
        let d = Draft::from_form(|k| (k == "join").then(|| "none".to_owned()));
        assert_eq!(d.root.join, "all");
    }

    #[test]
    fn adding_and_removing_keep_the_shape() {
        let mut d = Draft::new();
        assert!(d.add(&[], true));
        assert!(!d.add(&[1], true), "no group in a group");
        assert!(d.add(&[1], false));
        assert_eq!(d.conditions(), 3);
        assert!(d.remove(&[1, 0]));
        assert!(
            d.remove(&[1, 0]),
            "the last condition takes its group along"
        );
        assert_eq!(d.root.items.len(), 1);
        assert!(!d.remove(&[0]), "the rule keeps one item");
        assert!(!d.remove(&[7]) && !d.add(&[0], false), "no such group");
        assert_eq!(parse_path("2-1"), Some(vec![2, 1]));
        assert_eq!(parse_path(TOP), Some(vec![]));
        assert_eq!(parse_path("x"), None);
        assert_eq!(
            (prefix(&[2, 1]), label(&[2, 1])),
            ("c2-1".into(), "3.2".into())
        );
        let mut full = Draft::new();
        while full.add(&[], false) {}
        assert_eq!(full.conditions(), MAX_ROWS);
    }
}
