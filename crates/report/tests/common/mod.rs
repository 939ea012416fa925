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
    /// The smoke configs of the other roles: protocol search, truth variability, lower bound,
    /// phase diagram.
    pub others: Vec<Experiment>,
}

impl Fixture {
    /// Every experiment of the fixture.
    pub fn all(&self) -> Vec<Experiment> {
        [self.smoke.clone(), self.none.clone()].into_iter().chain(self.others.iter().cloned()).collect()
    }
}

/// A paper curve for the smoke data, so that the replication and protocol-search tables have
/// something to read (written where `smoe tables` looks: <root>/workflow/paper/reported.csv).
pub const SMOKE_PAPER: &str =
    "id,version,figure,panel,also,experiment,setting,gate_fit,quantity,target,legend,coefficient,exponent,at_1e3,at_1e5,read
smoke_relu,test,fixture,relu_r1,,smoke,relu_r1,sigmoid,D1,G*,5 n^-0.5,5,-0.5,0.16,,a made-up curve for the tests
smoke_soft,test,fixture,relu_soft,,smoke,relu_soft,softmax,Dsoftmax,G*,n^-0.3,,-0.3,,,exponent only
";

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
        let paper_dir = dir.join("workflow").join("paper");
        std::fs::create_dir_all(&paper_dir).unwrap();
        std::fs::write(paper_dir.join("reported.csv"), SMOKE_PAPER).unwrap();
        let (smoke, none) = (config("smoke.yaml"), config("smoke_init_none.yaml"));
        run_all(&root, &smoke, 2, 1);
        run_all(&root, &none, 2, 1);
        let others: Vec<Experiment> =
            ["smoke_ps.yaml", "smoke_tv.yaml", "smoke_lb.yaml", "smoke_phase.yaml"].iter().map(|c| config(c)).collect();
        for e in &others {
            run_all(&root, e, 2, 1);
        }
        Fixture { root, smoke, none, others }
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
