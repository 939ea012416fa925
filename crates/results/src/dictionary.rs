//! The data dictionary: every column of every tidy table the artifact writes (name, type, unit,
//! one-line description) and `docs/DATA.md`, rendered from it by [`markdown`] (`smoe
//! data-dictionary`).
//!
//! The columns of the results crate's own tables come from their row structs (`table_row!` in
//! [`crate::columns`]: one list gives the struct, its CSV header and these entries); those of the
//! experiment crate's tables (fits, params, gbar_check, floor, pair_check) are written here, so tests
//! hold them to the code (`tests/dictionary.rs`): the files the store writes must have exactly
//! these columns, in this order, with these types; the CSV headers too; the row structs' serde
//! fields follow the same order; a smoke run's files hold only the documented labels and keys;
//! and the committed `docs/DATA.md` must equal [`markdown`]. A field added to a row struct
//! without an entry here fails a test that names the column. `make data-dictionary-check`
//! (`workflow/check_data_md.py`) reads a smoke run's tables with pyarrow and pandas against
//! DATA.md and runs its examples.
//!
//! This module lives in the report crate, outside the code fingerprint: editing a description
//! does not make results stale.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use smoe_experiment::fsio::atomic_write_bytes;

use crate::columns::{
    col, Float64, Integer, Scientific, Text, UInt32, UInt64, ESTIMATOR, EXPERIMENT, EXPERT, GATES, GATE_FIT, SETTING, TERMINATIONS,
};
pub use crate::columns::{Column, ColumnType, Format, NO_UNIT};
use crate::error::{ReportError, Result};

/// Where the generated dictionary lives, relative to the artifact root.
pub const DATA_MD: &str = "docs/DATA.md";

/// Where a table's file lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dir {
    /// One file per experiment: `data/<experiment>/<file>`.
    Experiment,
    /// One file across the experiments given to `smoe tables`: `data/tables/<file>`.
    Shared,
}

impl Dir {
    /// The file's path relative to the artifact root, as DATA.md writes it.
    pub fn path(self, file: &str) -> String {
        match self {
            Dir::Experiment => format!("data/<experiment>/{file}"),
            Dir::Shared => format!("data/{TABLES_DIR}/{file}"),
        }
    }
}

/// The directory under data/ of the tables derived across experiments ([`Dir::Shared`]).
pub const TABLES_DIR: &str = "tables";

/// One tidy table: a file per experiment (`data/<experiment>/<file>`) or one across experiments
/// (`data/tables/<file>`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Table {
    /// The file name in its directory.
    pub file: &'static str,
    pub dir: Dir,
    pub format: Format,
    /// The Rust row type and where it is defined.
    pub row: &'static str,
    pub source: &'static str,
    /// The `smoe` stage that writes it.
    pub written_by: &'static str,
    /// When the file is written, if not for every experiment (empty: always).
    pub only_when: &'static str,
    /// Whether the file is committed to git (otherwise it is archive-only: in `make dist`).
    pub in_git: bool,
    pub one_row_per: &'static str,
    /// Columns whose values identify a row.
    pub key: &'static [&'static str],
    pub about: &'static str,
    pub columns: &'static [Column],
}

impl Table {
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }
}

/// `data/<experiment>/fits.parquet`: one row per fit and loss ([`smoe_experiment::rows::FitRow`]).
pub const FITS: Table = Table {
    file: "fits.parquet",
    dir: Dir::Experiment,
    format: Format::Parquet,
    row: "FitRow",
    source: "crates/experiment/src/rows.rs",
    written_by: "smoe merge",
    only_when: "",
    in_git: true,
    one_row_per: "fit and loss",
    key: &["setting", "gate_fit", "estimator", "n", "rep", "loss_name"],
    about: "One row per fit and loss. A fit is one work unit: a setting's truth, a fitted gate, an estimator, a sample size n and a replication. It is scored under each loss its config lists (E1's linear setting: D2_r2 and D2_r1), one row per loss; the columns from `l2_error` on describe the fit and repeat on each of its rows. Every fit of the config is there, converged or not: `termination` says how it stopped.",
    columns: &[
        EXPERIMENT,
        SETTING,
        col("gate_true", Text, NO_UNIT, "Gate of the true mixture G*.").one_of(GATES),
        GATE_FIT,
        EXPERT,
        ESTIMATOR,
        col("n", UInt64, "samples", "Sample size of the fit's training data."),
        col("rep", UInt32, NO_UNIT, "Replication index, 0 to replications - 1."),
        col(
            "seed",
            UInt64,
            NO_UNIT,
            "First 8 bytes (little-endian) of the data stream's 32-byte seed: identifies the training sample. Up to 2^64, so not exact as a double (R).",
        ),
        col("target", Text, NO_UNIT, "What the loss and `l2_error` are measured against: `G*`, the true mixing measure, or `G_bar`, the L2 projection of f* onto k-atom mixtures of the fit's gate.")
            .one_of(&["G*", "G_bar"]),
        col(
            "loss_name",
            Text,
            NO_UNIT,
            "The Voronoi loss of this row: `D1`, `D1h`, `D2_r<r>` (e.g. `D2_r2`), `D3`, `Dsoftmax` or `Dsoftmax_r1`.",
        ),
        col("loss", Float64, NO_UNIT, "The loss of the fit against the target: `loss_mass + loss_overfitted + loss_single`."),
        col("loss_mass", Float64, NO_UNIT, "Mass terms: the sum over target atoms j of |sum of w(beta0_i) over the cell A_j - w(beta0*_j)|, w the gate's atom weight (sigmoid(beta0) or exp(beta0))."),
        col("loss_overfitted", Float64, NO_UNIT, "Terms of the fitted atoms in over-fitted cells (|A_j| > 1)."),
        col("loss_single", Float64, NO_UNIT, "Terms of the fitted atoms in singly fitted cells (|A_j| = 1)."),
        col("start_loss", Float64, NO_UNIT, "The same loss at the fit's starting point: how far the estimator moved the parameters."),
        col(
            "cells",
            Text,
            NO_UNIT,
            "|A_j| for every target atom j in order, joined by '|', e.g. `2|1|1|1|1|1|1|1`: how many fitted atoms the Voronoi cell of each target atom holds.",
        ),
        col("empty_cells", UInt32, "atoms", "Target atoms whose cell holds no fitted atom (a degenerate fit)."),
        col("overfitted_cells", UInt32, "atoms", "Target atoms whose cell holds two or more fitted atoms."),
        col("l2_error", Float64, "y", "||f_fit - f_target||_L2(mu) on the setting's evaluation sample (mu uniform on [-1, 1]^d)."),
        col(
            "param_err_over",
            Float64,
            NO_UNIT,
            "Largest ||beta1 - beta1_j|| + ||(a, b) - (a_j, b_j)|| over the fitted atoms in over-fitted cells, each against its cell's target atom; NaN if there are none.",
        ),
        col("param_err_single", Float64, NO_UNIT, "The same over the fitted atoms in singly fitted cells; NaN if there are none."),
        col(
            "expert_err_over",
            Float64,
            "y",
            "Largest sup_x |h(x; a, b) - h(x; a_j, b_j)| over the fitted atoms in over-fitted cells (x in [-1, 1]^d: exact for affine experts, the maximum over the evaluation sample otherwise); NaN if there are none.",
        ),
        col("expert_err_single", Float64, "y", "The same over the fitted atoms in singly fitted cells; NaN if there are none."),
        col(
            "expert_err_matched",
            Float64,
            "y",
            "The expert error with one matching rule for both gates, against G*: each true expert matched to the closest fitted expert in sup norm, the largest over the true experts.",
        ),
        col(
            "contribution_err",
            Float64,
            "y",
            "The contribution error against G*: each fitted atom's term g_i(x) h_i(x) assigned to the true atom whose term is closest in L2(mu), the largest L2(mu) error of a true atom's summed cell (a cell no fitted atom joins is charged the whole true term). No gate normalisation, intercept-scale trade of a homogeneous expert or softmax gauge moves it (docs/PROTOCOL.md 11c).",
        ),
        col("l2_to_truth", Float64, "y", "||f_fit - f*||_L2(mu) against the truth, whatever the fit's target."),
        col(
            "loss_vs_start",
            Float64,
            NO_UNIT,
            "This row's loss against the noise-free split start of the fit's initialisation instead of the target: how far the fit ended from where the protocol put it.",
        ),
        col("displacement", Float64, NO_UNIT, "||theta_hat - theta_start||_2 over all parameters: how far the estimator moved."),
        col("train_mse", Float64, "y^2", "Mean squared error on the training sample at the returned parameters (the estimator's objective)."),
        col("grad_norm", Float64, NO_UNIT, "Euclidean norm of the gradient of `train_mse` (full sample) at the returned parameters."),
        col("proj_grad_norm", Float64, NO_UNIT, "Norm of the projected gradient on Theta, zero at a first-order point of the box (the gradient norm for unconstrained fits)."),
        col(
            "noise_grad",
            Float64,
            NO_UNIT,
            "The noise's gradient scale sqrt(2 f tr(H) / n) (f the objective, H the Gauss-Newton matrix) that the convergence test judges the projected gradient against; NaN for SGD and L-BFGS.",
        ),
        col("rel_change", Float64, NO_UNIT, "Relative decrease of the objective over the last five accepted steps; NaN where not tracked."),
        col("active_gate_intercept_lo", UInt32, "entries", "Gate intercepts (beta0) on, or for an unconstrained fit beyond, the lower wall of Theta."),
        col("active_gate_intercept_hi", UInt32, "entries", "Gate intercepts on or beyond the upper wall of Theta."),
        col("active_gate_slope", UInt32, "entries", "Gate slope entries (beta1) on or beyond either wall of Theta."),
        col("active_expert_slope", UInt32, "entries", "Expert slope entries (a) on or beyond either wall of Theta."),
        col("active_expert_intercept", UInt32, "entries", "Expert intercepts (b) on or beyond either wall of Theta."),
        col("iterations", UInt64, "steps", "SGD steps (minibatches), or iterations of the least-squares fit (Levenberg-Marquardt or L-BFGS)."),
        col("evaluations", UInt64, "evaluations", "Objective-and-gradient evaluations; an SGD step counts as one (on its minibatch)."),
        col(
            "termination",
            Text,
            NO_UNIT,
            "Why the fit stopped: `converged` (the least-squares fit met its convergence test), `max_iters` (its iteration budget ran out first), `epochs_completed` (SGD ran its fixed epochs: it has no convergence test), `line_search_failed` (L-BFGS found no acceptable step), `diverged` (the objective became non-finite; the parameters are the last finite ones).",
        )
        .one_of(TERMINATIONS),
        col("wall_s", Float64, "s", "Wall-clock time of the estimator's fit (not the scoring); the one column that differs between two runs."),
    ],
};

/// `data/<experiment>/params.parquet`: every parameter in long form ([`smoe_experiment::rows::ParamRow`]).
pub const PARAMS: Table = Table {
    file: "params.parquet",
    dir: Dir::Experiment,
    format: Format::Parquet,
    row: "ParamRow",
    source: "crates/experiment/src/rows.rs",
    written_by: "smoe merge",
    only_when: "",
    in_git: false,
    one_row_per: "scalar parameter of a mixture",
    key: &["setting", "kind", "gate", "estimator", "n", "rep", "atom", "param", "index"],
    about: "Every parameter of every mixture in long form, one row per scalar: each setting's truth G*, each G_bar, and each fit's returned parameters. A mixture with gate g and expert h is f(x) = sum_i g_i(x) h(a_i.x + b_i), with sigmoid gates g_i(x) = sigmoid(beta1_i.x + beta0_i), or softmax gates exp(beta1_i.x + beta0_i) / sum_l exp(beta1_l.x + beta0_l). Enough to recompute every loss of fits.parquet (a test does). Bulky, so kept out of git and shipped in the `make dist` archive.",
    columns: &[
        EXPERIMENT,
        SETTING,
        col(
            "kind",
            Text,
            NO_UNIT,
            "Which mixture: `truth` (G*), `gbar` (the G_bar of the fit with this gate), `fit` (an estimator's result); `start` is reserved for starting points (not written at present).",
        )
        .one_of(&["fit", "start", "truth", "gbar"]),
        col("gate", Text, NO_UNIT, "Gate of this mixture: the true gate for `truth`, the fitted gate otherwise.").one_of(GATES),
        EXPERT,
        col("estimator", Text, NO_UNIT, "The estimator of a `fit`; empty for `truth` and `gbar`."),
        col("n", UInt64, "samples", "Sample size of a `fit`; 0 for `truth` and `gbar`."),
        col("rep", UInt32, NO_UNIT, "Replication of a `fit`; 0 for `truth` and `gbar`."),
        col("atom", UInt32, NO_UNIT, "Atom index i, from 0 (k atoms in a fit or G_bar, k* in the truth)."),
        col(
            "param",
            Text,
            NO_UNIT,
            "Which parameter of the atom: `beta0` (gate bias), `beta1` (gate slope, a d-vector), `a` (expert slope, a d-vector), `b` (expert bias).",
        )
        .one_of(&["beta0", "beta1", "a", "b"]),
        col("index", UInt32, NO_UNIT, "Component of a vector parameter, 0 to d - 1; 0 for `beta0` and `b`."),
        col("value", Float64, NO_UNIT, "The parameter's value."),
    ],
};

/// `data/<experiment>/rates.parquet`: fitted rates ([`crate::rows::RateRow`]).
pub const RATES: Table = Table {
    file: "rates.parquet",
    dir: Dir::Experiment,
    format: Format::Parquet,
    row: "RateRow",
    source: "crates/results/src/rows.rs",
    written_by: "smoe rates",
    only_when: "",
    in_git: true,
    one_row_per: "fitted rate",
    key: &["setting", "gate_fit", "estimator", "loss_name", "method", "n_range"],
    about: "One row per fitted rate value ~ C n^slope: for every setting, fitted gate, estimator and quantity, three fits: `log_mean` and `all_reps` over the whole n grid, and `log_mean` over its upper half. Values that are not finite and positive, and fits that diverged, are left out (counted in `excluded`); a rate needs at least two n values with a usable value, so a quantity without them has no row.",
    columns: crate::rows::RateRow::COLUMNS,
};

/// `data/<experiment>/summary.csv`: cell summaries ([`crate::rows::SummaryRow`]).
pub const SUMMARY: Table = Table {
    file: "summary.csv",
    dir: Dir::Experiment,
    format: Format::Csv,
    row: "SummaryRow",
    source: "crates/results/src/rows.rs",
    written_by: "smoe rates",
    only_when: "",
    in_git: true,
    one_row_per: "quantity and sample size of a fit",
    key: &["setting", "gate_fit", "estimator", "quantity", "n"],
    about: "One row per setting, fitted gate, estimator, quantity and n: the mean over replications with its Monte Carlo error, and the counts of fits left out, not converged, or with empty cells. A fit's value is usable when the fit did not diverge and the value is finite and positive; mean, sd and mcse are over the usable values.",
    columns: crate::rows::SummaryRow::COLUMNS,
};

/// `data/<experiment>/gbar_check.csv`: how settled each G_bar is ([`smoe_experiment::rows::GbarCheckRow`]).
pub const GBAR_CHECK: Table = Table {
    file: "gbar_check.csv",
    dir: Dir::Experiment,
    format: Format::Csv,
    row: "GbarCheckRow",
    source: "crates/experiment/src/rows.rs",
    written_by: "smoe merge",
    only_when: "",
    in_git: true,
    one_row_per: "G_bar (a fit scored against G_bar)",
    key: &["setting", "gate"],
    about: "One row per G_bar, the target of the fits with `target: gbar`: the least-squares fit of k atoms to the noiseless f* on a reference sample, run in two halves of its iteration budget and fitted again on a second, larger reference sample to show whether it settled. The file has only a header when no fit is scored against G_bar. Numbers are rounded for reading.",
    columns: &[
        SETTING,
        col("gate", Text, NO_UNIT, "Gate of the fit, and of its G_bar.").one_of(GATES),
        col("n_ref", Integer, "samples", "Size of the reference sample G_bar is fitted on."),
        col("check_n_ref", Integer, "samples", "Size of the second reference sample, on which G_bar is fitted again to check it."),
        col("termination", Text, NO_UNIT, "Why the G_bar fit on n_ref points stopped (as in fits.parquet).").one_of(TERMINATIONS),
        col("iterations", Integer, "steps", "Iterations of the G_bar fit, both halves."),
        col("objective", Scientific(4), "y^2", "Mean squared error of G_bar on its reference sample (the squared L2 distance to f*)."),
        col("grad_norm", Scientific(3), NO_UNIT, "Gradient norm of the objective at G_bar."),
        col(
            "proj_grad_over_noise",
            Scientific(3),
            NO_UNIT,
            "Projected gradient over the residual's gradient scale (the convergence test's ratio); NaN where the fit has no such scale.",
        ),
        col("active_walls", Integer, "entries", "Entries of G_bar on a wall of Theta."),
        col("check_termination", Text, NO_UNIT, "Why the fit on check_n_ref points stopped.").one_of(TERMINATIONS),
        col("d3_shift", Scientific(3), NO_UNIT, "D3 distance between G_bar on n_ref points and on check_n_ref points."),
        col("l2_shift", Scientific(3), "y", "L2(mu) distance between the two regression functions."),
        col("d3_drift", Scientific(3), NO_UNIT, "D3 distance G_bar moved in the second half of its iteration budget."),
        col("l2_drift", Scientific(3), "y", "L2(mu) distance the regression function moved in the second half."),
        col(
            "closest_atoms",
            Text,
            NO_UNIT,
            "The two closest atoms of G_bar (`i-j`, from 1): a near-split target behaves like an over-fitted cell at moderate n.",
        ),
        col("closest_distance", Scientific(3), NO_UNIT, "Euclidean distance between those two atoms in (beta1, a, b)."),
    ],
};

/// `data/<experiment>/floor.csv`: the Cramér-Rao floor of each loss ([`smoe_experiment::rows::FloorRow`]).
pub const FLOOR: Table = Table {
    file: "floor.csv",
    dir: Dir::Experiment,
    format: Format::Csv,
    row: "FloorRow",
    source: "crates/experiment/src/rows.rs",
    written_by: "smoe merge",
    only_when: "the config has a `floor` section",
    in_git: true,
    one_row_per: "loss and sample size of a fit",
    key: &["setting", "gate_fit", "quantity", "n"],
    about: "One row per setting, fitted gate, loss and n: the Cramér-Rao floor of the loss, what an unbiased estimator of the fit's target could at best reach from n observations. Parameters are drawn from N(target, I^+ / n), I = E[grad f grad f^T] / nu the Fisher information of one observation at the target (I^+ its pseudo-inverse: directions that are not identified get no variance, so the floor bounds what is identified) and pushed through the loss. A mean loss below the floor cannot be an unbiased estimator's error (e.g. an optimiser that never left a start near the target). Fits against G* whose gate differs from the truth's, and moving two-point truths, get no floor.",
    columns: &[
        SETTING,
        GATE_FIT,
        col("quantity", Text, NO_UNIT, "The loss (a loss name, as `loss_name` in fits.parquet)."),
        col("n", Integer, "samples", "Sample size."),
        col("floor_mean", Scientific(4), NO_UNIT, "Mean of the loss over the draws: the floor."),
        col("floor_sd", Scientific(3), NO_UNIT, "Standard deviation of the loss over the draws."),
        col("draws", Integer, NO_UNIT, "Monte Carlo draws (the config's `floor.draws`)."),
        col("identified_dims", Integer, NO_UNIT, "Directions of the information above the cut (`floor.rel_cut` times its largest eigenvalue)."),
        col("null_dims", Integer, NO_UNIT, "Directions below the cut: not identified at first order."),
        col(
            "null_gate_intercept",
            Scientific(3),
            NO_UNIT,
            "Share of the null space on the gate intercepts: squared entries of the null eigenvectors there, over the number of null directions.",
        ),
        col("null_gate_slope", Scientific(3), NO_UNIT, "The same on the gate slopes."),
        col("null_expert_slope", Scientific(3), NO_UNIT, "The same on the expert slopes."),
        col("null_expert_intercept", Scientific(3), NO_UNIT, "The same on the expert intercepts."),
    ],
};

/// `data/<experiment>/pair_check.csv`: how far apart a two-point pair is ([`smoe_experiment::rows::PairRow`]).
pub const PAIR_CHECK: Table = Table {
    file: "pair_check.csv",
    dir: Dir::Experiment,
    format: Format::Csv,
    row: "PairRow",
    source: "crates/experiment/src/rows.rs",
    written_by: "smoe merge",
    only_when: "a setting's truth is member `two` of a two-point pair (the lower-bound experiments)",
    in_git: true,
    one_row_per: "sample size and loss of a two-point setting",
    key: &["setting", "n", "quantity"],
    about: "For each setting whose truth is member two of a two-point (Le Cam) pair, moving with n along a construction of the paper's lower-bound proofs: at each n, how far apart the two members are, in regression function and in each loss. The data cannot tell them apart when `l2_between` is below about n^-1/2, so `loss_between` is a separation no estimator can beat.",
    columns: &[
        SETTING,
        col("n", Integer, "samples", "Sample size."),
        col("l2_between", Scientific(4), "y", "||f_two - f_one||_L2(mu) between the two members' regression functions at this n."),
        col("inv_sqrt_n", Scientific(4), NO_UNIT, "n^-1/2, to compare `l2_between` with."),
        col("quantity", Text, NO_UNIT, "The loss (a loss name, as `loss_name` in fits.parquet)."),
        col("loss_between", Scientific(4), NO_UNIT, "The loss between the two members (member two against member one)."),
    ],
};

/// `data/<experiment>/comparisons.csv`: the same-data comparison of the two gates ([`crate::rows::ComparisonRow`]).
pub const COMPARISONS: Table = Table {
    file: "comparisons.csv",
    dir: Dir::Experiment,
    format: Format::Csv,
    row: "ComparisonRow",
    source: "crates/results/src/rows.rs",
    written_by: "smoe rates",
    only_when: "a setting is fitted by both gates (sigmoid and softmax) on the same data",
    in_git: true,
    one_row_per: "gate comparison (setting, estimator, quantity) and common error level",
    key: &["setting", "estimator", "quantity", "level"],
    about: "The sigmoid and the softmax fit of one setting, fitted to the same samples from the same start by the same estimator and scored against the truth by the same metric, compared by the sample size each needs to reach a common error level: the typed form of the comparison tables of figures/sample_complexity.md and figures/phase_diagram.md (the rule is written above them). Intervals are a paired bootstrap (95%).",
    columns: crate::rows::ComparisonRow::COLUMNS,
};

/// `data/tables/claims.csv`: every claim of the paper against its curve ([`crate::rows::ClaimRow`]).
pub const CLAIMS: Table = Table {
    file: "claims.csv",
    dir: Dir::Shared,
    format: Format::Csv,
    row: "ClaimRow",
    source: "crates/results/src/rows.rs",
    written_by: "smoe tables",
    only_when: "a main experiment is given",
    in_git: true,
    one_row_per: "theory entry, fit and estimator of a main experiment",
    key: &["experiment", "setting", "gate_fit", "target", "quantity", "estimator", "theorem"],
    about: "Every claim of the paper's theory entries (each config's `theory:` under a fit) confronted with the measured curve of each estimator, judged by the rule of its kind on the upper half of the n grid: the rows of the claims table of figures/claims.md, whose text states the rules. A minimax lower bound is never judged at one fixed truth (the lower-bound experiments have their own table in figures/lower_bound.md).",
    columns: crate::rows::ClaimRow::COLUMNS,
};

/// `data/tables/own_truth.csv`: the paper's own comparison, each gate under its own truth ([`crate::rows::OwnTruthRow`]).
pub const OWN_TRUTH: Table = Table {
    file: "own_truth.csv",
    dir: Dir::Shared,
    format: Format::Csv,
    row: "OwnTruthRow",
    source: "crates/results/src/rows.rs",
    written_by: "smoe tables",
    only_when: "a sigmoid-truth setting with a sigmoid fit and a softmax-truth setting of the same recipe and design with a softmax fit are given",
    in_git: true,
    one_row_per: "own-truth comparison (pair of settings, estimator, quantity) and common error level",
    key: &["sigmoid_experiment", "sigmoid_setting", "softmax_experiment", "softmax_setting", "estimator", "quantity", "level"],
    about: "The comparison behind the paper's title: a sigmoid fit of a sigmoid truth beside a softmax fit of a softmax truth whose recipe is the same in everything but the gate (experts, scales, zero slopes; d, k*, k, noise, n grid), each scored against its own truth by the same metric, compared by the sample size each needs to reach a common error level. The two sides saw different data, so the bootstrap (95%) resamples each side independently; the rule is the same-data comparison's (figures/sample_complexity.md), without the pair-by-pair fallback.",
    columns: crate::rows::OwnTruthRow::COLUMNS,
};

/// `data/tables/convergence.csv`: how the least-squares fits stopped ([`crate::rows::ConvergenceRow`]).
pub const CONVERGENCE: Table = Table {
    file: "convergence.csv",
    dir: Dir::Shared,
    format: Format::Csv,
    row: "ConvergenceRow",
    source: "crates/results/src/rows.rs",
    written_by: "smoe tables",
    only_when: "an experiment with a least-squares estimator (`kind: lm`) is given",
    in_git: true,
    one_row_per: "least-squares setting, fit and estimator of every experiment but the budget checks",
    key: &["experiment", "setting", "gate_fit", "estimator"],
    about: "How every least-squares fit stopped, counted per cell: the rows of the first table of figures/convergence.md, whose text states the criterion and the 95% target. A budget check (role `budget check`) is compared with its base experiment in its own section of that page and is not counted here.",
    columns: crate::rows::ConvergenceRow::COLUMNS,
};

/// `data/tables/gbar_settling.csv`: is each G_bar settled? ([`crate::rows::SettlingRow`]).
pub const GBAR_SETTLING: Table = Table {
    file: "gbar_settling.csv",
    dir: Dir::Shared,
    format: Format::Csv,
    row: "SettlingRow",
    source: "crates/results/src/rows.rs",
    written_by: "smoe tables",
    only_when: "a main experiment with a fit scored against G_bar is given",
    in_git: true,
    one_row_per: "G_bar of a main experiment (setting and fit)",
    key: &["experiment", "setting", "gate_fit"],
    about: "Each G_bar of the main experiments' gbar_check.csv against the smallest losses measured against it: it is settled when its drift over the second half of its budget is at most 1% of the smallest mean D3, and a G_bar that is not settled says why, read off its own numbers (the rule is in figures/REPORT.md, \"Is G_bar settled?\"; docs/PROTOCOL.md 4). A claim measured against an unsettled G_bar carries the reason in claims.csv's `gbar_caveat`.",
    columns: crate::rows::SettlingRow::COLUMNS,
};

/// `data/tables/truth_spread.csv`: the headline slopes on each truth draw ([`crate::rows::SpreadRow`]).
pub const TRUTH_SPREAD: Table = Table {
    file: "truth_spread.csv",
    dir: Dir::Shared,
    format: Format::Csv,
    row: "SpreadRow",
    source: "crates/results/src/rows.rs",
    written_by: "smoe tables",
    only_when: "a main experiment and a truth-variability experiment (role `truth variability`) of it are given",
    in_git: true,
    one_row_per: "quantity with a theory entry in the base experiment, estimator and truth draw",
    key: &["experiment", "setting", "gate_fit", "estimator", "quantity", "draw_experiment", "draw_setting"],
    about: "The upper-half slope of every quantity the base experiment's theory entries name, measured on each truth draw of its truth-variability experiment (TV1-TV3: the settings of E1-E3 with five truths each) beside the same slope on the base experiment's single truth. The sd across draws widens the intervals of claims.csv (`truth_sd`); figures/truth_spread.md prints the mean and sd per base row.",
    columns: crate::rows::SpreadRow::COLUMNS,
};

/// Every table, in the order of DATA.md.
pub const TABLES: [&Table; 13] = [
    &FITS,
    &PARAMS,
    &RATES,
    &SUMMARY,
    &GBAR_CHECK,
    &FLOOR,
    &PAIR_CHECK,
    &COMPARISONS,
    &CLAIMS,
    &OWN_TRUTH,
    &CONVERGENCE,
    &GBAR_SETTLING,
    &TRUTH_SPREAD,
];

/// The Python example of DATA.md (run on a smoke run's fits.parquet by `make data-dictionary-check`).
pub const PYTHON_EXAMPLE: &str = r#"import pandas as pd  # with pyarrow installed
fits = pd.read_parquet("data/E1/fits.parquet")
cells = fits.groupby(["setting", "estimator", "loss_name", "n"])["loss"].agg(["mean", "std", "count"])
print(cells)
print(fits.groupby("estimator")["termination"].value_counts())"#;

/// The R example of DATA.md (run by `make data-dictionary-check` where R's arrow is installed).
pub const R_EXAMPLE: &str = r#"library(arrow)
fits <- read_parquet("data/E1/fits.parquet")
cells <- aggregate(loss ~ setting + estimator + loss_name + n, data = fits, FUN = mean)
print(cells)
print(table(fits$estimator, fits$termination))"#;

/// Text for a Markdown table cell: pipes escaped, so `2|1|1` stays in its cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|")
}

fn code_list(names: &[&str]) -> String {
    names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
}

/// GitHub's anchor of a `## file` heading: lower case, dots dropped, underscores kept.
fn anchor(file: &str) -> String {
    file.chars().filter(|c| c.is_alphanumeric() || *c == '_' || *c == '-').collect::<String>().to_lowercase()
}

/// docs/DATA.md.
pub fn markdown() -> String {
    let mut md = String::new();
    let w = &mut md;
    // writing to a String cannot fail
    let _ = write!(
        w,
        "\
# Data dictionary

<!-- Generated by `smoe data-dictionary` (`make data-dictionary`) from crates/results/src/dictionary.rs:
edit that file, not this one. A test fails when this file differs from what it generates, and when a
row struct has a column that the dictionary does not describe. -->

Every tidy table the artifact writes, column by column. Each experiment (a config in `workflow/`)
writes its tables to `data/<experiment>/`, named by the config's `experiment` field (`data/E1/`,
`data/E1_init_none/`, ...). The tables are long-form: one row per observation, one column per
variable, plain types (strings, unsigned integers, doubles), the same columns in every experiment.
The tables derived across experiments (the claims and the paper's own gate comparison) are in
`data/tables/`, written by `smoe tables` from the experiments it is given.

| file | format | one row per | key | in git | written by |
|---|---|---|---|---|---|
"
    );
    for t in TABLES {
        let _ = writeln!(
            w,
            "| [`{}`](#{}) | {} | {} | {} | {} | `{}`{} |",
            t.file,
            anchor(t.file),
            t.format.name(),
            t.one_row_per,
            code_list(t.key),
            if t.in_git { "yes" } else { "no: archive only" },
            t.written_by,
            if t.only_when.is_empty() { String::new() } else { format!(", if {}", t.only_when) },
        );
    }
    let _ = write!(
        w,
        "
* **Keys.** The key columns identify a row within one experiment's table (within the file, for
  the tables of `data/tables/`); to combine experiments, add `experiment` (gbar_check.csv has no such column: its directory names the experiment). A
  *fit* is one (setting, gate_fit, estimator, n, rep); fits.parquet has one row per fit and loss,
  so its per-fit columns repeat on each of a fit's rows.
* **Records beside the tables.** `recertified.json` (present where results were carried across a
  code change: docs/PROTOCOL.md 13), `budget_extended.json` (present where a larger iteration
  budget carried the fits that stopped before the old cap and reran only the capped ones: which
  budget, from which commit and journal, how many units each way; docs/PROTOCOL.md 13b) and `stalls.json` (present where an experiment has stalled
  least-squares fits: each refitted and tested for Clarke stationarity at ReLU kinks, with the
  SHA-256 of the fits.parquet it was made from; `smoe tables` recomputes it when that file changes:
  docs/PROTOCOL.md 3c) are JSON, in git and in the manifest.
* **Archive only.** params.parquet (every fitted parameter, the truth and each G_bar) is bulky, so
  it is kept out of git; the `make dist` archive ships it, and `smoe all --complete` regenerates it.
  The journals (`data/raw/`) and the G_bar cache (`data/cache/`) are working files, in neither.
  `data/manifest.json` records the SHA-256 of every file here (`smoe verify` checks them).
* **Types.** Parquet columns are `string` (UTF-8), `uint32`, `uint64` (unsigned integers) or
  `double` (IEEE 754), named as Arrow (pyarrow, R's arrow) reports them; pyarrow may show strings
  as `string_view`. R has no unsigned integers: arrow reads `uint64` columns as doubles, exact
  up to 2^53, which every such column here stays below but `seed`; `uint32` values are exact in
  R either way. CSV files have a header row, commas, double quotes around fields that need them,
  and `\\n` line ends; their floats are rounded for reading, to the decimals the type shows
  (`float (1.235e-3)`: 3).
* **Missing values.** There are no nulls (the artifact's own reader rejects them). A value that
  does not exist is NaN, e.g. `param_err_over` of a fit without over-fitted cells, or `theory`
  where the theory gives no power law. Parquet stores NaN, inf and -inf as IEEE doubles; CSV
  files write `NaN`, `inf` and `-inf` (pandas and R's `read.csv` read all three as numbers).
* **Units.** The simulation has no physical units. `y` is the scale of the response (f and its
  noise), `y^2` its square, `samples` a sample size, `atoms`, `fits`, `steps` and `evaluations`
  are counts, `s` seconds; `–` is a label, an index or a dimensionless number (the Voronoi losses
  and parameter distances are built from unscaled parameter differences).
* **Labels.** Typed values (gates, experts, losses, terminations, methods) are written as their
  text labels; a column with a fixed set lists it. Free-text columns (`setting`, `estimator`,
  `theory_label`) come from the config.

## Reading fits.parquet

Python, with pandas and pyarrow (`pip install pandas pyarrow`; polars reads it too:
`polars.read_parquet(\"data/E1/fits.parquet\")`):

```python
{PYTHON_EXAMPLE}
```

R, with arrow (`install.packages(\"arrow\")`):

```r
{R_EXAMPLE}
```
"
    );
    for t in TABLES {
        let _ = write!(
            w,
            "\n## {file}\n\n`{path}` ({format}; the `{row}` rows of `{source}`, written by `{by}`{when}). {about}\n\nKey: {key}.\n\n",
            file = t.file,
            path = t.dir.path(t.file),
            when = if t.only_when.is_empty() { String::new() } else { format!(" only when {}", t.only_when) },
            format = t.format.name(),
            row = t.row,
            source = t.source,
            by = t.written_by,
            about = t.about,
            key = code_list(t.key),
        );
        let _ = writeln!(w, "| # | column | type | unit | description |");
        let _ = writeln!(w, "|---|---|---|---|---|");
        for (i, c) in t.columns.iter().enumerate() {
            let values = if c.values.is_empty() { String::new() } else { format!(" One of {}.", code_list(c.values)) };
            let _ = writeln!(
                w,
                "| {} | `{}` | {} | {} | {}{} |",
                i + 1,
                c.name,
                cell(&c.ty.name()),
                cell(c.unit),
                cell(c.description),
                cell(&values)
            );
        }
    }
    md
}

/// Writes `docs/DATA.md` under `root` if its content differs; returns the path and whether it
/// was written.
pub fn write(root: &Path) -> Result<(PathBuf, bool)> {
    let path = root.join(DATA_MD);
    let text = markdown();
    if std::fs::read_to_string(&path).is_ok_and(|old| old == text) {
        return Ok((path, false));
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(ReportError::io(dir))?;
    }
    atomic_write_bytes(&path, text.as_bytes()).map_err(ReportError::io(&path))?;
    Ok((path, true))
}
