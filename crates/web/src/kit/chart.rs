//! Charts drawn on the server as SVG (no script, nothing from a CDN), each followed by the table
//! of its numbers: the picture is for a glance, the table is for screen readers, exact values
//! and copying. Colours come from the stylesheet (classes `series-0`…`series-3`) and every
//! series is also named in a legend.

use maud::{Markup, html};

/// Horizontal bars: one labelled value per row (customers by tier, top routes).
#[derive(Debug, Clone)]
pub struct BarChart {
    /// The chart's title (also the table's caption).
    pub title: String,
    /// What a value counts (`customers`).
    pub unit: String,
    /// (label, value) rows, drawn in this order.
    pub bars: Vec<(String, u64)>,
}

impl BarChart {
    /// The chart and its data table.
    pub fn render(&self) -> Markup {
        let max = self.bars.iter().map(|(_, v)| *v).max().unwrap_or(0).max(1);
        let row_h = 28u64;
        let height = row_h * self.bars.len().max(1) as u64;
        let summary = format!(
            "{}: {} rows; largest {} {}",
            self.title,
            self.bars.len(),
            self.bars.iter().map(|(_, v)| *v).max().unwrap_or(0),
            self.unit
        );
        html! {
            figure.chart {
                figcaption { (self.title) }
                svg.bars viewBox={ "0 0 440 " (height) } role="img" aria-label=(summary) preserveAspectRatio="xMinYMin meet" {
                    @for (i, (label, value)) in self.bars.iter().enumerate() {
                        @let y = i as u64 * row_h;
                        @let w = (value * 220 / max).max(u64::from(*value > 0));
                        text x="0" y=(y + 18) class="chart-label" { (truncate(label, 22)) }
                        rect x="150" y=(y + 5) width=(w) height="18" class="series-0" {}
                        text x=(155 + w) y=(y + 18) class="chart-value" { (value) }
                    }
                }
                (data_table(&self.title, &["", &self.unit], self.bars.iter().map(|(l, v)| vec![l.clone(), v.to_string()])))
            }
        }
    }
}

/// One named series of a [`TimeChart`]: a value per bucket.
#[derive(Debug, Clone)]
pub struct Series {
    /// The name in the legend.
    pub name: String,
    /// One value per bucket of the chart.
    pub values: Vec<u64>,
}

/// Values over time (sign-in failures per hour): buckets along the bottom, one line per series.
#[derive(Debug, Clone)]
pub struct TimeChart {
    /// The chart's title (also the table's caption).
    pub title: String,
    /// The label of each bucket (`06:00`, `Mon 7`), in time order.
    pub buckets: Vec<String>,
    /// Up to four series.
    pub series: Vec<Series>,
}

impl TimeChart {
    /// The chart and its data table.
    pub fn render(&self) -> Markup {
        let n = self.buckets.len().max(1);
        let max = self
            .series
            .iter()
            .flat_map(|s| s.values.iter().copied())
            .max()
            .unwrap_or(0)
            .max(1);
        let (left, width, top, height) = (40.0, 540.0, 10.0, 160.0);
        let step = if n > 1 { width / (n - 1) as f64 } else { 0.0 };
        let point = |i: usize, v: u64| {
            let x = left + step * i as f64;
            let y = top + height - (v as f64 / max as f64) * height;
            format!("{x:.1},{y:.1}")
        };
        let label_every = n.div_ceil(8).max(1);
        let summary = format!(
            "{}: {} series over {} periods, highest value {}",
            self.title,
            self.series.len(),
            n,
            max
        );
        let mut header: Vec<&str> = vec!["Period"];
        header.extend(self.series.iter().map(|s| s.name.as_str()));
        let rows = self.buckets.iter().enumerate().map(|(i, b)| {
            let mut row = vec![b.clone()];
            row.extend(
                self.series
                    .iter()
                    .map(|s| s.values.get(i).copied().unwrap_or(0).to_string()),
            );
            row
        });
        html! {
            figure.chart {
                figcaption { (self.title) }
                @if self.series.len() > 1 {
                    ul.legend {
                        @for (i, s) in self.series.iter().enumerate() {
                            li { span class={ "swatch series-" (i % 4) } aria-hidden="true" {} (s.name) }
                        }
                    }
                }
                svg viewBox="0 0 600 200" role="img" aria-label=(summary) preserveAspectRatio="xMinYMin meet" {
                    line x1=(left) y1=(top + height) x2=(left + width) y2=(top + height) class="axis" {}
                    text x="0" y=(top + 10.0) class="chart-value" { (max) }
                    text x="0" y=(top + height) class="chart-value" { "0" }
                    @for (i, b) in self.buckets.iter().enumerate() {
                        @if i % label_every == 0 {
                            text x=(left + step * i as f64) y=(top + height + 20.0) class="chart-label" text-anchor="middle" { (b) }
                        }
                    }
                    @for (si, s) in self.series.iter().enumerate() {
                        @let points: Vec<String> = s.values.iter().enumerate().map(|(i, v)| point(i, *v)).collect();
                        polyline points=(points.join(" ")) class={ "line series-" (si % 4) } {}
                    }
                }
                (data_table(&self.title, &header, rows))
            }
        }
    }
}

fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        let mut t: String = text.chars().take(max - 1).collect();
        t.push('…');
        t
    }
}

/// The numbers behind a chart, in a collapsed table.
fn data_table(title: &str, header: &[&str], rows: impl Iterator<Item = Vec<String>>) -> Markup {
    html! {
        details.chart-data {
            summary { "Data table" span.visually-hidden { " of " (title) } }
            div.table-scroll {
                table {
                    caption.visually-hidden { (title) }
                    thead { tr { @for h in header { th scope="col" { (h) } } } }
                    tbody {
                        @for row in rows {
                            tr {
                                @for (i, cell) in row.iter().enumerate() {
                                    @if i == 0 { th scope="row" { (cell) } } @else { td.num { (cell) } }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chart_carries_its_numbers_as_a_table() {
        let html = BarChart {
            title: "Customers by tier".into(),
            unit: "customers".into(),
            bars: vec![("Gold".into(), 12), ("Blue".into(), 300)],
        }
        .render()
        .into_string();
        assert!(html.contains("<svg") && html.contains("role=\"img\""));
        assert!(
            html.contains("<th scope=\"row\">Gold</th><td class=\"num\">12</td>"),
            "{html}"
        );
        let t = TimeChart {
            title: "Failures".into(),
            buckets: vec!["06:00".into(), "07:00".into()],
            series: vec![Series {
                name: "Failed sign-ins".into(),
                values: vec![1, 3],
            }],
        }
        .render()
        .into_string();
        assert!(t.contains("polyline") && t.contains("<td class=\"num\">3</td>"));
    }
}
