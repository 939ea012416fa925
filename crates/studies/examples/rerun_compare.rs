//! The same experiment fitted by two versions of the code (issue 23.3): every least-squares unit
//! of OLD and NEW (two fits.parquet of one config: same data, start, box and criterion) matched by
//! its key, with the objective each reached, against the objective's sampling noise, and how the
//! mean losses and their upper-half slopes moved.
//!
//!   git show COMMIT:data/E1/fits.parquet > /tmp/E1_old.parquet
//!   cargo run --release -p smoe-studies --example rerun_compare -- /tmp/E1_old.parquet data/E1/fits.parquet lse
//!
//! Reads only the columns both versions of the table have.
use polars_io::parquet::read::ParquetReader;
use polars_io::SerReader;
use std::collections::BTreeMap;

type Key = (String, String, u64, u32);
/// One unit fitted by both versions: objective old and new, iterations old and new, converged
/// old and new, its n.
type Pair = (f64, f64, u64, u64, bool, bool, u64);
/// One curve's (n, mean) points, old and new.
type Curves = (Vec<(u64, f64)>, Vec<(u64, f64)>);

struct Side {
    /// (setting, gate_fit, n, rep) -> (objective, iterations, converged)
    fits: BTreeMap<Key, (f64, u64, bool)>,
    /// (setting, gate_fit, loss, n) -> losses
    losses: BTreeMap<(String, String, String, u64), Vec<f64>>,
}

fn read(path: &str, estimator: &str) -> Side {
    let df = ParquetReader::new(std::fs::File::open(path).unwrap_or_else(|e| panic!("{path}: {e}"))).finish().unwrap();
    let s = |c: &str| df.column(c).unwrap().str().unwrap().clone();
    let (setting, gate, est, loss_name, term) = (s("setting"), s("gate_fit"), s("estimator"), s("loss_name"), s("termination"));
    let n = df.column("n").unwrap().u64().unwrap().clone();
    let rep = df.column("rep").unwrap().u32().unwrap().clone();
    let it = df.column("iterations").unwrap().u64().unwrap().clone();
    let f = |c: &str| df.column(c).unwrap().f64().unwrap().clone();
    let (loss, mse) = (f("loss"), f("train_mse"));
    let mut side = Side { fits: BTreeMap::new(), losses: BTreeMap::new() };
    for i in 0..df.height() {
        if est.get(i) != Some(estimator) {
            continue;
        }
        let (st, g) = (setting.get(i).unwrap().to_string(), gate.get(i).unwrap().to_string());
        let (nv, r) = (n.get(i).unwrap(), rep.get(i).unwrap());
        side.fits.insert((st.clone(), g.clone(), nv, r), (mse.get(i).unwrap(), it.get(i).unwrap(), term.get(i) == Some("converged")));
        side.losses.entry((st, g, loss_name.get(i).unwrap().to_string(), nv)).or_default().push(loss.get(i).unwrap());
    }
    side
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

/// OLS slope of log(mean) on log(n) over the upper half of the n grid.
fn upper_slope(pts: &[(u64, f64)]) -> f64 {
    let half = &pts[pts.len() / 2..];
    let (x, y): (Vec<f64>, Vec<f64>) = half.iter().map(|&(n, m)| ((n as f64).ln(), m.ln())).unzip();
    smoe_metrics::ols(&x, &y).1
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() != 3 {
        eprintln!("usage: rerun_compare OLD.parquet NEW.parquet ESTIMATOR");
        std::process::exit(2);
    }
    let (old, new) = (read(&args[0], &args[2]), read(&args[1], &args[2]));
    println!("# {} against {} ({})\n", args[1], args[0], args[2]);
    println!("| setting / fit | units | iterations old -> new | converged old -> new | new objective below old | within +1 sd of old (sd = sqrt(2/n) relative) | median new/old - 1 | largest new/old - 1 |");
    println!("|---|---|---|---|---|---|---|---|");
    let mut groups: BTreeMap<(String, String), Vec<Pair>> = BTreeMap::new();
    for (k, &(mo, io, co)) in &old.fits {
        if let Some(&(mn, inew, cn)) = new.fits.get(k) {
            groups.entry((k.0.clone(), k.1.clone())).or_default().push((mo, mn, io, inew, co, cn, k.2));
        }
    }
    for ((st, g), v) in &groups {
        let (io, inew) = (v.iter().map(|x| x.2).sum::<u64>(), v.iter().map(|x| x.3).sum::<u64>());
        let (co, cn) = (v.iter().filter(|x| x.4).count(), v.iter().filter(|x| x.5).count());
        let below = v.iter().filter(|x| x.1 <= x.0).count();
        let within = v.iter().filter(|x| x.1 <= x.0 * (1.0 + (2.0 / x.6 as f64).sqrt())).count();
        let mut rel: Vec<f64> = v.iter().map(|x| x.1 / x.0 - 1.0).collect();
        rel.sort_by(f64::total_cmp);
        println!(
            "| {st} / {g} | {} | {io} -> {inew} | {co} -> {cn} | {below} | {within} | {:+.2e} | {:+.2e} |",
            v.len(),
            rel[rel.len() / 2],
            rel[rel.len() - 1]
        );
    }
    println!("\n| setting / fit | quantity | mean at n_max old -> new | upper-half slope old -> new |");
    println!("|---|---|---|---|");
    let mut curves: BTreeMap<(String, String, String), Curves> = BTreeMap::new();
    for (k, vo) in &old.losses {
        if let Some(vn) = new.losses.get(k) {
            let c = curves.entry((k.0.clone(), k.1.clone(), k.2.clone())).or_default();
            c.0.push((k.3, mean(vo)));
            c.1.push((k.3, mean(vn)));
        }
    }
    for ((st, g, q), (o, n)) in &curves {
        if o.len() < 4 || o.iter().chain(n).any(|p| p.1.is_nan() || p.1 <= 0.0) {
            continue;
        }
        println!(
            "| {st} / {g} | {q} | {:.4e} -> {:.4e} | {:.3} -> {:.3} |",
            o[o.len() - 1].1,
            n[n.len() - 1].1,
            upper_slope(o),
            upper_slope(n)
        );
    }
}
