//! Reading a report CSV back (timeseries.csv, pool.csv): the header must be one of the
//! layouts the file has ever had, exactly, and a bad value names the file and the line.

use std::path::Path;

use einv_core::input::{self, Bounded};

use crate::Error;

/// One record of a report CSV, read by column.
pub(crate) struct Record<'a> {
    path: &'a Path,
    /// 0-based index of the record; the file line is two more (1-based, after the header).
    index: usize,
    fields: csv::StringRecord,
}

impl<'a> Record<'a> {
    /// A record of the file at `path` made of `fields`: a row as it would read back.
    pub(crate) fn written(path: &'a Path, fields: Vec<String>) -> Self {
        Record { path, index: 0, fields: csv::StringRecord::from(fields) }
    }

    fn parse<T: std::str::FromStr>(&self, i: usize) -> Result<T, Error> {
        self.fields.get(i).and_then(|v| v.parse::<T>().ok()).ok_or_else(|| Error::Format {
            path: self.path.into(),
            message: format!("line {}: not a number", self.index + 2),
        })
    }

    /// How many columns the record has.
    pub(crate) fn len(&self) -> usize {
        self.fields.len()
    }

    /// Column `i` as a float.
    pub(crate) fn num(&self, i: usize) -> Result<f64, Error> {
        self.parse(i)
    }

    /// Column `i` as a count.
    pub(crate) fn int(&self, i: usize) -> Result<u64, Error> {
        self.parse(i)
    }
}

/// Every row of the CSV at `path` (called `name` in the header error), made by `row`
/// from the record and the index in `layouts` of the header the file has (today's first,
/// then those of older reports, which `report` still re-renders).
pub(crate) fn read_rows<T, S: AsRef<str>>(
    path: &Path,
    name: &str,
    layouts: &[&[S]],
    row: impl Fn(&Record, usize) -> Result<T, Error>,
) -> Result<Vec<T>, Error> {
    let file = input::open(path).map_err(|e| Error::input(path, &e))?;
    // Bounded: a line longer than 1 MiB is an error, however long the file's first line.
    let mut rdr = csv::Reader::from_reader(Bounded::new(file));
    let got = rdr.headers().map_err(|e| Error::csv(path, e))?;
    let Some(layout) = layouts.iter().position(|h| got.iter().eq(h.iter().map(AsRef::as_ref))) else {
        return Err(Error::Format { path: path.into(), message: format!("unexpected {name} header") });
    };
    let mut rows = Vec::new();
    for index in 0.. {
        let mut fields = csv::StringRecord::new();
        rdr.get_mut().renew();
        if !rdr.read_record(&mut fields).map_err(|e| Error::csv(path, e))? {
            break;
        }
        rows.push(row(&Record { path, index, fields }, layout)?);
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Result<Vec<(f64, u64)>, Error> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.csv");
        std::fs::write(&path, text).unwrap();
        read_rows(&path, "t.csv", &[&["a", "b"], &["a"]], |r, layout| {
            Ok((r.num(0)?, if layout == 0 { r.int(1)? } else { 0 }))
        })
    }

    #[test]
    fn rows_parse_and_errors_name_the_line_and_the_file() {
        assert_eq!(read("a,b\n0.5,3\n1.5,4\n").unwrap(), [(0.5, 3), (1.5, 4)]);
        assert_eq!(read("a\n0.5\n").unwrap(), [(0.5, 0)], "an older layout");
        let bad = read("a,b\n0.5,3\n1.5,-4\n").unwrap_err().to_string();
        assert!(bad.contains("t.csv") && bad.contains("line 3: not a number"), "{bad}");
        let header = read("a,c\n0.5,3\n").unwrap_err().to_string();
        assert!(header.contains("unexpected t.csv header"), "{header}");
    }
}
