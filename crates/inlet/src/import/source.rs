//! Where rows come from: a file (plain or gzip) or stdin, read as CSV,
//! NDJSON or one JSON array, one row at a time so a file of any size
//! streams through in constant memory.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{Context, bail};
use flate2::read::MultiGzDecoder;
use serde::de::{DeserializeSeed, Deserializer, SeqAccess, Visitor};
use serde_json::Value;

/// How a file's rows are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Format {
    /// A header row of field names, then one row per record.
    Csv,
    /// One JSON object per line.
    Ndjson,
    /// One JSON array of objects.
    Json,
}

impl Format {
    /// The format a file name says (`.csv`, `.ndjson`/`.jsonl`, `.json`,
    /// each optionally `.gz`).
    pub(crate) fn of(path: &str) -> Option<Self> {
        let name = path
            .strip_suffix(".gz")
            .unwrap_or(path)
            .to_ascii_lowercase();
        let extension = name.rsplit_once('.').map(|(_, extension)| extension)?;
        match extension {
            "csv" => Some(Self::Csv),
            "ndjson" | "jsonl" => Some(Self::Ndjson),
            "json" => Some(Self::Json),
            _ => None,
        }
    }
}

/// One row as read.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Row {
    /// The physical line it starts on (CSV: the header is line 1), or for a
    /// JSON array the element's 1-based position.
    pub(crate) line: u64,
    /// Its content.
    pub(crate) value: RowValue,
}

/// The content of a row.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum RowValue {
    /// A JSON value (a JSON array's element).
    Json(Value),
    /// A line of JSON text, as read (NDJSON): sent as it is when it needs
    /// nothing added, so it is parsed once, by the validation.
    Text(String),
    /// A CSV record: each header with its cell.
    Csv(Vec<(String, String)>),
    /// A row that could not be read, with why.
    Broken { text: String, problem: String },
}

impl RowValue {
    /// The row as the rejects file shows it.
    pub(crate) fn to_json(&self) -> Value {
        match self {
            Self::Json(value) => value.clone(),
            Self::Text(text) => {
                serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.clone()))
            }
            Self::Csv(cells) => Value::Object(
                cells
                    .iter()
                    .map(|(name, cell)| (name.clone(), Value::String(cell.clone())))
                    .collect(),
            ),
            Self::Broken { text, .. } => Value::String(text.clone()),
        }
    }
}

/// A reader that counts the bytes read through it, for progress.
struct Counted<R> {
    inner: R,
    read: Arc<AtomicU64>,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Opens `path` (`-` for stdin), decompressing `.gz`; `read` counts the
/// bytes taken from the file (compressed bytes for `.gz`).
pub(crate) fn open(path: &str, read: Arc<AtomicU64>) -> anyhow::Result<Box<dyn BufRead + Send>> {
    let raw: Box<dyn Read + Send> = if path == "-" {
        Box::new(io::stdin())
    } else {
        Box::new(File::open(path).with_context(|| format!("cannot open {path}"))?)
    };
    let counted = Counted { inner: raw, read };
    if path.ends_with(".gz") {
        Ok(Box::new(BufReader::new(MultiGzDecoder::new(counted))))
    } else {
        Ok(Box::new(BufReader::new(counted)))
    }
}

/// Calls `each` with every row of `reader`, in order. `each` returns
/// `false` to stop early. An unreadable file (not UTF-8, not an array where
/// one belongs, an I/O error) is an error; a bad row is a `Broken` row.
pub(crate) fn read_rows(
    reader: Box<dyn BufRead + Send>,
    format: Format,
    each: &mut dyn FnMut(Row) -> anyhow::Result<bool>,
) -> anyhow::Result<()> {
    match format {
        Format::Csv => read_csv(reader, each),
        Format::Ndjson => read_ndjson(reader, each),
        Format::Json => read_array(reader, each),
    }
}

fn read_csv(
    reader: Box<dyn BufRead + Send>,
    each: &mut dyn FnMut(Row) -> anyhow::Result<bool>,
) -> anyhow::Result<()> {
    let mut csv = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(reader);
    let headers: Vec<String> = csv
        .headers()
        .context("cannot read the CSV header row")?
        .iter()
        .map(|name| name.trim().to_owned())
        .collect();
    if headers.iter().all(String::is_empty) {
        bail!("the CSV file has no header row of field names");
    }
    let mut record = csv::StringRecord::new();
    loop {
        let line = csv.position().line();
        let value = match csv.read_record(&mut record) {
            Ok(false) => return Ok(()),
            Ok(true) if record.len() != headers.len() => RowValue::Broken {
                text: record.iter().collect::<Vec<_>>().join(","),
                problem: format!(
                    "the row has {} cells; the header has {}",
                    record.len(),
                    headers.len()
                ),
            },
            Ok(true) => RowValue::Csv(
                headers
                    .iter()
                    .cloned()
                    .zip(record.iter().map(str::to_owned))
                    .collect(),
            ),
            Err(err) if matches!(err.kind(), csv::ErrorKind::Io(_)) => {
                return Err(err).context("cannot read the CSV file");
            }
            Err(err) => RowValue::Broken {
                text: String::new(),
                problem: format!("the row is not valid CSV: {err}"),
            },
        };
        if !each(Row { line, value })? {
            return Ok(());
        }
    }
}

fn read_ndjson(
    mut reader: Box<dyn BufRead + Send>,
    each: &mut dyn FnMut(Row) -> anyhow::Result<bool>,
) -> anyhow::Result<()> {
    let mut text = String::new();
    let mut line = 0;
    loop {
        text.clear();
        if reader
            .read_line(&mut text)
            .with_context(|| format!("cannot read line {}", line + 1))?
            == 0
        {
            return Ok(());
        }
        line += 1;
        let trimmed = text.trim();
        if trimmed.is_empty() {
            continue;
        }
        let value = RowValue::Text(trimmed.to_owned());
        if !each(Row { line, value })? {
            return Ok(());
        }
    }
}

/// A JSON array, its elements visited one by one without holding the
/// whole array.
fn read_array(
    reader: Box<dyn BufRead + Send>,
    each: &mut dyn FnMut(Row) -> anyhow::Result<bool>,
) -> anyhow::Result<()> {
    struct Elements<'a> {
        each: &'a mut dyn FnMut(Row) -> anyhow::Result<bool>,
        failure: Option<anyhow::Error>,
    }
    impl<'de> Visitor<'de> for &mut Elements<'_> {
        type Value = ();
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a JSON array of rows")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
            let mut line = 0;
            while let Some(value) = seq.next_element::<Value>()? {
                line += 1;
                match (self.each)(Row {
                    line,
                    value: RowValue::Json(value),
                }) {
                    Ok(true) => {}
                    Ok(false) => break,
                    Err(err) => {
                        self.failure = Some(err);
                        break;
                    }
                }
            }
            // Stopped early: the rest of the array is skipped unread.
            while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
            Ok(())
        }
    }
    impl<'de> DeserializeSeed<'de> for &mut Elements<'_> {
        type Value = ();
        fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
            deserializer.deserialize_seq(self)
        }
    }
    let mut elements = Elements {
        each,
        failure: None,
    };
    let mut deserializer = serde_json::Deserializer::from_reader(reader);
    (&mut elements)
        .deserialize(&mut deserializer)
        .context("the file is not one JSON array of rows")?;
    match elements.failure {
        Some(err) => Err(err),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use serde_json::json;

    use super::*;

    fn rows(text: &str, format: Format) -> Vec<Row> {
        let mut found = Vec::new();
        read_rows(
            Box::new(Cursor::new(text.as_bytes().to_vec())),
            format,
            &mut |row| {
                found.push(row);
                Ok(true)
            },
        )
        .expect("readable");
        found
    }

    #[test]
    fn formats_come_from_the_file_name() {
        assert_eq!(Format::of("a.csv"), Some(Format::Csv));
        assert_eq!(Format::of("dir.v2/a.NDJSON.gz"), Some(Format::Ndjson));
        assert_eq!(Format::of("a.jsonl"), Some(Format::Ndjson));
        assert_eq!(Format::of("a.json"), Some(Format::Json));
        assert_eq!(Format::of("-"), None);
        assert_eq!(Format::of("a.txt"), None);
    }

    #[test]
    fn csv_rows_carry_their_physical_line_and_cells() {
        let found = rows("a,b\n1,2\n\"x\ny\",3\n4\n", Format::Csv);
        assert_eq!(found[0].line, 2);
        assert_eq!(
            found[0].value,
            RowValue::Csv(vec![("a".into(), "1".into()), ("b".into(), "2".into())])
        );
        assert_eq!(found[1].line, 3, "a quoted newline stays in its row");
        assert_eq!(found[2].line, 5);
        assert!(matches!(found[2].value, RowValue::Broken { .. }));
    }

    #[test]
    fn ndjson_skips_blank_lines_and_keeps_each_line_as_sent() {
        let found = rows("{\"a\":1}\n\n{bad\n {\"a\":2} \n", Format::Ndjson);
        let lines: Vec<u64> = found.iter().map(|row| row.line).collect();
        assert_eq!(lines, [1, 3, 4]);
        assert_eq!(found[1].value, RowValue::Text("{bad".into()));
        assert_eq!(found[2].value, RowValue::Text("{\"a\":2}".into()));
        assert_eq!(found[2].value.to_json(), json!({"a": 2}));
    }

    #[test]
    fn a_json_array_streams_its_elements_by_position() {
        let found = rows("[{\"a\":1}, 7, {\"b\":2}]", Format::Json);
        let lines: Vec<u64> = found.iter().map(|row| row.line).collect();
        assert_eq!(lines, [1, 2, 3]);
        assert_eq!(found[1].value, RowValue::Json(json!(7)));
        let mut seen = 0;
        let err = read_rows(
            Box::new(Cursor::new(b"{\"a\": 1}".to_vec())),
            Format::Json,
            &mut |_| {
                seen += 1;
                Ok(true)
            },
        );
        assert!(err.is_err(), "an object is not an array of rows");
    }
}
