//! Is "sigmoid better on sigmoid truths" in expert error a property of the gates, or of how each
//! gate normalises its mass? (issue 25.1; docs/PROTOCOL.md 11c)
//!
//! `expert_err_matched` compares each true expert h(x; a*_j, b*_j) with the closest fitted expert.
//! A sigmoid truth's gate values need not sum to one (near 4 at the paper's scale); a softmax
//! fit's do, so with positively homogeneous experts (ReLU, linear) a softmax fit reproduces the
//! truth's function only with experts inflated by that total, and its expert error stays large
//! while its regression error matches. This probe measures instead each atom's *contribution*,
//! the term g_i(x) h_i(x) it adds to f, which no gate normalisation, no homogeneity trade and no
//! softmax gauge changes:
//!
//!   contribution error = max_j || sum_{i in A_j} g_i h_i - g*_j h*_j ||_L2(mu),
//!
//! with each fitted atom i assigned to the true atom j whose contribution is closest in L2 (A_j;
//! an empty A_j charges || g*_j h*_j ||). Both gates' fits of one (n, replication) saw the same
//! sample, so the comparison is paired: `smoe_metrics::compare_gates`, judged by
//! `judge_comparison`, and where the curves share no level, pair by pair (a gate is better if its
//! error is lower in every paired fit), the rule of figures/sample_complexity.md.
//!
//! It reads params.parquet, which git does not hold: run the experiments into a scratch root first.
//!
//!   target/release/smoe --root target/scratch_ph all workflow/phase_sig_relu.yaml workflow/phase_sof_relu.yaml
//!   cargo run --release -p smoe-studies --example contribution_probe -- target/scratch_ph \
//!       workflow/phase_sig_relu.yaml workflow/phase_sof_relu.yaml
use smoe_experiment::paths::Root;
use smoe_experiment::plan::Experiment;
use smoe_experiment::rows::{ParamKind, ParamRow};
use smoe_metrics::contribution_error;
use smoe_metrics::{compare_gates, judge_comparison, Cell};
use smoe_model::{seed, Gate};
use smoe_report::analysis::Apart;
use smoe_report::store;
use std::collections::BTreeMap;
use std::path::Path;

/// Evaluation points per setting (the first rows of the setting's evaluation sample).
const POINTS: usize = 4000;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((root, configs)) = args.split_first() else {
        eprintln!("usage: contribution_probe ROOT CONFIG...");
        std::process::exit(2);
    };
    let root = Root::open(Path::new(root)).unwrap_or_else(|e| panic!("{e}"));
    println!("| experiment / setting | pairs | sigmoid lower (contribution error) | log2 n_softmax / n_sigmoid at common levels [95% CI] | verdict, contribution error | median at n_max: sigmoid / softmax |");
    println!("|---|---|---|---|---|---|");
    for c in configs {
        let exp = Experiment::load(Path::new(c)).unwrap_or_else(|e| panic!("{c}: {e}"));
        let params = store::read_params(&root.paths(&exp).params()).unwrap_or_else(|e| panic!("{}: {e}", exp.id()));
        for (si, st) in exp.settings.iter().enumerate() {
            let d = exp.config.d;
            let x: Vec<f64> = exp.eval_inputs(si).into_iter().take(POINTS * d).collect();
            let truth = exp.truth(si);
            // (gate, n, rep) -> error, lse fits only
            let mut err: BTreeMap<(&str, u64, u32), f64> = BTreeMap::new();
            let mut groups: BTreeMap<(&str, u64, u32), Vec<&ParamRow>> = BTreeMap::new();
            for r in params.iter().filter(|r| r.kind == ParamKind::Fit && r.setting == st.name && r.estimator == "lse") {
                groups.entry((r.gate.name(), r.n, r.rep)).or_default().push(r);
            }
            for (key, rows) in &groups {
                let m = store::mixture_from_rows(rows, rows[0].gate, rows[0].expert);
                err.insert(*key, contribution_error(&m, &truth, &x));
            }
            let (mut sig, mut soft) = (Vec::new(), Vec::new());
            let (mut lower, mut pairs) = (0, 0);
            for &n in &exp.n_values {
                let (mut a, mut b) = (Vec::new(), Vec::new());
                for rep in 0..exp.config.replications {
                    if let (Some(&s), Some(&f)) = (err.get(&(Gate::Sigmoid.name(), n, rep)), err.get(&(Gate::Softmax.name(), n, rep))) {
                        a.push(s);
                        b.push(f);
                        lower += usize::from(s < f);
                        pairs += 1;
                    }
                }
                sig.push(Cell { n: n as f64, losses: a });
                soft.push(Cell { n: n as f64, losses: b });
            }
            let mut rng =
                seed::stream(exp.config.seed, &[("experiment", exp.id()), ("setting", &st.name), ("purpose", "contribution probe")]);
            let Some(cmp) = compare_gates(&sig, &soft, 3, exp.config.rates.n_boot, &mut rng) else { continue };
            let verdict = if cmp.ratios.is_empty() { Apart::of(&sig, &soft).verdict() } else { judge_comparison(&cmp) }.label();
            let median = |c: &Cell| {
                let mut v = c.losses.clone();
                v.sort_by(f64::total_cmp);
                v[v.len() / 2]
            };
            let levels: Vec<String> = cmp.ratios.iter().map(|(e, r, l, h)| format!("{e:.2e}: {r:.2} [{l:.2}, {h:.2}]")).collect();
            println!(
                "| {} / {} | {pairs} | {lower} | {} | {verdict} | {:.3e} / {:.3e} |",
                exp.id(),
                st.name,
                if levels.is_empty() { "no common level".to_string() } else { levels.join("; ") },
                median(sig.last().expect("n grid")),
                median(soft.last().expect("n grid"))
            );
        }
    }
}
