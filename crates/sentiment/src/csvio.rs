//! The CSV contract of `aloft sentiment`: `id,text,label` to train, `id,text` to classify,
//! `id,label,score` out (topics added as a fourth column; fields may be added, not renamed).

use std::io::{Read, Write};

use crate::{Label, Model, SentimentError};

/// One labelled training text.
#[derive(Debug, Clone)]
pub struct LabelledText {
    /// The row's id (also decides whether it is held out).
    pub id: String,
    /// The free text.
    pub text: String,
    /// Its class.
    pub label: Label,
}

fn columns<R: Read>(
    reader: &mut csv::Reader<R>,
    wanted: &[&str],
) -> Result<Vec<usize>, SentimentError> {
    let headers = reader.headers().map_err(|e| SentimentError::Input {
        line: 1,
        message: format!("cannot read the header: {e}"),
    })?;
    wanted
        .iter()
        .map(|w| {
            headers
                .iter()
                .position(|h| h.trim().eq_ignore_ascii_case(w))
                .ok_or_else(|| SentimentError::Input {
                    line: 1,
                    message: format!(
                        "missing column {w:?} (the header must name {})",
                        wanted.join(",")
                    ),
                })
        })
        .collect()
}

fn input_error(e: &csv::Error, fallback: u64) -> SentimentError {
    SentimentError::Input {
        line: e.position().map_or(fallback, |p| p.line()),
        message: e.to_string(),
    }
}

/// Reads `id,text,label` rows (any column order, extra columns ignored). Refuses a missing
/// column (line 1), a short row, an empty id or an unknown label, naming the line.
pub fn read_labelled<R: Read>(input: R) -> Result<Vec<LabelledText>, SentimentError> {
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(input);
    let cols = columns(&mut reader, &["id", "text", "label"])?;
    let mut rows = Vec::new();
    let mut record = csv::StringRecord::new();
    loop {
        let line = reader.position().line();
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => return Err(input_error(&e, line)),
        }
        let line = record.position().map_or(line, |p| p.line());
        let field = |i: usize, name: &str| {
            record.get(cols[i]).ok_or_else(|| SentimentError::Input {
                line,
                message: format!("no {name} column on this row"),
            })
        };
        let id = field(0, "id")?.trim();
        if id.is_empty() {
            return Err(SentimentError::Input {
                line,
                message: "empty id".to_owned(),
            });
        }
        let text = field(1, "text")?;
        let label_text = field(2, "label")?;
        let label = label_text
            .parse::<Label>()
            .map_err(|e| SentimentError::Input {
                line,
                message: format!("column label: {e}"),
            })?;
        rows.push(LabelledText {
            id: id.to_owned(),
            text: text.to_owned(),
            label,
        });
    }
    Ok(rows)
}

/// Reads `id,text` rows (extra columns ignored).
pub fn read_texts<R: Read>(input: R) -> Result<Vec<(String, String)>, SentimentError> {
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(input);
    let cols = columns(&mut reader, &["id", "text"])?;
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| input_error(&e, 0))?;
        let line = record.position().map_or(0, |p| p.line());
        let (Some(id), Some(text)) = (record.get(cols[0]), record.get(cols[1])) else {
            return Err(SentimentError::Input {
                line,
                message: "the row has fewer columns than the header (id,text)".to_owned(),
            });
        };
        rows.push((id.to_owned(), text.to_owned()));
    }
    Ok(rows)
}

/// Classifies every `id,text` row of `input`, writing `id,label,score,topics` (topics joined by
/// `|`). Reads everything first, so a bad input writes nothing. Returns the rows written.
pub fn classify_csv<R: Read, W: Write>(
    model: &Model,
    input: R,
    output: W,
) -> Result<usize, SentimentError> {
    let rows = read_texts(input)?;
    let mut writer = csv::Writer::from_writer(output);
    let werr = |e: csv::Error| SentimentError::Write(e.to_string());
    writer
        .write_record(["id", "label", "score", "topics"])
        .map_err(werr)?;
    for (id, text) in &rows {
        let a = model.analyse(text);
        let topics: Vec<&str> = a.topics.iter().map(|t| t.as_str()).collect();
        writer
            .write_record([
                id.as_str(),
                a.label.as_str(),
                &format!("{:.4}", a.score),
                &topics.join("|"),
            ])
            .map_err(werr)?;
    }
    writer
        .flush()
        .map_err(|e| SentimentError::Write(e.to_string()))?;
    Ok(rows.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_label_names_the_line() {
        let csv = "id,text,label\n1,great crew,positive\n2,\"late, again\",furious\n";
        let err = read_labelled(csv.as_bytes()).unwrap_err().to_string();
        assert!(err.starts_with("line 3:"), "{err}");
        assert!(err.contains("furious"), "{err}");
    }

    #[test]
    fn missing_column_names_it() {
        let err = read_labelled("id,body,label\n1,x,positive\n".as_bytes())
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 1") && err.contains("\"text\""), "{err}");
    }

    #[test]
    fn multiline_text_counts_lines() {
        let csv = "id,text,label\n1,\"two\nlines\",neutral\n2,x,nope\n";
        let err = read_labelled(csv.as_bytes()).unwrap_err().to_string();
        assert!(err.starts_with("line 4:"), "{err}");
    }

    #[test]
    fn classify_writes_the_contract_columns() {
        let mut out = Vec::new();
        let n = classify_csv(
            &Model::builtin(),
            "id,text\na1,My suitcase never arrived\n".as_bytes(),
            &mut out,
        )
        .unwrap();
        assert_eq!(n, 1);
        let out = String::from_utf8(out).unwrap();
        assert!(out.starts_with("id,label,score,topics\na1,"), "{out}");
        assert!(out.contains("baggage"), "{out}");
    }
}
