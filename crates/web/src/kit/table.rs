//! The data table: a caption, sortable column headers (links, so sorting works without script
//! and each order has an address), rows, and keyset paging ("Next" carries the last row's key,
//! never an offset, so paging stays fast and stable while rows are added).

use maud::{Markup, html};
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};

/// Sort direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortDir {
    /// Smallest first.
    Asc,
    /// Largest first.
    Desc,
}

impl SortDir {
    /// From a query value (`asc`/`desc`; anything else is `default`).
    pub fn parse(value: Option<&str>, default: SortDir) -> SortDir {
        match value {
            Some("asc") => SortDir::Asc,
            Some("desc") => SortDir::Desc,
            _ => default,
        }
    }

    /// As a query value.
    pub fn as_str(self) -> &'static str {
        match self {
            SortDir::Asc => "asc",
            SortDir::Desc => "desc",
        }
    }

    fn flip(self) -> SortDir {
        match self {
            SortDir::Asc => SortDir::Desc,
            SortDir::Desc => SortDir::Asc,
        }
    }

    fn aria(self) -> &'static str {
        match self {
            SortDir::Asc => "ascending",
            SortDir::Desc => "descending",
        }
    }
}

/// The order a table is shown in: a column key and a direction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sorting {
    /// The sorted column's key.
    pub key: String,
    /// The direction.
    pub dir: SortDir,
}

/// A column of a [`DataTable`].
#[derive(Debug, Clone)]
pub struct Column {
    /// The header text.
    pub label: String,
    /// The sort key when the column can be sorted.
    pub sort_key: Option<&'static str>,
    /// Right-aligned (numbers, amounts).
    pub numeric: bool,
}

impl Column {
    /// A plain column.
    pub fn new(label: impl Into<String>) -> Self {
        Self {
            label: label.into(),
            sort_key: None,
            numeric: false,
        }
    }

    /// The column can be sorted by `key`.
    pub fn sortable(mut self, key: &'static str) -> Self {
        self.sort_key = Some(key);
        self
    }

    /// Numbers: right-aligned.
    pub fn numeric(mut self) -> Self {
        self.numeric = true;
        self
    }
}

/// A table of rows with optional sorting and keyset paging. `base` is the page's address with
/// its filters as a query string (`/audit?action=auth.failed`); sort and paging links add to it.
#[derive(Debug, Clone)]
pub struct DataTable {
    caption: String,
    columns: Vec<Column>,
    rows: Vec<Vec<Markup>>,
    base: String,
    sorting: Option<Sorting>,
    next: Option<String>,
    id: Option<String>,
}

impl DataTable {
    /// A table with a caption (shown; say what the rows are).
    pub fn new(caption: impl Into<String>, columns: Vec<Column>) -> Self {
        Self {
            caption: caption.into(),
            columns,
            rows: Vec::new(),
            base: String::new(),
            sorting: None,
            next: None,
            id: None,
        }
    }

    /// The rows (one markup per column).
    pub fn rows(mut self, rows: Vec<Vec<Markup>>) -> Self {
        self.rows = rows;
        self
    }

    /// The HTML id of the table (for tests and skip links).
    pub fn id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(id.into());
        self
    }

    /// The page address sort and paging links build on, and the current order.
    pub fn sorted(mut self, base: impl Into<String>, sorting: Option<Sorting>) -> Self {
        self.base = base.into();
        self.sorting = sorting;
        self
    }

    /// The key after which the next page starts, if there are more rows.
    pub fn next_after(mut self, cursor: Option<String>) -> Self {
        self.next = cursor;
        self
    }

    fn link(&self, params: &[(&str, &str)]) -> String {
        let mut href = self.base.clone();
        if href.is_empty() {
            href.push('?');
        }
        for (k, v) in params {
            if !href.ends_with('?') {
                href.push(if href.contains('?') { '&' } else { '?' });
            }
            href.push_str(k);
            href.push('=');
            href.push_str(&utf8_percent_encode(v, NON_ALPHANUMERIC).to_string());
        }
        href
    }

    /// The table's markup.
    pub fn render(&self) -> Markup {
        let next_href = self.next.as_ref().map(|after| {
            let mut params: Vec<(&str, &str)> = Vec::new();
            if let Some(s) = &self.sorting {
                params.push(("sort", s.key.as_str()));
                params.push(("dir", s.dir.as_str()));
            }
            params.push(("after", after.as_str()));
            self.link(&params)
        });
        html! {
            div.table-scroll {
                table.data-table id=[self.id.as_deref()] {
                    caption { (self.caption) }
                    thead {
                        tr {
                            @for c in &self.columns {
                                @let current = self.sorting.as_ref().filter(|s| Some(s.key.as_str()) == c.sort_key);
                                th scope="col" class=[c.numeric.then_some("num")]
                                    aria-sort=[current.map(|s| s.dir.aria())] {
                                    @if let Some(key) = c.sort_key {
                                        @let dir = current.map(|s| s.dir.flip()).unwrap_or(SortDir::Asc);
                                        a href=(self.link(&[("sort", key), ("dir", dir.as_str())])) {
                                            (c.label)
                                            span.sort-mark aria-hidden="true" {
                                                @match current.map(|s| s.dir) {
                                                    Some(SortDir::Asc) => " ▲",
                                                    Some(SortDir::Desc) => " ▼",
                                                    None => " ↕",
                                                }
                                            }
                                        }
                                    } @else {
                                        (c.label)
                                    }
                                }
                            }
                        }
                    }
                    tbody {
                        @for row in &self.rows {
                            tr {
                                @for (i, cell) in row.iter().enumerate() {
                                    @let numeric = self.columns.get(i).is_some_and(|c| c.numeric);
                                    @let label = self.columns.get(i).map(|c| c.label.as_str()).unwrap_or("");
                                    td class=[numeric.then_some("num")] data-label=(label) { (cell) }
                                }
                            }
                        }
                    }
                }
            }
            @if let Some(href) = next_href {
                nav.pager aria-label="Pages" {
                    a rel="next" href=(href) { "Next page →" }
                }
            }
        }
    }
}

impl maud::Render for DataTable {
    fn render(&self) -> Markup {
        DataTable::render(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sort_links_flip_the_current_direction_and_keep_the_filters() {
        let t = DataTable::new(
            "Events",
            vec![Column::new("When").sortable("at"), Column::new("What")],
        )
        .sorted(
            "/audit?action=auth.failed",
            Some(Sorting {
                key: "at".into(),
                dir: SortDir::Desc,
            }),
        )
        .next_after(Some("42".into()));
        let html = t.render().into_string();
        assert!(
            html.contains(r#"href="/audit?action=auth.failed&amp;sort=at&amp;dir=asc""#),
            "{html}"
        );
        assert!(html.contains(r#"aria-sort="descending""#));
        assert!(html.contains("sort=at&amp;dir=desc&amp;after=42"), "{html}");
    }
}
