//! Config validation: every error names the file, the field, the value and what is allowed.

use smoe_experiment::chain;
use smoe_experiment::plan::Experiment;
use std::path::Path;

const SMOKE: &str = include_str!("../../../workflow/smoke.yaml");

/// Replace `from` by `to` in the smoke config and return the load error.
fn check(from: &str, to: &str, expect: &[&str]) {
    assert!(SMOKE.contains(from), "fixture lacks {from:?}");
    let text = SMOKE.replacen(from, to, 1);
    // the message with its causes, as the binary prints it
    let err = chain(&Experiment::from_str(&text, Path::new("bad.yaml")).expect_err("should be rejected"));
    assert!(err.starts_with("bad.yaml: "), "{err}");
    for e in expect {
        assert!(err.contains(e), "error {err:?} lacks {e:?}");
    }
}

/// Every config under workflow/ loads (found by listing the directory, so a new config is
/// checked without touching this test).
#[test]
fn every_shipped_config_loads() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../workflow");
    let mut loaded = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let p = entry.unwrap().path();
        if p.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            let exp = Experiment::load(&p).unwrap_or_else(|e| panic!("{}", chain(&e)));
            assert!(!exp.units().is_empty(), "{}", p.display());
            loaded.push(exp.id().to_string());
        }
    }
    loaded.sort();
    // the paper's three experiments, three beyond it, two sensitivity variants, two smoke configs,
    // three truth-variability, three protocol-search and two lower-bound experiments, and the six
    // columns of the phase diagram, four smoke configs of those roles (protocol search, truth
    // variability, lower bound, phase diagram), one budget check (BC3) and the cluster test's
    // load (smoke_cluster)
    assert_eq!(loaded.len(), 30, "{loaded:?}");
}

#[test]
fn theory_names_a_quantity_of_the_fit() {
    check("{quantity: D1, exponent: -0.5", "{quantity: D3, exponent: -0.5", &["theory.quantity", "\"D3\"", "D1", "l2_error"]);
    check("{quantity: D1, exponent: -0.5", "{quantity: D9, exponent: -0.5", &["quantity", "D9"]);
}

#[test]
fn unknown_key() {
    check("replications: 3", "replications: 3\nreplicates: 4", &["unknown field `replicates`", "replications"]);
}

#[test]
fn wrong_type() {
    check("replications: 3", "replications: three", &["replications", "three"]);
}

#[test]
fn non_positive_n() {
    check("values: [200, 400, 800]", "values: [0, 400, 800]", &["n_grid.values", "[0, 400, 800]", ">= 1"]);
    check("values: [200, 400, 800]", "values: [-200, 400]", &["-200"]);
}

#[test]
fn empty_n_grid() {
    check("values: [200, 400, 800]", "values: []", &["n_grid.values", "non-empty"]);
}

#[test]
fn k_below_k_star() {
    check("k: 3", "k: 1", &["field `k`", "1", "k_star = 2"]);
}

#[test]
fn unknown_expert() {
    check("expert: relu", "expert: swish", &["swish", "relu, gelu, linear"]);
}

#[test]
fn unknown_loss() {
    check("losses: [{kind: d1}]", "losses: [{kind: d4}]", &["d4", "d1", "d3", "softmax"]);
}

#[test]
fn negative_variance() {
    check("noise_var: 0.01", "noise_var: -0.01", &["noise_var", "-0.01", ">= 0"]);
    check(
        "truth: {gate: sigmoid, expert: relu, zero_gate_slope: [1, 2]}",
        "truth: {gate: sigmoid, expert: relu, zero_gate_slope: [1, 2], gate_var: -1}",
        &["gate_var", "-1"],
    );
}

#[test]
fn non_finite_values() {
    check("noise_var: 0.01", "noise_var: .nan", &["noise_var", "NaN"]);
    check("learning_rate: 0.1", "learning_rate: .inf", &["learning_rate", "inf"]);
    check("sd: 0.01", "sd: .nan", &["init.noise.sd", "NaN"]);
}

#[test]
fn loss_that_does_not_fit_the_gate() {
    check("losses: [{kind: d1}]", "losses: [{kind: softmax}]", &["Dsoftmax needs a softmax fit"]);
    check("losses: [{kind: d1}]", "losses: [{kind: d1h}]", &[]);
    check("losses: [{kind: softmax}]", "losses: [{kind: d1h}]", &["D1h needs a sigmoid fit"]);
}

#[test]
fn atom_numbers_out_of_range() {
    check("zero_gate_slope: [2]", "zero_gate_slope: [5]", &["zero_gate_slope", "5", "1..=2"]);
    check("split_atom: 1", "split_atom: 3", &["split_atom", "3", "1..=2"]);
}

#[test]
fn gbar_optimizer_must_be_a_least_squares_fit() {
    const GBAR_LM: &str = "optimizer: {kind: lm, tol_grad: 0.01, tol_rel_cost: 1.0e-9, max_iters: 400, hessian_n: 2000}";
    check(
        GBAR_LM,
        "optimizer: {kind: sgd, epochs: 10, learning_rate: 0.1, batch_size: 32, shuffle: true}",
        &["gbar.optimizer.kind", "sgd", "lm or lbfgs"],
    );
    check(GBAR_LM, "optimizer: {kind: lm, tol_grad: 0.0, tol_rel_cost: 1.0e-12, max_iters: 50}", &["gbar.optimizer", "tol_grad", "> 0"]);
    check(GBAR_LM, "optimizer: {kind: newton, max_iters: 5}", &["newton"]);
}

const BOX: &str =
    "theta_box: {gate_intercept: [-6.0, 6.0], gate_slope: [-2.0, 2.0], expert_slope: [-2.0, 2.0], expert_intercept: [-2.0, 2.0]}";

/// The least-squares fit over Theta needs Theta; a box must be finite with lo < 0 < hi.
#[test]
fn theta_box_is_required_and_checked() {
    assert!(SMOKE.contains(BOX), "fixture lacks the box");
    let without = SMOKE.replacen(BOX, "", 1);
    let err = chain(&Experiment::from_str(&without, Path::new("bad.yaml")).expect_err("no box"));
    assert!(err.contains("theta_box") && err.contains("missing") && err.contains("gate_intercept"), "{err}");
    check(
        BOX,
        &BOX.replace("expert_slope: [-2.0, 2.0]", "expert_slope: [0.5, 2.0]"),
        &["theta_box.expert_slope", "[0.5, 2]", "lo < 0 < hi"],
    );
    check(BOX, &BOX.replace("gate_slope: [-2.0, 2.0]", "gate_slope: [-2.0, .inf]"), &["theta_box.gate_slope", "finite"]);
}

#[test]
fn protocol_grid_and_overrides_are_checked() {
    let grid = "rates: {n_boot: 200}";
    let with = |g: &str| format!("{g}\n{grid}");
    check(
        grid,
        &with("protocol_grid: {epochs: 2, learning_rate: 0.1, shuffle: true, batch_sizes: [8, full], init_noise_sd: [0.0, -1.0], mass_split: [share]}"),
        &["protocol_grid.init_noise_sd", "-1", ">= 0"],
    );
    check(
        grid,
        &with("protocol_grid: {epochs: 2, learning_rate: 0.1, shuffle: true, batch_sizes: [0], init_noise_sd: [0.0], mass_split: [share]}"),
        &["protocol_grid.batch_sizes", "0"],
    );
    check(
        grid,
        &with("init_overrides: {nope: {noise: {kind: none}, split_atom: 1, mass_split: copy}}"),
        &["init_overrides", "nope", "sgd"],
    );
    check(grid, &with("truth_draws: 0"), &["truth_draws", "0"]);
    // a valid grid expands into named estimators with their own initialisation
    let text = SMOKE.replacen(
        grid,
        &with("protocol_grid: {epochs: 2, learning_rate: 0.1, shuffle: true, batch_sizes: [8, full], init_noise_sd: [0.0, 1.0e-3], mass_split: [share, copy]}"),
        1,
    );
    // the grid is what a protocol search runs: its role must say so
    let err = Experiment::from_str(&text, Path::new("grid.yaml")).unwrap_err().to_string();
    assert!(err.contains("role") && err.contains("protocol_search"), "{err}");
    let text = text.replacen("role: main", "role: protocol_search", 1);
    let exp = Experiment::from_str(&text, Path::new("grid.yaml")).unwrap();
    let names: Vec<&str> = exp.estimators.iter().map(|(n, _)| n.as_str()).collect();
    assert!(names.contains(&"sgd_b8_sd1e-3_copy") && names.contains(&"sgd_bfull_sd0_share"), "{names:?}");
    assert_eq!(exp.estimators.len(), 2 + 8);
    let i = exp.estimator_index("sgd_bfull_sd0_share").unwrap();
    assert_eq!(exp.inits[i].params().noise, smoe_estimator::InitNoise::None);
    let j = exp.estimator_index("sgd_b8_sd1e-3_copy").unwrap();
    assert_eq!(exp.inits[j].params().mass_split, smoe_estimator::MassSplit::Copy);
}

#[test]
fn truth_draws_expand_the_settings() {
    let text = SMOKE.replacen("rates: {n_boot: 200}", "truth_draws: 3\nrates: {n_boot: 200}", 1);
    let err = Experiment::from_str(&text, Path::new("draws.yaml")).unwrap_err().to_string();
    assert!(err.contains("role") && err.contains("truth_variability"), "{err}");
    let text = text.replacen("role: main", "role: !truth_variability {base: E1}", 1);
    let exp = Experiment::from_str(&text, Path::new("draws.yaml")).unwrap();
    let names: Vec<&str> = exp.settings.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names[..3], ["relu_r1_t1", "relu_r1_t2", "relu_r1_t3"]);
    // each draw is its own truth
    assert_ne!(exp.truth(0).theta, exp.truth(1).theta);
}

#[test]
fn two_point_settings_are_checked() {
    check(
        "truth: {gate: sigmoid, expert: relu, zero_gate_slope: [1, 2]}",
        "truth: {gate: sigmoid, expert: relu, zero_gate_slope: [2], two_point: {construction: thm4, member: two, atom: 1}}",
        &["two_point.atom", "zero gate slope"],
    );
    check(
        "truth: {gate: sigmoid, expert: relu, zero_gate_slope: [1, 2]}",
        "truth: {gate: sigmoid, expert: relu, zero_gate_slope: [1, 2], two_point: {construction: thm3, member: two, atom: 1}}",
        &["thm3", "zero_expert_slope"],
    );
}

#[test]
fn role_is_typed_and_checked_against_the_fields_it_needs() {
    let bad = SMOKE.replacen("role: main", "role: sensitivity", 1);
    // the parse error names the field and the allowed values (in its source)
    let err = format!("{:?}", Experiment::from_str(&bad, Path::new("r.yaml")).unwrap_err());
    assert!(err.contains("role") && err.contains("main") && err.contains("budget_check"), "{err}");
    // a role that needs a field the config lacks
    let tv = SMOKE.replacen("role: main", "role: !truth_variability {base: smoke}", 1);
    let err = Experiment::from_str(&tv, Path::new("r.yaml")).unwrap_err().to_string();
    assert!(err.contains("truth_draws"), "{err}");
    let two = SMOKE.replacen("role: main", "role: two_point", 1);
    let err = Experiment::from_str(&two, Path::new("r.yaml")).unwrap_err().to_string();
    assert!(err.contains("two_point"), "{err}");
    // a truth-variability base must be another experiment
    let own = SMOKE.replacen("rates: {n_boot: 200}", "truth_draws: 2\nrates: {n_boot: 200}", 1).replacen(
        "role: main",
        "role: !truth_variability {base: smoke}",
        1,
    );
    let err = Experiment::from_str(&own, Path::new("r.yaml")).unwrap_err().to_string();
    assert!(err.contains("role.truth_variability.base"), "{err}");
    let budget = SMOKE.replacen("role: main", "role: budget_check", 1).replacen("family: smoke\n", "", 1);
    let err = Experiment::from_str(&budget, Path::new("r.yaml")).unwrap_err().to_string();
    assert!(err.contains("family"), "{err}");
}

#[test]
fn only_descriptive_fields_may_differ_for_a_recertification() {
    use smoe_experiment::config::differs_only_in_description;
    let retitled = SMOKE.replacen("role: main", "role: two_point", 1).replacen("title: \"Smoke", "title: \"Another smoke", 1);
    assert_ne!(retitled, SMOKE);
    assert_eq!(differs_only_in_description(SMOKE, &retitled), Ok(()));
    let reseeded = SMOKE.replacen("seed: 7", "seed: 8", 1);
    assert!(differs_only_in_description(SMOKE, &reseeded).unwrap_err().contains("seed"));
}

/// Thm 3's pair on a ReLU expert whose drawn intercept is negative is refused: relu(b*) is zero on
/// the whole input range, so both members would share one regression function (LB3's former atom 1).
#[test]
fn a_dead_relu_expert_in_a_thm3_pair_is_refused() {
    let lb3 = include_str!("../../../workflow/lb3_lower_bound.yaml");
    assert!(Experiment::from_str(lb3, Path::new("lb3.yaml")).is_ok());
    let text = lb3.replace("zero_expert_slope: [4]", "zero_expert_slope: [1]").replace("atom: 4, c: 1.0", "atom: 1, c: 1.0");
    let err = chain(&Experiment::from_str(&text, Path::new("bad.yaml")).expect_err("a dead expert should be rejected"));
    for e in ["bad.yaml", "settings[0].truth.two_point.atom", "1 is not allowed", "b* > 0"] {
        assert!(err.contains(e), "error {err:?} lacks {e:?}");
    }
}
