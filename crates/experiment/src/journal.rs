//! The journal: finished units appended as one JSON line each (flushed) under
//! data/raw/<experiment>/<fingerprint>/; a restarted run skips them, so an interruption loses at
//! most the units in flight.

use crate::error::ExperimentError;
use crate::rows::FitRow;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// What the journal keeps of a finished unit: its rows and fitted parameters.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct JournalEntry {
    pub key: String,
    pub rows: Vec<FitRow>,
    /// Fitted theta as IEEE-754 bit patterns (exact, NaN-safe).
    pub theta_bits: Vec<u64>,
}

impl JournalEntry {
    /// The unit's result without its wall time, as JSON (bitwise: NaN compares equal to NaN here).
    pub fn comparable(&self) -> String {
        let rows: Vec<FitRow> = self.rows.iter().map(|r| FitRow { wall_s: 0.0, ..r.clone() }).collect();
        serde_json::to_string(&(rows, &self.theta_bits)).expect("serialisable")
    }
}

/// Read every journal file in `dir`: key -> entries. A torn last line (from a kill mid-write) is
/// ignored.
pub fn read_journals(dir: &Path) -> Result<BTreeMap<String, Vec<JournalEntry>>, ExperimentError> {
    let mut out: BTreeMap<String, Vec<JournalEntry>> = BTreeMap::new();
    visit_journals(dir, |e, _| out.entry(e.key.clone()).or_default().push(e))?;
    Ok(out)
}

/// Visit every parseable line of the journal files in `dir` (every *.jsonl, in name order, each
/// in line order) with its entry and its raw text (which carries the floats exactly as written).
/// Unparseable lines (a torn last line from a kill mid-write) are skipped.
pub fn visit_journals(dir: &Path, mut visit: impl FnMut(JournalEntry, &str)) -> Result<(), ExperimentError> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Ok(()) };
    let mut files: Vec<PathBuf> =
        entries.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.extension().is_some_and(|e| e == "jsonl")).collect();
    files.sort();
    for f in files {
        let reader = BufReader::new(File::open(&f).map_err(ExperimentError::io(&f))?);
        for line in reader.lines() {
            let line = line.map_err(ExperimentError::io(&f))?;
            if let Ok(e) = serde_json::from_str::<JournalEntry>(&line) {
                visit(e, &line);
            }
        }
    }
    Ok(())
}

/// Appends entries to a journal file, one flushed line each; safe to share between threads.
pub struct Journal {
    path: PathBuf,
    file: Mutex<File>,
}

impl Journal {
    pub fn open(path: &Path) -> Result<Journal, ExperimentError> {
        let io = ExperimentError::io;
        if let Some(p) = path.parent() {
            std::fs::create_dir_all(p).map_err(io(p))?;
        }
        let mut file = OpenOptions::new().create(true).append(true).read(true).open(path).map_err(io(path))?;
        // a torn last line must not swallow the next entry
        let len = file.metadata().map_err(io(path))?.len();
        if len > 0 {
            let mut last = [0u8; 1];
            file.seek(SeekFrom::Start(len - 1)).and_then(|_| file.read_exact(&mut last)).map_err(io(path))?;
            if last[0] != b'\n' {
                file.write_all(b"\n").map_err(io(path))?;
            }
        }
        Ok(Journal { path: path.to_owned(), file: Mutex::new(file) })
    }

    pub fn append(&self, e: &JournalEntry) -> Result<(), ExperimentError> {
        let mut line = serde_json::to_string(e).expect("serialisable");
        line.push('\n');
        let mut f = self.file.lock().expect("journal lock");
        f.write_all(line.as_bytes()).and_then(|()| f.flush()).map_err(ExperimentError::io(&self.path))
    }
}
