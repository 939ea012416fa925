//! A column of a tidy table, described once: its name, type, unit and one-line description
//! ([`Column`]), and the [`table_row!`] macro that defines a row struct together with its columns,
//! so the struct's fields, the CSV header and the data dictionary (docs/DATA.md) come from one
//! list. A leaf module: the rows, the dictionary and the analysis read it; it reads nothing of
//! theirs.

/// The verdict column of a comparison whose metric a gate's normalisation moves: the matched
/// expert error (with positively homogeneous experts a softmax fit reproduces a sigmoid truth only
/// by rescaling its experts, docs/PROTOCOL.md 11c) is measured and shown, never judged.
pub const NOT_JUDGED: &str = "not judged (a gate's normalisation moves this metric)";

/// The reasons a G_bar settling row gives (`why` of gbar_settling.csv): settled, or why not.
pub const GBAR_REASONS: [&str; 4] = ["–", "projection not unique (f* reproduced)", "on the walls of Theta", "still moving"];

/// How a table is stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Parquet,
    Csv,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::Parquet => "Parquet",
            Format::Csv => "CSV",
        }
    }
}

/// A column's type as a reader of the file sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColumnType {
    /// UTF-8 text: a Parquet string (BYTE_ARRAY with the String logical type) or a CSV field.
    Text,
    /// Parquet INT32 with the unsigned logical type (Arrow `uint32`).
    UInt32,
    /// Parquet INT64 with the unsigned logical type (Arrow `uint64`).
    UInt64,
    /// Parquet DOUBLE (IEEE 754 binary64).
    Float64,
    /// CSV: a non-negative integer in decimal.
    Integer,
    /// CSV: a float in scientific notation with this many decimals (`1.234567e-3` for 6), or
    /// `NaN`, `inf`, `-inf`.
    Scientific(usize),
}

impl ColumnType {
    /// The type's name in DATA.md: Arrow's names for Parquet columns (what pyarrow and R's arrow
    /// report), and for CSV floats the form of a value.
    pub fn name(self) -> String {
        match self {
            ColumnType::Text => "string".into(),
            ColumnType::UInt32 => "uint32".into(),
            ColumnType::UInt64 => "uint64".into(),
            ColumnType::Float64 => "double".into(),
            ColumnType::Integer => "integer".into(),
            ColumnType::Scientific(decimals) => format!("float ({:.*e})", decimals, 1.234_567_89e-3),
        }
    }

    /// Whether a column of this type can be stored in `format`.
    pub fn stored_in(self, format: Format) -> bool {
        match self {
            ColumnType::Text => true,
            ColumnType::UInt32 | ColumnType::UInt64 | ColumnType::Float64 => format == Format::Parquet,
            ColumnType::Integer | ColumnType::Scientific(_) => format == Format::Csv,
        }
    }
}

/// No unit: a label, an index, or a dimensionless number.
pub const NO_UNIT: &str = "–";

/// One column of a table.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Column {
    pub name: &'static str,
    pub ty: ColumnType,
    pub unit: &'static str,
    pub description: &'static str,
    /// Every value the column can hold, for columns of typed labels (empty: free text or numbers).
    pub values: &'static [&'static str],
}

pub(crate) const fn col(name: &'static str, ty: ColumnType, unit: &'static str, description: &'static str) -> Column {
    Column { name, ty, unit, description, values: &[] }
}

impl Column {
    pub(crate) const fn one_of(self, values: &'static [&'static str]) -> Column {
        Column { values, ..self }
    }
}

pub(crate) use ColumnType::{Float64, Integer, Scientific, Text, UInt32, UInt64};

pub(crate) const GATES: &[&str] = &["sigmoid", "softmax"];
pub(crate) const TERMINATIONS: &[&str] = &["converged", "max_iters", "epochs_completed", "line_search_failed", "diverged"];
pub(crate) const EXPERIMENT: Column = col(
    "experiment",
    Text,
    NO_UNIT,
    "The experiment's id: the config's `experiment` field, also the directory name (`E1`, `E1_init_none`, ...).",
);
pub(crate) const SETTING: Column =
    col("setting", Text, NO_UNIT, "The setting's name in the config: one truth recipe (gate, expert, which gate slopes are zero).");
pub(crate) const EXPERT: Column = col(
    "expert",
    Text,
    NO_UNIT,
    "Expert function h of truth and fit, one of relu, gelu, linear, poly:<p> (p >= 1), sigmoid, tanh, constant.",
);
pub(crate) const ESTIMATOR: Column = col(
    "estimator",
    Text,
    NO_UNIT,
    "The estimator's name in the config's `estimators`, e.g. `sgd` (the paper's optimiser) or `lse` (the least-squares fit, Levenberg-Marquardt over Theta).",
);
pub(crate) const GATE_FIT: Column =
    col("gate_fit", Text, NO_UNIT, "Gate of the fitted mixture; with `setting` it names the fit within the config.").one_of(GATES);
pub(crate) const QUANTITY_TEXT: &str = "The quantity: a loss (`D1`, `D1h`, `D2_r<r>`, `D3`, `Dsoftmax`, `Dsoftmax_r1`), `start:<loss>` (that loss at the starting point), `vs_start:<loss>` (that loss against the split start, `loss_vs_start`), or one of `l2_error`, `expert_err` (the larger of the two expert errors), `param_err_over`, `param_err_single`, `expert_err_over`, `expert_err_single`, `expert_err_matched`, `contribution_err`, `l2_to_truth`, `displacement` (the columns of fits.parquet).";

pub(crate) const VERDICTS: &[&str] =
    &["sigmoid better", "softmax better", "no difference", "mixed", "not comparable (no common error level in range)", NOT_JUDGED];

/// The columns both gate comparisons share (comparisons.csv, own_truth.csv).
pub(crate) const COMPARED_QUANTITY: Column = col(
    "quantity",
    Text,
    NO_UNIT,
    "The metric compared: `contribution_err`, `expert_err_matched` or `l2_to_truth` (columns of fits.parquet).",
);
pub(crate) const COMPARISON_VERDICT: Column = col(
    "verdict",
    Text,
    NO_UNIT,
    "The comparison's verdict (the same on each of its rows); `expert_err_matched`, which a gate's normalisation moves, is never judged.",
)
.one_of(VERDICTS);
pub(crate) const EPS: Column =
    col("eps", Scientific(6), "as quantity", "The error level, log-spaced strictly inside both mean curves' ranges.");
pub(crate) const LOG2_RATIO: Column =
    col("log2_ratio", Scientific(6), NO_UNIT, "log2(n_softmax(eps) / n_sigmoid(eps)): above 0 where the sigmoid side needs fewer samples.");
pub(crate) const LOG2_RATIO_LOW: Column = interval_low("log2_ratio_low");
pub(crate) const LOG2_RATIO_HIGH: Column = interval_high("log2_ratio_high");

/// The low end of the bootstrap 95% interval of the column just before it.
pub(crate) const fn interval_low(name: &'static str) -> Column {
    col(name, Scientific(6), NO_UNIT, "Its bootstrap 95% interval, low end.")
}

/// The high end of that interval (the column after its low end).
pub(crate) const fn interval_high(name: &'static str) -> Column {
    col(name, Scientific(6), NO_UNIT, "High end.")
}

/// Defines a row struct (every field public) from one list of `field: Type => Column`, and with
/// it `COLUMNS`, the table's columns in field order (what the data dictionary prints), and
/// `HEADER`, their names (the CSV header). Field attributes (serde's `serialize_with`, `rename`)
/// go before the field; a test per table checks that the serialised names equal `HEADER`.
macro_rules! table_row {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $( $(#[$fmeta:meta])* $field:ident : $ty:ty => $column:expr ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        pub struct $name {
            $( $(#[$fmeta])* pub $field: $ty, )+
        }

        impl $name {
            /// The table's columns, in the order of the fields.
            pub const COLUMNS: &'static [$crate::columns::Column] = &[$($column),+];
            /// The file's header: the columns' names.
            pub const HEADER: &'static [&'static str] = &[$($column.name),+];
        }
    };
}
pub(crate) use table_row;
