//! Write the inputs of least-squares units (data, start, box) as raw little-endian f64 files, so
//! that another implementation (the scipy peer of `make bench`) fits exactly the same problems.
//! `cargo run --release -p smoe-studies --example export_units -- CONFIG SETTING GATE N REPS OUT_DIR`
//! writes OUT_DIR/<setting>_<gate>_n<N>_r<rep>/{meta.json, x.f64, y.f64, start.f64, lower.f64, upper.f64},
//! then fits each unit with the config's `lse` on the calling thread and writes what the fit did
//! to rust.json (iterations, evaluations, objective, whether it meets the criterion, wall time),
//! the project's side of the peer comparison (`workflow/scipy_peer.sh`).
#[allow(dead_code)] // this probe needs only `lse_units` of the shared module
mod common;

use smoe_experiment::plan::Experiment;
use smoe_model::Gate;
use std::io::Write;
use std::path::Path;

fn write_f64(path: &Path, v: &[f64]) {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).expect("create"));
    for x in v {
        f.write_all(&x.to_le_bytes()).expect("write");
    }
}

fn main() {
    let a: Vec<String> = std::env::args().collect();
    if a.len() != 7 {
        eprintln!("usage: export_units CONFIG SETTING GATE N REPS OUT_DIR");
        std::process::exit(2);
    }
    let exp = Experiment::load(Path::new(&a[1])).unwrap_or_else(|e| panic!("{e}"));
    let gate = match a[3].as_str() {
        "sigmoid" => Gate::Sigmoid,
        "softmax" => Gate::Softmax,
        g => panic!("GATE must be sigmoid or softmax, not {g}"),
    };
    let n: u64 = a[4].parse().expect("N");
    let reps: u32 = a[5].parse().expect("REPS");
    let out = Path::new(&a[6]);
    assert!(reps >= 1, "REPS must be at least 1");
    for u in common::lse_units(&exp, &a[2], gate, n, 0..=reps - 1) {
        let s = &exp.settings[u.setting];
        let truth = exp.truth(u.setting);
        let inp = exp.unit_inputs(&u, &truth);
        let dir = out.join(format!("{}_{}_n{}_r{}", s.name, gate.name(), u.n, u.rep));
        std::fs::create_dir_all(&dir).expect("mkdir");
        write_f64(&dir.join("x.f64"), &inp.data.x);
        write_f64(&dir.join("y.f64"), &inp.data.y);
        write_f64(&dir.join("start.f64"), &inp.start.theta);
        write_f64(&dir.join("truth.f64"), &inp.truth.theta);
        write_f64(&dir.join("lower.f64"), &inp.bounds.lower);
        write_f64(&dir.join("upper.f64"), &inp.bounds.upper);
        let est = serde_json::to_value(&exp.config.estimators["lse"]).expect("json");
        let meta = serde_json::json!({
            "experiment": exp.id(), "setting": s.name, "gate": gate.name(), "expert": inp.spec.expert.to_string(),
            "k": inp.spec.k, "d": inp.spec.d, "n": u.n, "rep": u.rep, "estimator": est,
        });
        std::fs::write(dir.join("meta.json"), serde_json::to_string_pretty(&meta).expect("json")).expect("write");
        let mut stream = inp.stream;
        let t = std::time::Instant::now();
        let fit = exp.estimators[u.estimator].1.fit(&inp.start, &inp.data, &inp.bounds, &mut stream);
        let wall = t.elapsed().as_secs_f64();
        let r = &fit.report;
        let rust = serde_json::json!({
            "iterations": r.iterations, "evaluations": r.evaluations, "objective": r.objective,
            "meets_criterion": r.termination.meets_criterion(), "termination": format!("{:?}", r.termination),
            "proj_grad_norm": r.proj_grad_norm, "noise_grad": r.noise_grad, "wall_s": wall,
        });
        std::fs::write(dir.join("rust.json"), serde_json::to_string_pretty(&rust).expect("json")).expect("write");
        println!("{}", dir.display());
    }
}
