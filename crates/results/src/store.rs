//! Parquet storage of the tidy rows ([`FitRow`], [`ParamRow`], [`RateRow`]) with polars.
//!
//! One column per struct field, same name and order, natural types (`String` -> String,
//! `u64` -> UInt64, `u32` -> UInt32, `f64` -> Float64; typed values such as gates, terminations
//! and quantities -> String through their [`Label`]), no nulls. Writes are atomic
//! ([`smoe_experiment::fsio::atomic_write`]). Reading requires every field's column with exactly
//! that type and no nulls; extra columns are ignored. The `*_frame` functions give the same table
//! as a [`DataFrame`].

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

use polars::prelude::{Column, DataFrame, PolarsError, PolarsResult};
use polars_io::parquet::{read::ParquetReader, write::ParquetWriter};
use polars_io::SerReader;
use smoe_estimator::Termination;
use smoe_experiment::fsio::{atomic_write, atomic_write_bytes};
use smoe_experiment::rows::{FitRow, Label, ParamKind, ParamName, ParamRow, Quantity, Target};
use smoe_metrics::{LossKind, RateMethod};
use smoe_model::{Expert, Gate, Mixture, Spec};

use crate::error::ReportError;
use crate::rows::{NRange, RateRow};

type StoreError = ReportError;

/// A Rust field type with a Parquet column type.
trait Cell: Sized {
    fn column<'a>(name: &str, values: impl Iterator<Item = &'a Self>) -> Column
    where
        Self: 'a;
    /// The column's values (None = null). Errors if the column has another type.
    fn values(column: &Column) -> PolarsResult<Vec<Option<Self>>>;
}

impl Cell for String {
    fn column<'a>(name: &str, values: impl Iterator<Item = &'a Self>) -> Column {
        Column::new(name.into(), values.map(String::as_str).collect::<Vec<&str>>())
    }
    fn values(column: &Column) -> PolarsResult<Vec<Option<Self>>> {
        Ok(column.str()?.iter().map(|v| v.map(str::to_owned)).collect())
    }
}

macro_rules! numeric_cell {
    ($($t:ty => $getter:ident),*) => {$(
        impl Cell for $t {
            fn column<'a>(name: &str, values: impl Iterator<Item = &'a Self>) -> Column {
                Column::new(name.into(), values.copied().collect::<Vec<$t>>())
            }
            fn values(column: &Column) -> PolarsResult<Vec<Option<Self>>> {
                Ok(column.$getter()?.iter().collect())
            }
        }
    )*};
}
numeric_cell!(u64 => u64, u32 => u32, f64 => f64);

/// Typed values are stored as their [`Label`]: the one place they meet their text form.
macro_rules! label_cell {
    ($($t:ty),*) => {$(
        impl Cell for $t {
            fn column<'a>(name: &str, values: impl Iterator<Item = &'a Self>) -> Column {
                Column::new(name.into(), values.map(Label::label).collect::<Vec<String>>())
            }
            fn values(column: &Column) -> PolarsResult<Vec<Option<Self>>> {
                column
                    .str()?
                    .iter()
                    .map(|v| match v {
                        None => Ok(None),
                        Some(s) => <$t as Label>::from_label(s).map(Some).ok_or_else(|| {
                            PolarsError::ComputeError(format!("{s:?} is not a {}", stringify!($t)).into())
                        }),
                    })
                    .collect()
            }
        }
    )*};
}
label_cell!(Gate, Expert, Termination, Target, LossKind, Quantity, RateMethod, NRange, ParamKind, ParamName);

/// The values of column `name` of a frame read from `path`, which must exist, have the Rust
/// type's column type, and contain no nulls.
fn column_values<T: Cell>(df: &DataFrame, name: &'static str, path: &Path) -> Result<Vec<T>, StoreError> {
    let problem = |problem: String| StoreError::Column { path: path.to_owned(), column: name, problem };
    let column = df.column(name).map_err(|_| problem("missing".into()))?;
    let values = T::values(column).map_err(|e| problem(e.to_string()))?;
    let n = values.len();
    values.into_iter().collect::<Option<Vec<T>>>().ok_or_else(|| problem(format!("{} null value(s) out of {n}", column.null_count())))
}

fn write_frame(path: &Path, mut df: DataFrame) -> Result<(), StoreError> {
    atomic_write(path, |file| {
        let mut out = BufWriter::new(file);
        ParquetWriter::new(&mut out).finish(&mut df).map_err(io::Error::other)?;
        out.flush()
    })
    .map_err(ReportError::io(path))
}

fn read_frame(path: &Path) -> Result<DataFrame, StoreError> {
    let file = File::open(path).map_err(ReportError::io(path))?;
    ParquetReader::new(file).finish().map_err(|source| StoreError::ParquetRead { path: path.to_owned(), source })
}

/// Defines `$frame`, `$write` and `$read` for a row type from its list of fields. The struct
/// literal in `$read` makes the compiler check that the list names every field exactly once.
macro_rules! table {
    ($row:ident, $table:literal, $frame:ident, $write:ident, $read:ident, [$($field:ident),+ $(,)?]) => {
        #[doc = concat!("The ", $table, " table as a DataFrame, one column per `", stringify!($row), "` field.")]
        pub fn $frame(rows: &[$row]) -> Result<DataFrame, StoreError> {
            let columns = vec![$(Cell::column(stringify!($field), rows.iter().map(|r| &r.$field))),+];
            DataFrame::new(rows.len(), columns).map_err(|source| StoreError::Frame { table: $table, source })
        }

        #[doc = concat!("Writes `", stringify!($row), "`s to a Parquet file, atomically.")]
        pub fn $write(path: &Path, rows: &[$row]) -> Result<(), StoreError> {
            write_frame(path, $frame(rows)?)
        }

        #[doc = concat!("Reads a Parquet file written by [`", stringify!($write), "`].")]
        pub fn $read(path: &Path) -> Result<Vec<$row>, StoreError> {
            let df = read_frame(path)?;
            $(let mut $field = column_values(&df, stringify!($field), path)?.into_iter();)+
            let rows = (0..df.height())
                .map(|_| $row { $($field: $field.next().expect("column length = frame height")),+ })
                .collect();
            Ok(rows)
        }
    };
}

table!(
    FitRow,
    "fits",
    fits_frame,
    write_fits,
    read_fits,
    [
        experiment,
        setting,
        gate_true,
        gate_fit,
        expert,
        estimator,
        n,
        rep,
        seed,
        target,
        loss_name,
        loss,
        loss_mass,
        loss_overfitted,
        loss_single,
        start_loss,
        cells,
        empty_cells,
        overfitted_cells,
        l2_error,
        param_err_over,
        param_err_single,
        expert_err_over,
        expert_err_single,
        expert_err_matched,
        contribution_err,
        l2_to_truth,
        loss_vs_start,
        displacement,
        train_mse,
        grad_norm,
        proj_grad_norm,
        noise_grad,
        rel_change,
        active_gate_intercept_lo,
        active_gate_intercept_hi,
        active_gate_slope,
        active_expert_slope,
        active_expert_intercept,
        iterations,
        evaluations,
        termination,
        wall_s,
    ]
);

table!(
    ParamRow,
    "params",
    params_frame,
    write_params,
    read_params,
    [experiment, setting, kind, gate, expert, estimator, n, rep, atom, param, index, value,]
);

/// The mixture that long-form parameter rows describe (one mixture's rows of params.parquet: a
/// truth, a G_bar or one fit), of the given gate and expert; k and d are read from the rows.
pub fn mixture_from_rows(rows: &[&ParamRow], gate: Gate, expert: Expert) -> Mixture {
    let k = rows.iter().map(|r| r.atom).max().map_or(0, |a| a as usize + 1);
    let d = rows.iter().filter(|r| r.param == ParamName::A).map(|r| r.index).max().map_or(0, |i| i as usize + 1);
    let spec = Spec::new(gate, expert, k, d).unwrap_or_else(|e| panic!("parameter rows: {e}"));
    let mut m = Mixture::zeros(spec);
    for r in rows {
        let i = r.atom as usize;
        let off = match r.param {
            ParamName::Beta0 => spec.beta0_offset(i),
            ParamName::B => spec.b_offset(i),
            ParamName::Beta1 => spec.beta1_offset(i) + r.index as usize,
            ParamName::A => spec.a_offset(i) + r.index as usize,
        };
        m.theta[off] = r.value;
    }
    m
}

table!(
    RateRow,
    "rates",
    rates_frame,
    write_rates,
    read_rates,
    [
        experiment,
        setting,
        gate_fit,
        expert,
        estimator,
        loss_name,
        method,
        n_range,
        slope,
        se,
        boot_se,
        ci_low,
        ci_high,
        intercept,
        n_min,
        n_max,
        n_values,
        reps,
        excluded,
        degenerate,
        theory,
        theory_label,
        verdict,
        log_rate_q,
        delta_aic,
    ]
);

/// Writes CSV rows (serde) under `header`, atomically. The header is written even when there are
/// no rows; it must name the row type's serialized fields in order (each row type's test checks).
pub fn write_csv<T: serde::Serialize>(path: &Path, header: &[&str], rows: &[T]) -> Result<(), StoreError> {
    let bytes = csv_bytes(path, header, rows)?;
    atomic_write_bytes(path, &bytes).map_err(ReportError::io(path))
}

/// The bytes [`write_csv`] writes to `path` (named in errors).
pub fn csv_bytes<T: serde::Serialize>(path: &Path, header: &[&str], rows: &[T]) -> Result<Vec<u8>, StoreError> {
    let mut w = csv::WriterBuilder::new().has_headers(false).from_writer(Vec::new());
    w.write_record(header).map_err(ReportError::csv(path))?;
    for r in rows {
        w.serialize(r).map_err(ReportError::csv(path))?;
    }
    w.into_inner().map_err(|e| ReportError::io(path)(e.into_error()))
}

/// Reads CSV rows (serde, by header name; extra columns are ignored).
pub fn read_csv<T: serde::de::DeserializeOwned>(path: &Path) -> Result<Vec<T>, StoreError> {
    let mut r = csv::Reader::from_path(path).map_err(ReportError::csv(path))?;
    r.deserialize().collect::<Result<Vec<T>, _>>().map_err(ReportError::csv(path))
}

/// The header serde gives a row type, for checking a `HEADER` constant in tests.
pub fn csv_header<T: serde::Serialize>(row: &T) -> Vec<String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.serialize(row).expect("serialisable row");
    let text = String::from_utf8(w.into_inner().expect("in memory")).expect("utf-8");
    text.lines().next().unwrap_or_default().split(',').map(str::to_owned).collect()
}
