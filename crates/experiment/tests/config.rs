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
    // the paper's three experiments, three beyond it, two sensitivity variants, two smoke configs
    assert_eq!(loaded.len(), 10, "{loaded:?}");
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
    check("losses: [{kind: d1}]", "losses: [{kind: softmax}]", &["softmax loss needs a softmax fit"]);
}

#[test]
fn atom_numbers_out_of_range() {
    check("zero_gate_slope: [2]", "zero_gate_slope: [5]", &["zero_gate_slope", "5", "1..=2"]);
    check("split_atom: 1", "split_atom: 3", &["split_atom", "3", "1..=2"]);
}

#[test]
fn gbar_optimizer_must_be_a_least_squares_fit() {
    check(
        "optimizer: {kind: lbfgs, memory: 10, tol_grad: 1.0e-10, max_iters: 2000}",
        "optimizer: {kind: sgd, epochs: 10, learning_rate: 0.1, batch_size: 32, shuffle: true}",
        &["gbar.optimizer.kind", "sgd", "lm or lbfgs"],
    );
    check(
        "optimizer: {kind: lbfgs, memory: 10, tol_grad: 1.0e-10, max_iters: 2000}",
        "optimizer: {kind: lm, tol_grad: 0.0, tol_rel_cost: 1.0e-12, max_iters: 50}",
        &["gbar.optimizer", "tol_grad", "> 0"],
    );
    check(
        "optimizer: {kind: lbfgs, memory: 10, tol_grad: 1.0e-10, max_iters: 2000}",
        "optimizer: {kind: newton, max_iters: 5}",
        &["newton"],
    );
}
