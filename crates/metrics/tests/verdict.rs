//! The verdict rules of each claim type on hand-made curves: for each type, one curve that must
//! pass and one that must fail.

use smoe_metrics::*;

fn evidence(slope: f64, half_width: f64) -> SlopeEvidence {
    SlopeEvidence { slope, ci_low: slope - half_width, ci_high: slope + half_width, n_min: 1e4, n_max: 1e5 }
}

const RULES: VerdictRules = VerdictRules { allowance: 0.1, sharp: 0.1, max_width: 1.0 };

#[test]
fn the_local_exponent_of_the_log_factor() {
    // (log n / n)^{1/2} at n = e^10: -1/2 + 1/20
    assert!((local_exponent(-0.5, true, 10f64.exp()) - (-0.45)).abs() < 1e-12);
    assert_eq!(local_exponent(-0.5, false, 1e4), -0.5);
    assert!((inverse_log_local_slope(10f64.exp()) + 0.1).abs() < 1e-12);
}

/// Upper bound n^-1/2 with the log factor; the local exponent at the midpoint 10^4.5 is
/// -0.5 + 1/(2 ln 31623) = -0.452. A curve falling like n^-0.9 does not contradict it; one falling
/// like n^-0.2 with a tight interval does; n^-0.47 is sharp.
#[test]
fn upper_bound_rule() {
    let kind = ClaimKind::UpperBound { exponent: -0.5, log_factor: true };
    assert_eq!(RULES.judge(kind, &evidence(-0.9, 0.05)), Verdict::Consistent);
    assert_eq!(RULES.judge(kind, &evidence(-0.47, 0.05)), Verdict::ConsistentSharp);
    assert_eq!(RULES.judge(kind, &evidence(-0.2, 0.05)), Verdict::Contradicted);
    // just inside the allowance: interval [-0.36, -0.30], above -0.452 but not above -0.352 entirely
    assert_eq!(RULES.judge(kind, &evidence(-0.33, 0.03)), Verdict::Consistent);
    // a wider interval from the spread across truths rescues a borderline row
    let tight = evidence(-0.3, 0.02);
    assert_eq!(RULES.judge(kind, &tight), Verdict::Contradicted);
    assert_eq!(RULES.judge(kind, &tight.widened(0.05)), Verdict::Consistent);
}

/// Slow rate: the local slope of 1/log n at 10^4.5 is -0.0965. A flat curve passes; a power law
/// n^-0.5 with a tight interval fails; a very wide interval is inconclusive.
#[test]
fn slow_rate_rule() {
    assert_eq!(RULES.judge(ClaimKind::SlowRate, &evidence(-0.02, 0.05)), Verdict::Consistent);
    assert_eq!(RULES.judge(ClaimKind::SlowRate, &evidence(-0.5, 0.05)), Verdict::Contradicted);
    assert_eq!(RULES.judge(ClaimKind::SlowRate, &evidence(-0.1, 0.8)), Verdict::Inconclusive);
}

/// A minimax lower bound cannot be tested at one fixed truth, whatever the curve; the lower-bound
/// experiment's worst-of-pair curve passes when it falls no faster than the construction allows.
#[test]
fn lower_bound_rule() {
    let kind = ClaimKind::LowerBound { exponent: -0.5 };
    assert_eq!(RULES.judge(kind, &evidence(-2.0, 0.01)), Verdict::NotTestableAtFixedTruth);
    assert_eq!(RULES.judge(kind, &evidence(0.0, 0.01)), Verdict::NotTestableAtFixedTruth);
    assert_eq!(RULES.judge_lower_bound_experiment(-0.5, &evidence(-0.45, 0.05)), Verdict::Consistent);
    assert_eq!(RULES.judge_lower_bound_experiment(-0.5, &evidence(-1.0, 0.05)), Verdict::Contradicted);
}

#[test]
fn rows_without_a_theorem_get_no_verdict() {
    assert_eq!(RULES.judge(ClaimKind::NoTheorem, &evidence(-0.5, 0.01)), Verdict::NoClaim);
}

fn curve(c: f64, s: f64, reps: usize, jitter: f64) -> Vec<Cell> {
    [1e3, 3e3, 1e4, 3e4, 1e5]
        .iter()
        .map(|&n| Cell { n, losses: (0..reps).map(|r| c * f64::powf(n, s) * (1.0 + jitter * ((r as f64 * 1.7).sin()))).collect() })
        .collect()
}

/// Comparative: a sigmoid curve three times below the softmax one (same slope) reaches every common
/// level with fewer samples: log2 ratio = log2(3^(1/0.5)) = log2(9) = 3.17 at every level;
/// swapped, softmax is better; two crossing curves are mixed; disjoint ranges are not comparable
/// (never counted as a win).
#[test]
fn comparative_rule() {
    let mut rng = smoe_model::seed::stream(1, &[("test", "compare")]);
    let sig = curve(1.0, -0.5, 8, 0.05);
    let soft = curve(3.0, -0.5, 8, 0.05);
    let c = compare_gates(&sig, &soft, 3, 200, &mut rng).unwrap();
    assert!(!c.ratios.is_empty());
    for &(_, r, lo, hi) in &c.ratios {
        assert!((r - 9f64.log2()).abs() < 0.05, "{r}");
        assert!(lo > 0.0 && hi > lo);
    }
    assert!(c.slope_diff.abs() < 1e-9);
    assert_eq!(judge_comparison(&c), ComparativeVerdict::SigmoidBetter);
    let c = compare_gates(&soft, &sig, 3, 200, &mut rng).unwrap();
    assert_eq!(judge_comparison(&c), ComparativeVerdict::SoftmaxBetter);
    // crossing at n = 1e4: sigmoid flatter, lower before the crossing, higher after it
    let flat = curve(0.05, -0.1, 8, 0.05);
    let steep = curve(31.5, -0.8, 8, 0.05);
    let c = compare_gates(&flat, &steep, 5, 200, &mut rng).unwrap();
    assert_eq!(judge_comparison(&c), ComparativeVerdict::Mixed);
    assert!(c.slope_diff > 0.5 && c.slope_diff_low > 0.5);
    // disjoint: both curves never share an error level inside the range
    let high = curve(100.0, -0.1, 8, 0.05);
    let low = curve(0.01, -0.1, 8, 0.05);
    let c = compare_gates(&low, &high, 3, 200, &mut rng).unwrap();
    assert!(c.ratios.is_empty());
    assert_eq!(judge_comparison(&c), ComparativeVerdict::NotComparable);
}

#[test]
fn n_at_level_interpolates_inside_the_range_only() {
    let pts = [(1e3, 1.0), (1e4, 0.1), (1e5, 0.01)];
    assert!((n_at_level(&pts, 0.1).unwrap() - 1e4).abs() < 1e-6);
    assert!((n_at_level(&pts, 10f64.powf(-1.5)).unwrap() - 10f64.powf(4.5)).abs() < 1e-3);
    assert_eq!(n_at_level(&pts, 2.0), None, "below eps before the range starts");
    assert_eq!(n_at_level(&pts, 0.001), None, "never reached");
}

/// The unpaired bootstrap (each gate under its own truth): sigmoid n^-1/2 against softmax
/// 0.2 n^-1/4 cross every level in [3.6e-3, 3.2e-2], where n_sig(e) = e^-2 and
/// n_soft(e) = (e / 0.2)^-4; 10 against 20 replications (the paired one refuses unequal counts).
#[test]
fn unpaired_comparison_reads_the_sample_ratio_and_each_side_slope() {
    let spread = |c: f64, s: f64, reps: usize| -> Vec<Cell> {
        [1e3, 3e3, 1e4, 3e4, 1e5]
            .iter()
            .map(|&n| Cell { n, losses: (0..reps).map(|k| c * n.powf(s) * (1.0 + 0.2 * (k as f64 / reps as f64 - 0.5))).collect() })
            .collect()
    };
    let mut rng = smoe_model::seed::stream(7, &[("test", "unpaired")]);
    let (sig, soft) = (spread(1.0, -0.5, 10), spread(0.2, -0.25, 20));
    assert!(compare_curves(&sig, &soft, 3, 200, Resampling::Paired, &mut rng).is_none());
    let c = compare_curves(&sig, &soft, 3, 200, Resampling::Unpaired, &mut rng).unwrap();
    assert!((c.sigmoid.slope + 0.5).abs() < 1e-9 && (c.softmax.slope + 0.25).abs() < 1e-9, "{c:?}");
    assert!(c.sigmoid.low <= c.sigmoid.slope && c.sigmoid.slope <= c.sigmoid.high);
    assert!((c.comparison.slope_diff + 0.25).abs() < 1e-9);
    assert_eq!(c.comparison.ratios.len(), 3, "{c:?}");
    for (e, r, l, h) in &c.comparison.ratios {
        let expected = -2.0 * e.log2() + 4.0 * 0.2f64.log2();
        assert!((r - expected).abs() < 0.05, "{e}: {r} against {expected}");
        assert!(*l > 0.0 && *l <= *r && *r <= *h, "{l} {r} {h}");
    }
    assert_eq!(judge_comparison(&c.comparison), ComparativeVerdict::SigmoidBetter);
    let m = compare_curves(&spread(0.2, -0.25, 10), &spread(1.0, -0.5, 20), 3, 200, Resampling::Unpaired, &mut rng).unwrap();
    assert_eq!(judge_comparison(&m.comparison), ComparativeVerdict::SoftmaxBetter);
}

/// The paired mode is compare_gates, draw for draw.
#[test]
fn paired_comparison_is_compare_gates() {
    let (sig, soft) = (curve(1.0, -0.5, 8, 0.05), curve(3.0, -0.5, 8, 0.05));
    let mut r1 = smoe_model::seed::stream(3, &[("test", "paired")]);
    let mut r2 = smoe_model::seed::stream(3, &[("test", "paired")]);
    let a = compare_gates(&sig, &soft, 3, 100, &mut r1).unwrap();
    let b = compare_curves(&sig, &soft, 3, 100, Resampling::Paired, &mut r2).unwrap();
    assert_eq!(a, b.comparison);
}

/// Unpaired curves that share no level are not comparable; too few n give no comparison.
#[test]
fn unpaired_curves_that_share_no_level_are_not_comparable() {
    let mut rng = smoe_model::seed::stream(8, &[("test", "unpaired")]);
    let c = compare_curves(&curve(1.0, -0.5, 10, 0.1), &curve(100.0, -0.5, 10, 0.1), 3, 100, Resampling::Unpaired, &mut rng).unwrap();
    assert!(c.comparison.ratios.is_empty());
    assert_eq!(judge_comparison(&c.comparison), ComparativeVerdict::NotComparable);
    let short: Vec<Cell> = curve(1.0, -0.5, 10, 0.1).into_iter().take(3).collect();
    assert!(compare_curves(&short, &short, 3, 10, Resampling::Unpaired, &mut rng).is_none());
}
