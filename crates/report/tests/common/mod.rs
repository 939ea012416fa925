//! One smoke run shared by every end-to-end test of this binary: the smoke config and its
//! family member without initialisation noise, run once (2 threads), merged, rates fitted.

use smoe_experiment::paths::Root;
use smoe_experiment::plan::{Experiment, Shard};
use smoe_experiment::run::{run, Silent};
use smoe_report::commands::{merge, write_rates};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

pub struct Fixture {
    pub root: Root,
    pub smoke: Experiment,
    pub none: Experiment,
}

pub fn config(name: &str) -> Experiment {
    Experiment::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../workflow").join(name)).unwrap()
}

pub fn with_threads<T: Send>(n: usize, f: impl FnOnce() -> T + Send) -> T {
    rayon::ThreadPoolBuilder::new().num_threads(n).build().unwrap().install(f)
}

/// Run, merge and fit rates of `exp` under `root` with `threads` threads in `shards` shards.
pub fn run_all(root: &Root, exp: &Experiment, threads: usize, shards: usize) {
    let paths = root.paths(exp);
    with_threads(threads, || {
        for i in 0..shards {
            run(exp, &paths, Shard { index: i, count: shards }, None, &Silent).unwrap();
        }
        merge(exp, &paths).unwrap();
        write_rates(exp, &paths).unwrap();
    });
}

/// The shared run (in the target directory, replaced on each test run).
pub fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("report-smoke-fixture");
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let root = Root::open(&dir).unwrap();
        let (smoke, none) = (config("smoke.yaml"), config("smoke_init_none.yaml"));
        run_all(&root, &smoke, 2, 1);
        run_all(&root, &none, 2, 1);
        Fixture { root, smoke, none }
    })
}

/// A fresh root that starts with the fixture's G_bar cache (so only the units run).
pub fn root_with_cached_gbars(dir: &Path) -> Root {
    let from = fixture().root.cache_dir();
    let to = Root::open(dir).unwrap().cache_dir();
    std::fs::create_dir_all(&to).unwrap();
    for e in std::fs::read_dir(&from).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
    Root::open(dir).unwrap()
}
