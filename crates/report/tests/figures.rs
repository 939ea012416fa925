//! Figures: files exist, PNG has the right size, SVG has the text, output is deterministic.

use std::path::Path;

use smoe_report::figures::{draw_grid, draw_panel, fit_label, FitLine, Palette, Panel, Point, Series, GRID_CELL_SIZE, PANEL_SIZE};
use smoe_report::ReportError;
use tempfile::TempDir;

/// A fresh, empty directory, removed at the end of the test unless SMOE_KEEP_FIGURES is set.
fn temp_dir(tag: &str) -> TempDir {
    let keep = std::env::var_os("SMOE_KEEP_FIGURES").is_some();
    let dir = tempfile::Builder::new().prefix(&format!("smoe-figures-{tag}-")).disable_cleanup(keep).tempdir().unwrap();
    if keep {
        eprintln!("figures kept in {}", dir.path().display());
    }
    dir
}

fn series(label: &str, palette: Palette, c: f64, s: f64, noise: f64, dashed: bool) -> Series {
    let ns = [200.0, 500.0, 1000.0, 2000.0, 5000.0, 10000.0, 20000.0, 50000.0];
    let points = ns
        .iter()
        .enumerate()
        .map(|(i, &n)| {
            let mean = c * f64::powf(n, -s) * (1.0 + 0.08 * ((i as f64) * 1.7).sin());
            Point { n, mean, sd: noise * mean }
        })
        .collect();
    Series { label: label.into(), palette, points, fit: Some(FitLine { c, s }), dashed, reference: false }
}

/// Two series; the softmax one has a huge sd at the smallest n, so mean - 2 sd < 0 there.
fn test_panel() -> Panel {
    let sigmoid = series("Sigmoid gating", Palette::Sigmoid, 2.31, 0.49, 0.2, false);
    let mut softmax = series("Softmax gating", Palette::Softmax, 4.7, 0.26, 0.25, false);
    softmax.points[0].sd = 0.8 * softmax.points[0].mean; // lower bar end -0.6 * mean: clipped
    softmax.points[1].sd = 0.6 * softmax.points[1].mean; // lower bar end -0.2 * mean: clipped
    Panel {
        title: "Exact-specified, Voronoi loss D1".into(),
        y_label: "Voronoi loss".into(),
        x_label: "sample size n".into(),
        series: vec![sigmoid, softmax],
    }
}

/// Width and height from a PNG's IHDR chunk, after checking the signature.
fn png_size(bytes: &[u8]) -> (u32, u32) {
    assert!(bytes.len() > 33, "PNG too short");
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "PNG signature");
    assert_eq!(&bytes[12..16], b"IHDR", "first chunk is IHDR");
    let w = u32::from_be_bytes(bytes[16..20].try_into().unwrap());
    let h = u32::from_be_bytes(bytes[20..24].try_into().unwrap());
    (w, h)
}

fn no_temp_files_left(dir: &Path) {
    let leftovers: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.') || n.contains(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left behind: {leftovers:?}");
}

#[test]
fn fit_label_format() {
    assert_eq!(fit_label(&FitLine { c: 1.2345, s: 0.4912 }), "1.23 n^-0.49");
    assert_eq!(fit_label(&FitLine { c: 12.345, s: 0.25 }), "12.3 n^-0.25");
    assert_eq!(fit_label(&FitLine { c: 123.45, s: 1.0 }), "123 n^-1.00");
    assert_eq!(fit_label(&FitLine { c: 0.012345, s: 0.5 }), "0.0123 n^-0.50");
    assert_eq!(fit_label(&FitLine { c: 9.996, s: 0.5 }), "10.0 n^-0.50");
    assert_eq!(fit_label(&FitLine { c: 2.0, s: -0.3 }), "2.00 n^0.30");
    assert_eq!(fit_label(&FitLine { c: 12345.0, s: 0.5 }), "1.23e4 n^-0.50");
}

#[test]
fn panel_png_and_svg() {
    let dir = temp_dir("panel");
    let panel = test_panel();
    let stem = dir.path().join("rate_panel");
    let written = draw_panel(&panel, &stem).unwrap();
    let png = dir.path().join("rate_panel.png");
    let svg = dir.path().join("rate_panel.svg");
    assert_eq!(written, vec![png.clone(), svg.clone()]);
    assert!(png.is_file() && svg.is_file());

    assert_eq!(png_size(&std::fs::read(&png).unwrap()), PANEL_SIZE);

    let text = std::fs::read_to_string(&svg).unwrap();
    assert!(text.starts_with("<svg"), "SVG root element");
    assert!(text.contains("Exact-specified, Voronoi loss D1"), "title in SVG");
    assert!(text.contains("2.31 n^-0.49"), "sigmoid fitted-line label in SVG");
    assert!(text.contains("4.70 n^-0.26"), "softmax fitted-line label in SVG");
    assert!(text.contains("Sigmoid gating") && text.contains("Softmax gating"), "legend");
    assert!(text.contains("sample size n") && text.contains("Voronoi loss"), "axis labels");
    assert!(text.contains(">\n1e3\n<") || text.contains(">1e3<"), "scientific tick labels");
    assert!(text.contains("font-family=\"sans-serif\""), "embedded font family");

    // Same input, same bytes.
    let stem2 = dir.path().join("rate_panel_again");
    draw_panel(&panel, &stem2).unwrap();
    let again = std::fs::read(dir.path().join("rate_panel_again.svg")).unwrap();
    assert!(again == text.as_bytes(), "SVG output is not deterministic");
    let png_again = std::fs::read(dir.path().join("rate_panel_again.png")).unwrap();
    assert!(png_again == std::fs::read(&png).unwrap(), "PNG output is not deterministic");

    // Overwriting an existing figure works (rename over the old file).
    draw_panel(&panel, &stem).unwrap();
    assert!(std::fs::read(&svg).unwrap() == text.as_bytes());
    no_temp_files_left(dir.path());
}

#[test]
fn grid_png_and_svg() {
    let dir = temp_dir("grid");
    let a = test_panel();
    let mut b = test_panel();
    b.title = "Over-specified".into();
    b.series.push(Series {
        label: "Other estimator".into(),
        palette: Palette::Other(0),
        points: vec![
            Point { n: 300.0, mean: 0.5, sd: 0.05 },
            Point { n: 3000.0, mean: 0.2, sd: 0.03 },
            Point { n: 30000.0, mean: 0.08, sd: 0.01 },
        ],
        fit: None,
        dashed: true,
        reference: false,
    });
    let mut c = test_panel();
    c.title = "Third panel".into();
    let written = draw_grid(&[a, b, c], 2, &dir.path().join("grid.v1")).unwrap();
    let png = dir.path().join("grid.v1.png");
    assert_eq!(written, vec![png.clone(), dir.path().join("grid.v1.svg")]);
    let size = png_size(&std::fs::read(&png).unwrap());
    assert_eq!(size, (2 * GRID_CELL_SIZE.0, 2 * GRID_CELL_SIZE.1));
    let text = std::fs::read_to_string(dir.path().join("grid.v1.svg")).unwrap();
    for needle in ["Over-specified", "Third panel", "Other estimator"] {
        assert!(text.contains(needle), "{needle} in grid SVG");
    }
    no_temp_files_left(dir.path());
}

#[test]
fn invalid_data_is_an_error_naming_the_file() {
    let dir = temp_dir("invalid");
    let mut panel = test_panel();
    panel.series[0].points[2].mean = 0.0;
    let err = draw_panel(&panel, &dir.path().join("bad")).unwrap_err();
    assert!(matches!(err, ReportError::InvalidFigure { .. }), "{err}");
    assert!(err.to_string().contains("bad.png"), "{err}");

    let empty = Panel { series: vec![], ..test_panel() };
    assert!(matches!(draw_panel(&empty, &dir.path().join("empty")), Err(ReportError::InvalidFigure { .. })));
    assert!(matches!(draw_grid(&[test_panel()], 0, &dir.path().join("g")), Err(ReportError::InvalidFigure { .. })));
    assert!(!dir.path().join("bad.png").exists() && !dir.path().join("bad.svg").exists());
}

/// Short and long y ranges, a single-point series, a series without a fit, many colours.
#[test]
fn edge_case_panels_draw() {
    let dir = temp_dir("edge");
    let narrow = Panel {
        title: "Narrow range".into(),
        y_label: "loss".into(),
        x_label: "n".into(),
        series: vec![
            Series {
                label: "flat".into(),
                palette: Palette::Sigmoid,
                points: vec![
                    Point { n: 1000.0, mean: 0.031, sd: 0.001 },
                    Point { n: 1500.0, mean: 0.030, sd: 0.001 },
                    Point { n: 2000.0, mean: 0.029, sd: 0.001 },
                ],
                fit: Some(FitLine { c: 0.1, s: 0.16 }),
                dashed: false,
                reference: false,
            },
            Series {
                label: "single point".into(),
                palette: Palette::Softmax,
                points: vec![Point { n: 1200.0, mean: 0.033, sd: 0.0 }],
                fit: None,
                dashed: true,
                reference: false,
            },
        ],
    };
    let wide = Panel {
        title: "Wide range".into(),
        y_label: "loss".into(),
        x_label: "n".into(),
        series: (0..5)
            .map(|i| {
                let s = 0.5 + 0.6 * i as f64;
                let mut se = series(&format!("rate {s:.1}"), Palette::Other(i), 3.0, s, 0.3, i % 2 == 1);
                se.points[3].sd = 2.0 * se.points[3].mean;
                se
            })
            .collect(),
    };
    for (name, panel) in [("narrow", &narrow), ("wide", &wide)] {
        let written = draw_panel(panel, &dir.path().join(name)).unwrap();
        assert_eq!(png_size(&std::fs::read(&written[0]).unwrap()), PANEL_SIZE);
    }
}
