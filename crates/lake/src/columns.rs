//! Columns of one Parquet file, and writing them.
//!
//! A deliberately small layer over the `parquet` crate's column writers (no Arrow: its build is
//! several times the size of the rest of Aloft): flat tables of text, integers, dates and UTC
//! timestamps, each column required or optional, Snappy-compressed, one row group per file.

use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use parquet::basic::Compression;
use parquet::data_type::{ByteArray, ByteArrayType, Int32Type, Int64Type};
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::parser::parse_message_type;

use crate::LakeError;

/// The values of one column, in row order (`None`: null).
#[derive(Debug, Clone, PartialEq)]
pub enum Values {
    /// UTF-8 text (`BYTE_ARRAY (STRING)`).
    Text(Vec<Option<String>>),
    /// 64-bit integers (`INT64`).
    Int(Vec<Option<i64>>),
    /// Calendar dates (`INT32 (DATE)`, days since 1970-01-01).
    Date(Vec<Option<NaiveDate>>),
    /// UTC instants (`INT64 (TIMESTAMP(MICROS,true))`).
    Timestamp(Vec<Option<DateTime<Utc>>>),
}

impl Values {
    fn len(&self) -> usize {
        match self {
            Self::Text(v) => v.len(),
            Self::Int(v) => v.len(),
            Self::Date(v) => v.len(),
            Self::Timestamp(v) => v.len(),
        }
    }

    fn physical(&self) -> &'static str {
        match self {
            Self::Text(_) => "BYTE_ARRAY",
            Self::Int(_) | Self::Timestamp(_) => "INT64",
            Self::Date(_) => "INT32",
        }
    }

    fn logical(&self) -> &'static str {
        match self {
            Self::Text(_) => " (STRING)",
            Self::Int(_) => "",
            Self::Date(_) => " (DATE)",
            Self::Timestamp(_) => " (TIMESTAMP(MICROS,true))",
        }
    }

    fn has_nulls(&self) -> bool {
        match self {
            Self::Text(v) => v.iter().any(Option::is_none),
            Self::Int(v) => v.iter().any(Option::is_none),
            Self::Date(v) => v.iter().any(Option::is_none),
            Self::Timestamp(v) => v.iter().any(Option::is_none),
        }
    }
}

/// A named column.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    /// Its name in the file.
    pub name: &'static str,
    /// Whether it may hold nulls (declared `OPTIONAL`); a required column must have none.
    pub nullable: bool,
    /// Its values.
    pub values: Values,
}

/// The Parquet schema of `columns` (message `table`).
pub fn schema(table: &str, columns: &[Column]) -> String {
    let fields: String = columns
        .iter()
        .map(|c| {
            format!(
                "  {} {} {}{};\n",
                if c.nullable { "OPTIONAL" } else { "REQUIRED" },
                c.values.physical(),
                c.name,
                c.values.logical()
            )
        })
        .collect();
    format!("message {table} {{\n{fields}}}")
}

fn days_since_epoch(d: NaiveDate) -> i32 {
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).expect("a valid date");
    i32::try_from((d - epoch).num_days()).unwrap_or(i32::MAX)
}

/// Splits optional values into the present ones and definition levels (1 present, 0 null).
fn levels<T, U>(values: &[Option<T>], map: impl Fn(&T) -> U) -> (Vec<U>, Vec<i16>) {
    let mut present = Vec::with_capacity(values.len());
    let mut defs = Vec::with_capacity(values.len());
    for v in values {
        match v {
            Some(v) => {
                present.push(map(v));
                defs.push(1);
            }
            None => defs.push(0),
        }
    }
    (present, defs)
}

/// Writes `columns` (all of one length) to a new Parquet file at `path` as table `table`.
///
/// # Errors
/// A column of another length, nulls in a column not declared nullable, or the file system.
pub fn write(path: &Path, table: &str, columns: &[Column]) -> Result<u64, LakeError> {
    let rows = columns.first().map_or(0, |c| c.values.len());
    for c in columns {
        if c.values.len() != rows {
            return Err(LakeError::Shape(format!(
                "{table}.{}: {} values for {rows} rows",
                c.name,
                c.values.len()
            )));
        }
        if !c.nullable && c.values.has_nulls() {
            return Err(LakeError::Shape(format!(
                "{table}.{}: a null in a required column",
                c.name
            )));
        }
    }
    let schema = Arc::new(parse_message_type(&schema(table, columns))?);
    let props = Arc::new(
        WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .set_created_by(format!("aloft {}", env!("CARGO_PKG_VERSION")))
            .build(),
    );
    let file = File::create(path)?;
    let mut writer = SerializedFileWriter::new(file, schema, props)?;
    let mut group = writer.next_row_group()?;
    for c in columns {
        let Some(mut column) = group.next_column()? else {
            return Err(LakeError::Shape(format!(
                "{table}: more columns than the schema"
            )));
        };
        let defs_of = |defs: Vec<i16>| if c.nullable { Some(defs) } else { None };
        match &c.values {
            Values::Text(v) => {
                let (present, defs) = levels(v, |s| ByteArray::from(s.as_str()));
                column.typed::<ByteArrayType>().write_batch(
                    &present,
                    defs_of(defs).as_deref(),
                    None,
                )?;
            }
            Values::Int(v) => {
                let (present, defs) = levels(v, |n| *n);
                column.typed::<Int64Type>().write_batch(
                    &present,
                    defs_of(defs).as_deref(),
                    None,
                )?;
            }
            Values::Date(v) => {
                let (present, defs) = levels(v, |d| days_since_epoch(*d));
                column.typed::<Int32Type>().write_batch(
                    &present,
                    defs_of(defs).as_deref(),
                    None,
                )?;
            }
            Values::Timestamp(v) => {
                let (present, defs) = levels(v, DateTime::timestamp_micros);
                column.typed::<Int64Type>().write_batch(
                    &present,
                    defs_of(defs).as_deref(),
                    None,
                )?;
            }
        }
        column.close()?;
    }
    group.close()?;
    writer.close()?;
    Ok(rows as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schema_declares_each_column_with_its_logical_type() {
        let cols = [
            Column {
                name: "customer",
                nullable: false,
                values: Values::Text(vec![Some("a".into())]),
            },
            Column {
                name: "day",
                nullable: true,
                values: Values::Date(vec![None]),
            },
            Column {
                name: "at",
                nullable: false,
                values: Values::Timestamp(vec![Some(Utc::now())]),
            },
        ];
        let s = schema("t", &cols);
        assert!(s.contains("REQUIRED BYTE_ARRAY customer (STRING);"), "{s}");
        assert!(s.contains("OPTIONAL INT32 day (DATE);"), "{s}");
        assert!(
            s.contains("REQUIRED INT64 at (TIMESTAMP(MICROS,true));"),
            "{s}"
        );
        parse_message_type(&s).expect("a valid message type");
    }

    #[test]
    fn a_file_is_written_and_bad_shapes_are_refused() {
        let dir = std::env::temp_dir().join(format!("aloft-lake-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(&dir).unwrap();
        let cols = vec![
            Column {
                name: "customer",
                nullable: false,
                values: Values::Text(vec![Some("a".into()), Some("b".into())]),
            },
            Column {
                name: "delay_minutes",
                nullable: true,
                values: Values::Int(vec![Some(185), None]),
            },
        ];
        let path = dir.join("t.parquet");
        assert_eq!(write(&path, "t", &cols).unwrap(), 2);
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(&bytes[..4], b"PAR1");
        assert_eq!(&bytes[bytes.len() - 4..], b"PAR1");

        let mut short = cols.clone();
        short[1].values = Values::Int(vec![Some(1)]);
        assert!(matches!(
            write(&dir.join("u.parquet"), "t", &short),
            Err(LakeError::Shape(_))
        ));
        let mut nulls = cols;
        nulls[0].values = Values::Text(vec![None, Some("b".into())]);
        assert!(matches!(
            write(&dir.join("v.parquet"), "t", &nulls),
            Err(LakeError::Shape(_))
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
