//! Verdicts by claim type. The paper's statements are of different kinds, and each needs its own
//! test: an upper bound is not contradicted by a curve that falls faster; a minimax lower bound is
//! a statement about the worst case over a class of truths, which one fixed truth cannot test; a
//! comparison needs the same metric and paired data on both sides; "slower than any polynomial"
//! is a statement about the trend of the local slope. The rules are written out in
//! [`VerdictRules::describe`] and printed above the claims table.

use serde::{Deserialize, Serialize};

/// What kind of statement a claim is.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClaimKind {
    /// loss = O_P(n^exponent), times (log n)^{1/2} when `log_factor` (the rates of Thm 1, 2, 5).
    UpperBound { exponent: f64, log_factor: bool },
    /// A minimax lower bound over a class of truths near a degenerate configuration (Thm 3, 4):
    /// no estimator's worst-case loss falls faster than n^exponent.
    LowerBound { exponent: f64 },
    /// Slower than any polynomial (possibly 1/log n).
    SlowRate,
    /// A row with no theorem behind it: measured, not judged.
    NoTheorem,
}

impl ClaimKind {
    pub fn label(&self) -> &'static str {
        match self {
            ClaimKind::UpperBound { .. } => "upper bound",
            ClaimKind::LowerBound { .. } => "minimax lower bound",
            ClaimKind::SlowRate => "slow rate",
            ClaimKind::NoTheorem => "no theorem",
        }
    }
}

/// The outcome of a rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The data do not contradict the claim; for an upper bound, the slope is also within the
    /// sharpness distance of the predicted local exponent.
    ConsistentSharp,
    /// The data do not contradict the claim.
    Consistent,
    /// The data contradict the claim by the rule of its kind.
    Contradicted,
    /// A minimax lower bound on a fixed-truth row.
    NotTestableAtFixedTruth,
    /// Too few points, or an interval too wide to decide.
    Inconclusive,
    /// No theorem behind the row.
    NoClaim,
}

impl Verdict {
    pub fn label(self) -> &'static str {
        match self {
            Verdict::ConsistentSharp => "consistent, sharp",
            Verdict::Consistent => "consistent",
            Verdict::Contradicted => "contradicted",
            Verdict::NotTestableAtFixedTruth => "not testable at a fixed truth",
            Verdict::Inconclusive => "inconclusive",
            Verdict::NoClaim => "no claim",
        }
    }
}

/// A measured slope of log(loss) on log(n) with its 95% interval, on the n range it was fitted.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct SlopeEvidence {
    pub slope: f64,
    pub ci_low: f64,
    pub ci_high: f64,
    pub n_min: f64,
    pub n_max: f64,
}

impl SlopeEvidence {
    /// The geometric midpoint of the n range.
    pub fn n_mid(&self) -> f64 {
        (self.n_min * self.n_max).sqrt()
    }

    /// The interval widened by another source of spread with standard deviation `extra_sd` (for
    /// example across truth draws): the half-widths add in quadrature, with 1.96 sd for `extra_sd`.
    pub fn widened(&self, extra_sd: f64) -> SlopeEvidence {
        if !(extra_sd.is_finite() && extra_sd > 0.0) {
            return *self;
        }
        let extra = 1.96 * extra_sd;
        let lo = ((self.slope - self.ci_low).powi(2) + extra * extra).sqrt();
        let hi = ((self.ci_high - self.slope).powi(2) + extra * extra).sqrt();
        SlopeEvidence { ci_low: self.slope - lo, ci_high: self.slope + hi, ..*self }
    }
}

/// The constants of the rules, stated once.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct VerdictRules {
    /// Pre-asymptotic allowance: how much slower than the predicted local exponent a curve may fall
    /// over the measured range before an upper bound counts as contradicted.
    pub allowance: f64,
    /// An upper-bound row is "sharp" when its slope is within this distance of the local exponent.
    pub sharp: f64,
    /// An interval wider than this (full width) is inconclusive.
    pub max_width: f64,
}

impl Default for VerdictRules {
    fn default() -> Self {
        VerdictRules { allowance: 0.1, sharp: 0.1, max_width: 1.0 }
    }
}

/// The local slope d log L / d log n of L = n^exponent (log n)^{1/2 if log_factor} at n:
/// exponent + 1 / (2 ln n) with the log factor.
pub fn local_exponent(exponent: f64, log_factor: bool, n: f64) -> f64 {
    if log_factor {
        exponent + 1.0 / (2.0 * n.ln())
    } else {
        exponent
    }
}

/// The local slope of 1/log n at n: -1 / ln n.
pub fn inverse_log_local_slope(n: f64) -> f64 {
    -1.0 / n.ln()
}

impl VerdictRules {
    /// The verdict of a fixed-truth row of claim `kind` from the slope measured on the upper half of
    /// the n grid.
    pub fn judge(&self, kind: ClaimKind, e: &SlopeEvidence) -> Verdict {
        if !(e.slope.is_finite() && e.ci_low.is_finite() && e.ci_high.is_finite()) {
            return match kind {
                ClaimKind::NoTheorem => Verdict::NoClaim,
                ClaimKind::LowerBound { .. } => Verdict::NotTestableAtFixedTruth,
                _ => Verdict::Inconclusive,
            };
        }
        match kind {
            ClaimKind::NoTheorem => Verdict::NoClaim,
            ClaimKind::LowerBound { .. } => Verdict::NotTestableAtFixedTruth,
            ClaimKind::UpperBound { exponent, log_factor } => {
                let local = local_exponent(exponent, log_factor, e.n_mid());
                if e.ci_low > local + self.allowance {
                    Verdict::Contradicted
                } else if (e.slope - local).abs() <= self.sharp {
                    Verdict::ConsistentSharp
                } else {
                    Verdict::Consistent
                }
            }
            ClaimKind::SlowRate => self.judge_slow(e),
        }
    }

    /// Slower than any polynomial: contradicted when the whole interval lies below the local
    /// slope of 1/log n (the fastest of the slow rates the claim allows) by more than the
    /// allowance, i.e. the curve falls clearly like a power law; consistent when the interval
    /// reaches the local slope of 1/log n or above; inconclusive when the interval is too wide.
    pub fn judge_slow(&self, e: &SlopeEvidence) -> Verdict {
        let floor = inverse_log_local_slope(e.n_mid());
        if e.ci_high < floor - self.allowance {
            Verdict::Contradicted
        } else if e.ci_high - e.ci_low > self.max_width {
            Verdict::Inconclusive
        } else {
            Verdict::Consistent
        }
    }

    /// A lower-bound experiment (truths that move with n along the two-point construction):
    /// contradicted when the worst-of-pair loss falls clearly faster than the construction allows
    /// (the whole interval below `exponent` minus the allowance), consistent otherwise.
    pub fn judge_lower_bound_experiment(&self, exponent: f64, e: &SlopeEvidence) -> Verdict {
        if !(e.ci_high.is_finite() && e.ci_low.is_finite()) {
            Verdict::Inconclusive
        } else if e.ci_high < exponent - self.allowance {
            Verdict::Contradicted
        } else {
            Verdict::Consistent
        }
    }

    /// The rules in words, for the top of the claims table.
    pub fn describe(&self) -> String {
        format!(
            "Each claim is judged by the rule of its kind, on the slope of log(mean loss) on log(n) fitted over the upper half of the n grid (the theorems are asymptotic), with its bootstrap 95% interval (widened, where a truth-variability experiment exists, by its spread across truth draws: half-widths added in quadrature with 1.96 sd). \
**Upper bound** (O_P(n^s), or (log n / n)^{{1/2}}, whose local slope at n is -1/2 + 1/(2 ln n), evaluated at the geometric midpoint of the fitted range): *contradicted* only if the whole interval lies above the predicted local exponent plus a pre-asymptotic allowance of {a}; a curve that falls faster than the bound does not contradict it; *consistent, sharp* when the slope is within {s} of the local exponent, *consistent* otherwise. \
**Minimax lower bound** (no estimator does better in the worst case over a class of truths): *not testable at a fixed truth*; judged only by the lower-bound experiment, whose truths move with n along the paper's two-point construction: *contradicted* if the worst-of-pair loss falls clearly faster than the construction allows (the whole interval below the predicted exponent minus {a}). \
**Slow rate** (slower than any polynomial, possibly 1/log n, whose local slope at n is -1/ln n): *contradicted* if the whole interval lies below the local slope of 1/log n minus {a} (the curve falls like a power law); *inconclusive* if the interval is wider than {w}; *consistent* otherwise. \
**Comparative** (sigmoid needs fewer samples than softmax): only with the same metric, the same kind of target and the same data for both gates; see the comparison table. Rows with no theorem behind them get *no claim*.",
            a = self.allowance,
            s = self.sharp,
            w = self.max_width
        )
    }
}

/// The comparison of two gates on the same data: the paired difference of upper-half slopes
/// (sigmoid minus softmax) with its interval, and log2 of n_softmax(eps) / n_sigmoid(eps) with
/// its interval at levels eps that both mean curves reach inside the measured n range.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    pub slope_diff: f64,
    pub slope_diff_low: f64,
    pub slope_diff_high: f64,
    /// (eps, log2 ratio, low, high) for every common level.
    pub ratios: Vec<(f64, f64, f64, f64)>,
}

/// The verdict of a comparison.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ComparativeVerdict {
    SigmoidBetter,
    SoftmaxBetter,
    NoDifference,
    /// Better at some levels, worse at others.
    Mixed,
    /// No level that both curves reach inside the measured range.
    NotComparable,
}

impl ComparativeVerdict {
    pub fn label(self) -> &'static str {
        match self {
            ComparativeVerdict::SigmoidBetter => "sigmoid better",
            ComparativeVerdict::SoftmaxBetter => "softmax better",
            ComparativeVerdict::NoDifference => "no difference",
            ComparativeVerdict::Mixed => "mixed",
            ComparativeVerdict::NotComparable => "not comparable (no common error level in range)",
        }
    }
}

/// Sigmoid is better when, at every common level, the interval of log2(n_softmax / n_sigmoid) lies
/// above 0 (and softmax better when below 0 at every level); mixed when both occur; no difference
/// otherwise. Levels that neither curve reaches inside the range are never counted.
pub fn judge_comparison(c: &Comparison) -> ComparativeVerdict {
    if c.ratios.is_empty() {
        return ComparativeVerdict::NotComparable;
    }
    let above = c.ratios.iter().filter(|r| r.2 > 0.0).count();
    let below = c.ratios.iter().filter(|r| r.3 < 0.0).count();
    if above == c.ratios.len() {
        ComparativeVerdict::SigmoidBetter
    } else if below == c.ratios.len() {
        ComparativeVerdict::SoftmaxBetter
    } else if above > 0 && below > 0 {
        ComparativeVerdict::Mixed
    } else {
        ComparativeVerdict::NoDifference
    }
}

/// The sample size at which a mean curve first reaches `eps`, by log-log interpolation between
/// the measured points (n ascending); None if the curve does not cross eps inside the range (it is
/// below eps already at the smallest n, or never gets there).
pub fn n_at_level(points: &[(f64, f64)], eps: f64) -> Option<f64> {
    if points.first().is_none_or(|&(_, m)| m <= eps) {
        return None;
    }
    for w in points.windows(2) {
        let ((n0, m0), (n1, m1)) = (w[0], w[1]);
        if m0 > eps && m1 <= eps && m0 > 0.0 && m1 > 0.0 {
            let t = (eps.ln() - m0.ln()) / (m1.ln() - m0.ln());
            return Some((n0.ln() + t * (n1.ln() - n0.ln())).exp());
        }
    }
    None
}

/// How the bootstrap of [`compare_curves`] resamples the replications of one n.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resampling {
    /// Both curves were measured on the same samples (replication r of both saw one sample): the
    /// same replication indices are applied to both (a paired bootstrap). The cells of one n must
    /// hold equally many values.
    Paired,
    /// The curves were measured on independent samples (each gate under its own truth): each
    /// side's replications are resampled on their own.
    Unpaired,
}

/// A slope with its bootstrap 95% interval.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SlopeInterval {
    pub slope: f64,
    pub low: f64,
    pub high: f64,
}

/// [`compare_curves`]'s answer: the comparison and each side's own slope.
#[derive(Clone, Debug, PartialEq)]
pub struct CurveComparison {
    pub comparison: Comparison,
    pub sigmoid: SlopeInterval,
    pub softmax: SlopeInterval,
}

/// Compare two gates' curves. `sigmoid[c]` and `softmax[c]` are the cells of one n (the same n
/// on both sides, at least four cells, none empty). The bootstrap resamples replication indices
/// within each n as `resampling` says. Slopes are fitted on the upper half of the cells; the
/// levels are `levels` log-spaced values strictly between the larger of the two curves' smallest
/// means and the smaller of their largest means, so that both curves cross every level inside the
/// range; a level counts only if the point estimate exists and at least 90% of the resamples
/// reach it too.
pub fn compare_curves<R: rand::Rng + ?Sized>(
    sigmoid: &[crate::Cell],
    softmax: &[crate::Cell],
    levels: usize,
    n_boot: usize,
    resampling: Resampling,
    rng: &mut R,
) -> Option<CurveComparison> {
    use rand::RngExt;
    if sigmoid.len() != softmax.len() || sigmoid.len() < 4 {
        return None;
    }
    let usable = |a: &crate::Cell, b: &crate::Cell| {
        a.n == b.n
            && !a.losses.is_empty()
            && !b.losses.is_empty()
            && (resampling == Resampling::Unpaired || a.losses.len() == b.losses.len())
    };
    if !sigmoid.iter().zip(softmax).all(|(a, b)| usable(a, b)) {
        return None;
    }
    let means = |cells: &[crate::Cell], idx: &[Vec<usize>]| -> Vec<(f64, f64)> {
        cells.iter().zip(idx).map(|(c, ix)| (c.n, ix.iter().map(|&i| c.losses[i]).sum::<f64>() / ix.len() as f64)).collect()
    };
    let upper_slope = |pts: &[(f64, f64)]| -> f64 {
        let half = &pts[pts.len() / 2..];
        let (x, y): (Vec<f64>, Vec<f64>) = half.iter().map(|(n, m)| (n.ln(), m.ln())).unzip();
        crate::ols(&x, &y).1
    };
    let identity = |cells: &[crate::Cell]| -> Vec<Vec<usize>> { cells.iter().map(|c| (0..c.losses.len()).collect()).collect() };
    let (ms, mf) = (means(sigmoid, &identity(sigmoid)), means(softmax, &identity(softmax)));
    let lo_of = |m: &[(f64, f64)]| m.iter().map(|p| p.1).fold(f64::INFINITY, f64::min);
    let hi_of = |m: &[(f64, f64)]| m.iter().map(|p| p.1).fold(0.0, f64::max);
    let (bottom, top) = (lo_of(&ms).max(lo_of(&mf)), hi_of(&ms).min(hi_of(&mf)));
    let eps: Vec<f64> = if bottom > 0.0 && top > bottom {
        (1..=levels).map(|i| (bottom.ln() + (top.ln() - bottom.ln()) * i as f64 / (levels + 1) as f64).exp()).collect()
    } else {
        Vec::new()
    };
    let log2_ratio =
        |ms: &[(f64, f64)], mf: &[(f64, f64)], e: f64| -> Option<f64> { Some((n_at_level(mf, e)? / n_at_level(ms, e)?).log2()) };
    let (slope_s, slope_f) = (upper_slope(&ms), upper_slope(&mf));
    let point: Vec<Option<f64>> = eps.iter().map(|&e| log2_ratio(&ms, &mf, e)).collect();
    let (mut boot_s, mut boot_f, mut boot_diff) = (Vec::with_capacity(n_boot), Vec::with_capacity(n_boot), Vec::with_capacity(n_boot));
    let mut boot_ratio: Vec<Vec<f64>> = vec![Vec::new(); eps.len()];
    let draw = |cells: &[crate::Cell], rng: &mut R| -> Vec<Vec<usize>> {
        cells.iter().map(|c| (0..c.losses.len()).map(|_| rng.random_range(0..c.losses.len())).collect()).collect()
    };
    for _ in 0..n_boot {
        let is = draw(sigmoid, rng);
        let jf = match resampling {
            Resampling::Paired => is.clone(),
            Resampling::Unpaired => draw(softmax, rng),
        };
        let (bs, bf) = (means(sigmoid, &is), means(softmax, &jf));
        let (ss, sf) = (upper_slope(&bs), upper_slope(&bf));
        boot_s.push(ss);
        boot_f.push(sf);
        boot_diff.push(ss - sf);
        for (k, &e) in eps.iter().enumerate() {
            if let Some(r) = log2_ratio(&bs, &bf, e) {
                boot_ratio[k].push(r);
            }
        }
    }
    let interval = |v: &mut Vec<f64>| -> (f64, f64) {
        if v.is_empty() {
            return (f64::NAN, f64::NAN);
        }
        v.sort_by(f64::total_cmp);
        let q = |p: f64| v[((p * (v.len() - 1) as f64).round() as usize).min(v.len() - 1)];
        (q(0.025), q(0.975))
    };
    let (dl, dh) = interval(&mut boot_diff);
    let mut ratios = Vec::new();
    for (k, &e) in eps.iter().enumerate() {
        if let Some(r) = point[k] {
            if boot_ratio[k].len() * 10 >= n_boot * 9 {
                let (l, h) = interval(&mut boot_ratio[k]);
                ratios.push((e, r, l, h));
            }
        }
    }
    let side = |slope: f64, v: &mut Vec<f64>| {
        let (low, high) = interval(v);
        SlopeInterval { slope, low, high }
    };
    Some(CurveComparison {
        comparison: Comparison { slope_diff: slope_s - slope_f, slope_diff_low: dl, slope_diff_high: dh, ratios },
        sigmoid: side(slope_s, &mut boot_s),
        softmax: side(slope_f, &mut boot_f),
    })
}

/// Compare two gates fitted on the same data: [`compare_curves`] with the paired bootstrap.
pub fn compare_gates<R: rand::Rng + ?Sized>(
    sigmoid: &[crate::Cell],
    softmax: &[crate::Cell],
    levels: usize,
    n_boot: usize,
    rng: &mut R,
) -> Option<Comparison> {
    compare_curves(sigmoid, softmax, levels, n_boot, Resampling::Paired, rng).map(|c| c.comparison)
}
