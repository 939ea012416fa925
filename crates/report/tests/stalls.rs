//! The stall analysis refits a unit outside the run (by the run's derivation of a unit's data,
//! start and stream, `Experiment::unit_inputs`): it must land exactly where the run did, or its
//! kink counts would describe another fit.

use smoe_estimator::Termination;
use smoe_experiment::paths::Root;
use smoe_experiment::plan::{Experiment, Shard};
use smoe_experiment::run::{run, Silent};
use smoe_report::commands::merge;
use smoe_report::stalls::{record_path, refit, stalls};
use smoe_report::store::read_fits;
use std::path::Path;

#[test]
fn a_refit_lands_where_the_run_did() {
    let exp = Experiment::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../workflow/smoke.yaml")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let root = Root { dir: dir.path().to_path_buf(), code: "code".into() };
    let paths = root.paths(&exp);
    run(&exp, &paths, Shard::ALL, None, &Silent).unwrap();
    merge(&exp, &paths).unwrap();
    let fits = read_fits(&paths.fits()).unwrap();
    let mut checked = 0;
    for u in exp.units() {
        let key = exp.unit_key(&u);
        let s = &exp.settings[u.setting];
        let row = fits
            .iter()
            .find(|r| {
                r.setting == s.name
                    && r.gate_fit == s.fits[u.fit].gate
                    && r.estimator == exp.estimators[u.estimator].0
                    && r.n == u.n
                    && r.rep == u.rep
            })
            .unwrap_or_else(|| panic!("{key} has a row"));
        let (sample, fit) = refit(&exp, &u);
        assert_eq!(sample.n() as u64, u.n);
        assert_eq!(fit.report.termination, row.termination, "{key}");
        assert_eq!(fit.report.iterations, row.iterations, "{key}");
        // the row's float went through the journal's JSON, exact to the last bit or so
        assert!(
            (fit.report.objective - row.train_mse).abs() <= 1e-14 * row.train_mse,
            "{key}: {} vs {}",
            fit.report.objective,
            row.train_mse
        );
        checked += 1;
    }
    assert!(checked >= 4, "the smoke config has units of more than one estimator");

    // the smoke run has no stalled fit: no analysis and no record, and a stale record goes
    assert!(fits.iter().all(|r| r.termination != Termination::LineSearchFailed));
    let record = record_path(&paths);
    std::fs::write(&record, "{}").unwrap();
    assert!(stalls(&exp, &paths, &fits).unwrap().is_empty());
    assert!(!record.exists(), "a record of stalls the fits no longer have is removed");
}
