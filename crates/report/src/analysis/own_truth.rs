//! The paper's own comparison: each gate fitted to a truth of its own gate. The title's claim
//! comes from comparing the rates of the sigmoid-gated model under sigmoid truths (the paper's
//! theorems) with those of the softmax-gated model under softmax truths (earlier work). Here a
//! sigmoid fit of a sigmoid truth is set beside a softmax fit of a softmax truth whose recipe is
//! the same in everything but the gate (expert, gate and expert scales, which gate slopes are
//! zero; d, k*, k, noise, the n grid), on the same metrics against each one's own truth.
//!
//! The two sides saw different data, so nothing is paired: the bootstrap resamples each side's
//! replications independently. Levels and the verdict follow the same-data comparison's rule
//! (`smoe_metrics::judge_comparison`); where the curves share no level in range there is no
//! pair-by-pair fallback (there are no pairs), and the row is *not comparable*.
//!
//! The bootstrap draws its indices from [`Draws`], SplitMix64 seeded by the SHA-256 seed
//! derivation of `smoe_model::seed` (the comparison's identity only). Not ChaCha, because this
//! crate has no `rand` dependency and adding one would change Cargo.lock, which the code
//! fingerprint covers (every committed result would turn stale); it moves to the ChaCha stream
//! with the next full rerun.

use super::claims::f2;
use super::comparison::{COMPARED, LEVELS};
use super::{grouped, is_theorems_estimator};
use smoe_experiment::config::TruthConfig;
use smoe_experiment::plan::Experiment;
use smoe_experiment::rows::{FitRow, Quantity};
use smoe_metrics::{judge_comparison, n_at_level, ols, Cell, ComparativeVerdict, Comparison};
use smoe_model::{seed, Gate};
use std::fmt::Write as _;

/// One metric of one pair of own-truth fits.
#[derive(Clone, Debug, PartialEq)]
pub struct OwnTruthComparison {
    /// (experiment, setting) of the sigmoid fit of the sigmoid truth.
    pub sigmoid: (String, String),
    /// (experiment, setting) of the softmax fit of the softmax truth.
    pub softmax: (String, String),
    pub estimator: String,
    pub quantity: Quantity,
    /// Upper-half slopes of log(mean) on log(n) of each side, with 95% intervals.
    pub sigmoid_slope: (f64, f64, f64),
    pub softmax_slope: (f64, f64, f64),
    pub comparison: Comparison,
    pub verdict: ComparativeVerdict,
}

/// Whether two truth recipes are the same in everything but the gate.
fn same_but_gate(a: &TruthConfig, b: &TruthConfig) -> bool {
    a.expert == b.expert
        && a.gate_var == b.gate_var
        && a.expert_var == b.expert_var
        && a.zero_gate_slope == b.zero_gate_slope
        && a.zero_expert_slope == b.zero_expert_slope
        && a.two_point.is_none()
        && b.two_point.is_none()
}

/// Whether two experiments share d, k*, k, the noise and the n grid.
fn same_design(a: &Experiment, b: &Experiment) -> bool {
    let (x, y) = (&a.config, &b.config);
    x.d == y.d && x.k_star == y.k_star && x.k == y.k && x.noise_var == y.noise_var && a.n_values == b.n_values
}

/// Every finite, usable value of one (setting, fit gate, estimator, quantity), by n.
fn cells(exp: &Experiment, fits: &[FitRow], setting: &str, gate: Gate, estimator: &str, q: Quantity) -> Option<Vec<Cell>> {
    let groups = grouped(exp, fits);
    let g = groups.iter().find(|g| g.setting == setting && g.gate == gate && g.estimator == estimator && g.quantity == q)?;
    Some(
        g.paired_values()
            .into_iter()
            .map(|(n, v)| Cell { n: n as f64, losses: v.into_iter().map(|(_, x)| x).filter(|x| x.is_finite()).collect() })
            .collect(),
    )
}

/// Bootstrap indices: SplitMix64 (Steele, Lea, Flood 2014) from a 32-byte derived seed.
pub struct Draws(u64);

impl Draws {
    pub fn new(seed: [u8; 32]) -> Draws {
        Draws(u64::from_le_bytes(seed[..8].try_into().expect("8 bytes")))
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A uniform index in 0..len (multiply-shift: bias below len / 2^64).
    pub fn index(&mut self, len: usize) -> usize {
        ((self.next_u64() as u128 * len as u128) >> 64) as usize
    }
}

fn means(cells: &[Cell], idx: &[Vec<usize>]) -> Vec<(f64, f64)> {
    cells.iter().zip(idx).map(|(c, ix)| (c.n, ix.iter().map(|&i| c.losses[i]).sum::<f64>() / ix.len() as f64)).collect()
}

fn upper_slope(pts: &[(f64, f64)]) -> f64 {
    let (x, y): (Vec<f64>, Vec<f64>) = pts[pts.len() / 2..].iter().map(|(n, m)| (n.ln(), m.ln())).unzip();
    ols(&x, &y).1
}

fn interval(mut v: Vec<f64>) -> (f64, f64) {
    if v.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    v.sort_by(f64::total_cmp);
    let q = |p: f64| v[((p * (v.len() - 1) as f64).round() as usize).min(v.len() - 1)];
    (q(0.025), q(0.975))
}

/// Levels strictly inside both mean curves' ranges (as the same-data comparison reads them).
fn common_levels(a: &[(f64, f64)], b: &[(f64, f64)], levels: usize) -> Vec<f64> {
    let lo = |m: &[(f64, f64)]| m.iter().map(|p| p.1).fold(f64::INFINITY, f64::min);
    let hi = |m: &[(f64, f64)]| m.iter().map(|p| p.1).fold(0.0, f64::max);
    let (bottom, top) = (lo(a).max(lo(b)), hi(a).min(hi(b)));
    if !(bottom > 0.0 && top > bottom) {
        return Vec::new();
    }
    (1..=levels).map(|i| (bottom.ln() + (top.ln() - bottom.ln()) * i as f64 / (levels + 1) as f64).exp()).collect()
}

/// Compare two curves measured on independent data: slopes and log2 n_softmax(eps) / n_sigmoid(eps)
/// with intervals from a bootstrap that resamples each side's replications within each n on its
/// own. Both sides need the same n values, at least four, each with at least one value.
pub fn compare_unpaired(
    sigmoid: &[Cell],
    softmax: &[Cell],
    levels: usize,
    n_boot: usize,
    rng: &mut Draws,
) -> Option<(Comparison, (f64, f64, f64), (f64, f64, f64))> {
    if sigmoid.len() != softmax.len() || sigmoid.len() < 4 {
        return None;
    }
    if sigmoid.iter().zip(softmax).any(|(a, b)| a.n != b.n || a.losses.is_empty() || b.losses.is_empty()) {
        return None;
    }
    let identity = |cells: &[Cell]| cells.iter().map(|c| (0..c.losses.len()).collect::<Vec<_>>()).collect::<Vec<_>>();
    let (ms, mf) = (means(sigmoid, &identity(sigmoid)), means(softmax, &identity(softmax)));
    let eps = common_levels(&ms, &mf, levels);
    let ratio = |ms: &[(f64, f64)], mf: &[(f64, f64)], e: f64| Some((n_at_level(mf, e)? / n_at_level(ms, e)?).log2());
    let point: Vec<Option<f64>> = eps.iter().map(|&e| ratio(&ms, &mf, e)).collect();
    let resample = |cells: &[Cell], rng: &mut Draws| -> Vec<Vec<usize>> {
        cells.iter().map(|c| (0..c.losses.len()).map(|_| rng.index(c.losses.len())).collect()).collect()
    };
    let (mut bs_slope, mut bf_slope, mut b_diff) = (Vec::new(), Vec::new(), Vec::new());
    let mut b_ratio: Vec<Vec<f64>> = vec![Vec::new(); eps.len()];
    for _ in 0..n_boot {
        let (is, jf) = (resample(sigmoid, rng), resample(softmax, rng));
        let (bs, bf) = (means(sigmoid, &is), means(softmax, &jf));
        let (ss, sf) = (upper_slope(&bs), upper_slope(&bf));
        bs_slope.push(ss);
        bf_slope.push(sf);
        b_diff.push(ss - sf);
        for (k, &e) in eps.iter().enumerate() {
            if let Some(r) = ratio(&bs, &bf, e) {
                b_ratio[k].push(r);
            }
        }
    }
    let mut ratios = Vec::new();
    for (k, &e) in eps.iter().enumerate() {
        // as in the same-data comparison: a level counts only if nearly every resample reaches it
        if let Some(r) = point[k] {
            if b_ratio[k].len() * 10 >= n_boot * 9 {
                let (l, h) = interval(std::mem::take(&mut b_ratio[k]));
                ratios.push((e, r, l, h));
            }
        }
    }
    let (ss, sf) = (upper_slope(&ms), upper_slope(&mf));
    let (dl, dh) = interval(b_diff);
    let (sl, sh) = interval(bs_slope);
    let (fl, fh) = interval(bf_slope);
    Some((Comparison { slope_diff: ss - sf, slope_diff_low: dl, slope_diff_high: dh, ratios }, (ss, sl, sh), (sf, fl, fh)))
}

/// The pairs (sigmoid side, softmax side) of the own-truth comparison among `exps`, as indices
/// (experiment, setting): each setting with a sigmoid truth and a sigmoid fit, against each
/// setting of another experiment with a softmax truth of the same recipe and design and a softmax
/// fit.
pub fn own_truth_pairs(exps: &[&Experiment]) -> Vec<((usize, usize), (usize, usize))> {
    let mut out = Vec::new();
    for (ia, a) in exps.iter().enumerate() {
        for (ja, sa) in a.settings.iter().enumerate() {
            if sa.truth_config.gate != Gate::Sigmoid || !sa.fits.iter().any(|f| f.gate == Gate::Sigmoid) {
                continue;
            }
            for (ib, b) in exps.iter().enumerate().filter(|(ib, b)| *ib != ia && same_design(a, b)) {
                for (jb, sb) in b.settings.iter().enumerate() {
                    if sb.truth_config.gate == Gate::Softmax
                        && sb.fits.iter().any(|f| f.gate == Gate::Softmax)
                        && same_but_gate(&sa.truth_config, &sb.truth_config)
                    {
                        out.push(((ia, ja), (ib, jb)));
                    }
                }
            }
        }
    }
    out
}

/// Every own-truth comparison among `exps` ([`own_truth_pairs`]), by the theorems' estimator
/// (least squares) where both sides have it, on the same-data comparison's metrics. The bootstrap
/// is named by both sides, so the result depends on nothing else.
pub fn own_truth_comparisons(exps: &[(&Experiment, &[FitRow])]) -> Vec<OwnTruthComparison> {
    let plain: Vec<&Experiment> = exps.iter().map(|(e, _)| *e).collect();
    let mut out = Vec::new();
    for ((ia, ja), (ib, jb)) in own_truth_pairs(&plain) {
        let ((a, fa), (b, fb)) = (exps[ia], exps[ib]);
        let (sa, sb) = (&a.settings[ja], &b.settings[jb]);
        for (est, _) in a.estimators.iter().filter(|(n, e)| is_theorems_estimator(e) && b.estimators.iter().any(|(m, _)| m == n)) {
            for q in COMPARED {
                let (Some(sig), Some(soft)) =
                    (cells(a, fa, &sa.name, Gate::Sigmoid, est, q), cells(b, fb, &sb.name, Gate::Softmax, est, q))
                else {
                    continue;
                };
                let mut rng = Draws::new(seed::derive_seed(
                    a.config.seed ^ b.config.seed,
                    &[
                        ("sigmoid", &format!("{}/{}", a.id(), sa.name)),
                        ("softmax", &format!("{}/{}", b.id(), sb.name)),
                        ("estimator", est),
                        ("quantity", &q.to_string()),
                        ("purpose", "own-truth comparison"),
                    ],
                ));
                let Some((c, s_sig, s_soft)) = compare_unpaired(&sig, &soft, LEVELS, a.config.rates.n_boot, &mut rng) else { continue };
                let verdict = judge_comparison(&c);
                out.push(OwnTruthComparison {
                    sigmoid: (a.id().to_string(), sa.name.clone()),
                    softmax: (b.id().to_string(), sb.name.clone()),
                    estimator: est.clone(),
                    quantity: q,
                    sigmoid_slope: s_sig,
                    softmax_slope: s_soft,
                    comparison: c,
                    verdict,
                });
            }
        }
    }
    out
}

/// The rule of the own-truth table, in words.
pub const OWN_TRUTH_RULE: &str = "The paper's own comparison: a sigmoid fit of a sigmoid-gated truth beside a softmax fit of a softmax-gated truth drawn from the same recipe in everything but the gate (expert, scales, which gate slopes are zero; the same d, k*, k, noise and n grid), by the least-squares estimator, each scored against its own truth by the metrics of the same-data comparison. The two sides saw different data and different truths: nothing is paired, and the bootstrap (95%) resamples each side's replications within each n independently. Slopes are fitted on the upper half of the n grid; n(eps) is read at levels both mean curves cross inside the range, and the verdict follows the same-data rule (*sigmoid better* when the interval of log2(n_softmax / n_sigmoid) lies above 0 at every level, *softmax better* when below at every level, *mixed*, *no difference*); where the curves share no level, *not comparable* (there are no pairs to compare fit by fit). This is a comparison of two estimation problems, one per gate, as the paper's title compares them; a difference may come from the truths as much as from the gates, which the same-data table above rules out and this one does not.";

/// The own-truth table.
pub fn own_truth_markdown(rows: &[OwnTruthComparison]) -> String {
    let mut s = String::from("| sigmoid truth, sigmoid fit | softmax truth, softmax fit | estimator | quantity | slope, sigmoid [95% CI] | slope, softmax [95% CI] | log2 n_softmax(eps) / n_sigmoid(eps) [95% CI] at common levels eps | verdict |\n|---|---|---|---|---|---|---|---|\n");
    for r in rows {
        let c = &r.comparison;
        let levels = if c.ratios.is_empty() {
            "no level both curves cross in range".to_string()
        } else {
            c.ratios.iter().map(|(e, v, l, h)| format!("{e:.2e}: {} [{}, {}]", f2(*v), f2(*l), f2(*h))).collect::<Vec<_>>().join("; ")
        };
        let slope = |(v, l, h): (f64, f64, f64)| format!("{} [{}, {}]", f2(v), f2(l), f2(h));
        let _ = writeln!(
            s,
            "| {} / {} | {} / {} | {} | {} | {} | {} | {} | **{}** |",
            r.sigmoid.0,
            r.sigmoid.1,
            r.softmax.0,
            r.softmax.1,
            r.estimator,
            r.quantity,
            slope(r.sigmoid_slope),
            slope(r.softmax_slope),
            levels,
            r.verdict.label()
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Cells of a curve c n^s with multiplicative spread: losses c n^s (1 + spread * k / reps).
    fn curve(c: f64, s: f64, reps: usize, spread: f64) -> Vec<Cell> {
        [1e3, 3e3, 1e4, 3e4, 1e5]
            .iter()
            .map(|&n| Cell { n, losses: (0..reps).map(|k| c * n.powf(s) * (1.0 + spread * (k as f64 / reps as f64 - 0.5))).collect() })
            .collect()
    }

    #[test]
    fn a_faster_curve_needs_fewer_samples_and_unequal_replications_are_fine() {
        let mut rng = Draws::new([7; 32]);
        // sigmoid n^-1/2, softmax 0.2 n^-1/4: both cross every level in [3.6e-3, 3.2e-2]; there
        // n_sig(e) = e^-2 and n_soft(e) = (e / 0.2)^-4; 10 against 20 replications
        let (c, ss, sf) = compare_unpaired(&curve(1.0, -0.5, 10, 0.2), &curve(0.2, -0.25, 20, 0.2), 3, 200, &mut rng).unwrap();
        assert!((ss.0 + 0.5).abs() < 1e-9 && (sf.0 + 0.25).abs() < 1e-9, "{ss:?} {sf:?}");
        assert!(ss.1 <= ss.0 && ss.0 <= ss.2);
        assert!((c.slope_diff + 0.25).abs() < 1e-9);
        assert_eq!(c.ratios.len(), 3, "{c:?}");
        for (e, r, l, h) in &c.ratios {
            let expected = -2.0 * e.log2() + 4.0 * 0.2f64.log2();
            assert!((r - expected).abs() < 0.05, "{e}: {r} against {expected}");
            assert!(*l > 0.0 && *l <= *r && *r <= *h, "{l} {r} {h}");
        }
        assert_eq!(judge_comparison(&c), ComparativeVerdict::SigmoidBetter);
        // mirrored: softmax better
        let (m, ..) = compare_unpaired(&curve(0.2, -0.25, 10, 0.2), &curve(1.0, -0.5, 20, 0.2), 3, 200, &mut rng).unwrap();
        assert_eq!(judge_comparison(&m), ComparativeVerdict::SoftmaxBetter);
    }

    fn config(name: &str) -> Experiment {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../workflow").join(name);
        Experiment::load(&path).unwrap_or_else(|e| panic!("{name}: {e}"))
    }

    #[test]
    fn each_sigmoid_truth_meets_the_softmax_truth_of_its_recipe() {
        let exps = [
            config("e3_softmax_truth.yaml"),
            config("e6_sigmoid_truth_both_gates.yaml"),
            config("phase_sig_relu.yaml"),
            config("phase_sof_relu.yaml"),
            config("phase_sof_linear.yaml"),
            config("e2_regime2.yaml"),
        ];
        let refs: Vec<&Experiment> = exps.iter().collect();
        let named: Vec<(String, String)> = own_truth_pairs(&refs)
            .into_iter()
            .map(|((ia, ja), (ib, jb))| {
                (format!("{}/{}", exps[ia].id(), exps[ia].settings[ja].name), format!("{}/{}", exps[ib].id(), exps[ib].settings[jb].name))
            })
            .collect();
        let want = |a: &str, b: &str| (a.to_string(), b.to_string());
        // E6 (sigmoid truth, E2's recipe) against E3 (softmax truth) per expert; each phase scale
        // against the same scale and expert; E2 fits only the sigmoid gate of its sigmoid truth,
        // so it pairs with E3 too (same recipe and design); never across experts or scales
        assert!(named.contains(&want("E6/relu", "E3/relu")) && named.contains(&want("E6/linear", "E3/linear")), "{named:?}");
        for g in ["g001", "g01", "g1", "g10"] {
            assert!(named.contains(&want(&format!("PH_sig_relu/{g}"), &format!("PH_sof_relu/{g}"))), "{named:?}");
        }
        assert!(!named.iter().any(|(a, b)| a.starts_with("PH_sig_relu") && b.starts_with("PH_sof_linear")), "{named:?}");
        assert!(!named.iter().any(|(a, b)| a.starts_with("E6") && b.starts_with("PH_")), "{named:?}");
        assert!(!named.iter().any(|(a, b)| a.ends_with("/g001") && !b.ends_with("/g001")), "{named:?}");
        assert!(!named.iter().any(|(a, _)| a.starts_with("E3") || a.starts_with("PH_sof")), "{named:?}");
    }

    #[test]
    fn draws_are_uniform_indices_and_reproducible() {
        let (mut a, mut b) = (Draws::new([1; 32]), Draws::new([1; 32]));
        let xs: Vec<usize> = (0..20000).map(|_| a.index(5)).collect();
        assert_eq!(xs, (0..20000).map(|_| b.index(5)).collect::<Vec<_>>());
        for k in 0..5 {
            let c = xs.iter().filter(|&&x| x == k).count();
            assert!((3700..4300).contains(&c), "index {k}: {c} of 20000");
        }
        assert_ne!(Draws::new([2; 32]).index(1 << 30), Draws::new([1; 32]).index(1 << 30));
    }

    #[test]
    fn curves_that_share_no_level_are_not_comparable() {
        let mut rng = Draws::new([7; 32]);
        let (c, ..) = compare_unpaired(&curve(1.0, -0.5, 10, 0.1), &curve(100.0, -0.5, 10, 0.1), 3, 100, &mut rng).unwrap();
        assert!(c.ratios.is_empty());
        assert_eq!(judge_comparison(&c), ComparativeVerdict::NotComparable);
        // different n grids or too few n: no comparison
        let short: Vec<Cell> = curve(1.0, -0.5, 10, 0.1).into_iter().take(3).collect();
        assert!(compare_unpaired(&short, &short, 3, 10, &mut rng).is_none());
    }
}
