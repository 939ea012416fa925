//! Convergence-rate figures (plotters, pure Rust, embedded font).
//!
//! Plain data in, files out: a [`Panel`] holds one or more [`Series`] of sample-size points
//! `(n, mean, sd)`, where `mean` and `sd` are the mean and standard deviation of the loss over the
//! replications at sample size `n`. [`draw_panel`] writes one panel as `stem.png` (900x650) and
//! `stem.svg`; [`draw_grid`] lays several panels out in one figure.
//!
//! # Style (following the paper's figures)
//!
//! * Both axes are logarithmic: `n` on x, the loss on y. Ticks are at powers of ten (or at
//!   1, 2, 5 times a power of ten when the range is short) and are labelled in scientific
//!   notation (`1e3`, `1e-2`); faint minor grid lines mark the other multiples.
//! * For each series the mean loss is drawn as markers joined by a line (dashed if
//!   [`Series::dashed`]). Colours: sigmoid gating blue, softmax gating green, as in the paper;
//!   other series take colours from a small distinct set. Marker shapes differ as well (sigmoid
//!   circles, softmax squares, others triangles / diamonds) so the figure survives greyscale.
//! * Error bars span mean ± 2 sd, with caps at both ends.
//! * **Clipped error bars.** On a log axis the lower end mean − 2 sd can be ≤ 0 and cannot be
//!   drawn. Such a bar is cut at the bottom edge of the plot area, and its clipped end is marked
//!   with a small filled downward arrowhead (instead of a cap) touching the bottom edge. So a bar
//!   ending in an arrowhead means "mean − 2 sd ≤ 0"; a bar ending in a flat cap is drawn to
//!   its true lower end.
//! * The y range is chosen from the data: all means, all positive bar ends, and the fitted
//!   lines at the ends of their n range, with some padding in log space.
//! * The fitted line `loss = c n^(-s)` ([`FitLine`]) is drawn dash-dotted in the series colour
//!   over the series' n range; its legend entry reads like `1.23 n^-0.49` ([`fit_label`]).
//! * A legend box lists each series (marker and line) followed by its fitted line. It is
//!   placed in the corner of the plot area that covers the fewest data marks.
//! * All text uses the embedded DejaVu Sans (`assets/DejaVuSans.ttf`, licence in
//!   `assets/DejaVuSans-LICENSE.txt`), registered once as the font family `"sans-serif"`, so
//!   the output does not depend on the fonts installed on the machine. (The SVG names the
//!   family `sans-serif` and leaves glyph rendering to the viewer. In the PNG, text is drawn
//!   glyph by glyph to work around a letter-spacing bug of plotters' `ab_glyph` path; see
//!   `TextMode`.)
//!
//! Output is deterministic: the same input gives byte-identical SVG and PNG. Both files are
//! written atomically ([`smoe_experiment::fsio`]).

use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::error::ReportError;
use smoe_experiment::fsio::{atomic_write_bytes, atomic_write_path};
pub use smoe_results::analysis::Heatmap;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// The embedded font (DejaVu Sans, Bitstream Vera licence; see `assets/DejaVuSans-LICENSE.txt`).
static FONT: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");

/// The font family name all text uses.
const FONT_FAMILY: &str = "sans-serif";

/// Size of a single-panel figure in pixels.
pub const PANEL_SIZE: (u32, u32) = (900, 650);
/// Size of one cell of a [`draw_grid`] figure in pixels.
pub const GRID_CELL_SIZE: (u32, u32) = (760, 560);

/// Colour family of a series.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Palette {
    /// Sigmoid gating: blue.
    Sigmoid,
    /// Softmax gating: green.
    Softmax,
    /// Anything else: the i-th colour (modulo the set size) of a small distinct set
    /// (orange, red, purple, brown, pink, olive, cyan, grey).
    Other(usize),
}

/// One sample size: mean and standard deviation of the loss over the replications.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    pub n: f64,
    pub mean: f64,
    pub sd: f64,
}

/// A fitted power law `loss = c * n^(-s)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FitLine {
    pub c: f64,
    pub s: f64,
}

/// One curve of a panel.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub label: String,
    pub palette: Palette,
    pub points: Vec<Point>,
    /// Fitted power law, drawn dash-dotted over the series' n range.
    pub fit: Option<FitLine>,
    /// Draw the line joining the means dashed instead of solid.
    pub dashed: bool,
    /// A reference line (the paper's reported curve, a floor): drawn as a line only, without
    /// markers or error bars.
    pub reference: bool,
}

/// One log-log plot.
#[derive(Debug, Clone, PartialEq)]
pub struct Panel {
    pub title: String,
    pub y_label: String,
    pub x_label: String,
    pub series: Vec<Series>,
}

type FigureError = ReportError;

/// The legend text of a fitted line: `"C n^-s"`, C to 3 significant digits, s to 2 decimals
/// (for example `1.23 n^-0.49`; a negative s gives `n^0.30`).
pub fn fit_label(fit: &FitLine) -> String {
    let exponent = if fit.s >= 0.0 { format!("n^-{:.2}", fit.s) } else { format!("n^{:.2}", -fit.s) };
    format!("{} {}", three_significant(fit.c), exponent)
}

/// Draw one panel into `stem.png` and `stem.svg` (the extensions are appended to `stem`).
/// Missing parent directories are created. Returns the paths written (PNG first).
pub fn draw_panel(panel: &Panel, stem: &Path) -> Result<Vec<PathBuf>, FigureError> {
    draw_figure(std::slice::from_ref(panel), 1, PANEL_SIZE, stem, None)
}

/// Draw several panels in one figure, `columns` per row, into `stem.png` and `stem.svg`.
/// Each cell is [`GRID_CELL_SIZE`]. Returns the paths written (PNG first).
pub fn draw_grid(panels: &[Panel], columns: usize, stem: &Path) -> Result<Vec<PathBuf>, FigureError> {
    grid(panels, columns, stem, false)
}

/// [`draw_grid`] with room for the legend above the data: each panel's y range is raised so that
/// its data stay below the legend's height (for panels whose data fill every corner).
pub fn draw_grid_legend_above(panels: &[Panel], columns: usize, stem: &Path) -> Result<Vec<PathBuf>, FigureError> {
    grid(panels, columns, stem, true)
}

fn grid(panels: &[Panel], columns: usize, stem: &Path, legend_above: bool) -> Result<Vec<PathBuf>, FigureError> {
    let png = with_suffix(stem, "png");
    if columns == 0 {
        return Err(FigureError::InvalidFigure { path: png, msg: "a grid needs at least one column".into() });
    }
    if panels.is_empty() {
        return Err(FigureError::InvalidFigure { path: png, msg: "no panels to draw".into() });
    }
    let columns = columns.min(panels.len());
    let rows = panels.len().div_ceil(columns);
    let size = (GRID_CELL_SIZE.0 * columns as u32, GRID_CELL_SIZE.1 * rows as u32);
    draw_figure(panels, columns, size, stem, legend_above.then_some(GRID_CELL_SIZE.1))
}

// ---------------------------------------------------------------------------------------------
// Files

/// `legend_above`: the height of a cell in pixels, to keep the data below the legend.
fn draw_figure(
    panels: &[Panel],
    columns: usize,
    size: (u32, u32),
    stem: &Path,
    legend_above: Option<u32>,
) -> Result<Vec<PathBuf>, FigureError> {
    let png = with_suffix(stem, "png");
    let svg = with_suffix(stem, "svg");
    register_font().map_err(|()| FigureError::Font { path: png.clone() })?;
    let metrics = glyph_metrics().ok_or_else(|| FigureError::Font { path: png.clone() })?;
    let layouts = panels
        .iter()
        .map(|p| PanelData::new(p, legend_above).map_err(|msg| FigureError::InvalidFigure { path: png.clone(), msg }))
        .collect::<Result<Vec<_>, _>>()?;
    if let Some(dir) = png.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(dir).map_err(ReportError::io(dir))?;
    }
    let rows = panels.len().div_ceil(columns);

    // SVG: render into a string, then write atomically.
    let mut doc = String::new();
    {
        let root = SVGBackend::with_string(&mut doc, size).into_drawing_area();
        let drawn = render_all(&root, &layouts, rows, columns, TextMode::Whole).and_then(|()| root.present().map_err(|e| e.to_string()));
        drawn.map_err(|msg| FigureError::Draw { path: svg.clone(), msg })?;
    }
    atomic_write_bytes(&svg, doc.as_bytes()).map_err(ReportError::io(&svg))?;

    // PNG: the bitmap backend encodes to a file whose extension selects the format, so it draws
    // to a temporary `.png` next to the destination.
    let mut drawn = Ok(());
    let written = atomic_write_path(&png, |tmp| {
        let root = BitMapBackend::new(tmp, size).into_drawing_area();
        drawn = render_all(&root, &layouts, rows, columns, TextMode::PerGlyph(metrics))
            .and_then(|()| root.present().map_err(|e| e.to_string()));
        // the backend is dropped here, before the temporary file is renamed
        drawn.clone().map_err(std::io::Error::other)
    });
    drawn.map_err(|msg| FigureError::Draw { path: png.clone(), msg })?;
    written.map_err(ReportError::io(&png))?;
    Ok(vec![png, svg])
}

/// Register the embedded font once; every later call returns the first result.
fn register_font() -> Result<(), ()> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| plotters::style::register_font(FONT_FAMILY, FontStyle::Normal, FONT).is_ok());
    if ok {
        Ok(())
    } else {
        Err(())
    }
}

/// `stem` with `.ext` appended (not replacing anything after a dot already in the name).
fn with_suffix(stem: &Path, ext: &str) -> PathBuf {
    let mut s: OsString = stem.as_os_str().to_owned();
    s.push(".");
    s.push(ext);
    PathBuf::from(s)
}

// ---------------------------------------------------------------------------------------------
// Data checks and axis ranges

/// A validated panel with its axis ranges and ticks.
struct PanelData<'a> {
    panel: &'a Panel,
    x: (f64, f64),
    y: (f64, f64),
    x_ticks: Ticks,
    y_ticks: Ticks,
}

impl<'a> PanelData<'a> {
    fn new(panel: &'a Panel, legend_above: Option<u32>) -> Result<Self, String> {
        let mut xs = Vec::new();
        let mut ys = Vec::new();
        for s in &panel.series {
            let what = |i: usize| format!("panel {:?}, series {:?}, point {i}", panel.title, s.label);
            for (i, p) in s.points.iter().enumerate() {
                if !(p.n.is_finite() && p.n > 0.0) {
                    return Err(format!("{}: n = {} must be finite and > 0", what(i), p.n));
                }
                if !(p.mean.is_finite() && p.mean > 0.0) {
                    return Err(format!("{}: mean = {} must be finite and > 0 on a log axis", what(i), p.mean));
                }
                if !(p.sd.is_finite() && p.sd >= 0.0) {
                    return Err(format!("{}: sd = {} must be finite and >= 0", what(i), p.sd));
                }
                let (lo, hi) = bar_ends(p);
                xs.push(p.n);
                ys.push(p.mean);
                ys.push(hi);
                if let Some(lo) = lo {
                    ys.push(lo);
                }
            }
            if let Some(f) = &s.fit {
                if !(f.c.is_finite() && f.c > 0.0 && f.s.is_finite()) {
                    return Err(format!(
                        "panel {:?}, series {:?}: fitted line c = {}, s = {} needs finite c > 0 \
                         and finite s",
                        panel.title, s.label, f.c, f.s
                    ));
                }
                if let Some((n0, n1)) = n_range(s) {
                    for n in [n0, n1] {
                        let v = fit_value(f, n);
                        if !(v.is_finite() && v > 0.0) {
                            return Err(format!(
                                "panel {:?}, series {:?}: fitted line value {v} at n = {n} is \
                                 not a positive finite number",
                                panel.title, s.label
                            ));
                        }
                        ys.push(v);
                    }
                }
            }
        }
        if xs.is_empty() {
            return Err(format!("panel {:?} has no data points", panel.title));
        }
        let x = padded_log_range(&xs, 0.05, 0.3);
        let mut y = padded_log_range(&ys, 0.07, 0.3);
        if let Some(cell_h) = legend_above {
            // the plot's height, less the legend's (with its inset): the data's share of it
            let entries = panel.series.iter().map(|s| 1 + usize::from(s.fit.is_some())).sum::<usize>() as f64;
            let plot_h = f64::from(cell_h) - f64::from(TITLE_BAND + MARGIN + X_LABEL_AREA);
            let legend_h = f64::from(LEGEND_INSET + LEGEND_PAD * 2 - 4 + 6) + f64::from(LEGEND_ROW_H) * entries;
            let share = 1.0 - legend_h / plot_h;
            if share > 0.2 {
                let (lo, hi) = (y.0.log10(), y.1.log10());
                y.1 = 10f64.powf(lo + (hi - lo) / share);
            }
        }
        Ok(Self { panel, x, y, x_ticks: log_ticks(x.0, x.1), y_ticks: log_ticks(y.0, y.1) })
    }
}

/// The (lower, upper) error-bar ends mean ∓ 2 sd; the lower end is `None` if it is ≤ 0.
fn bar_ends(p: &Point) -> (Option<f64>, f64) {
    let lo = p.mean - 2.0 * p.sd;
    ((lo > 0.0).then_some(lo), p.mean + 2.0 * p.sd)
}

fn n_range(s: &Series) -> Option<(f64, f64)> {
    let mut it = s.points.iter().map(|p| p.n);
    let first = it.next()?;
    Some(it.fold((first, first), |(a, b), n| (a.min(n), b.max(n))))
}

fn fit_value(f: &FitLine, n: f64) -> f64 {
    f.c * n.powf(-f.s)
}

/// The range of positive values widened by `pad` of its log10 span on each side, and to at
/// least `min_span` decades.
fn padded_log_range(values: &[f64], pad: f64, min_span: f64) -> (f64, f64) {
    let lo = values.iter().copied().fold(f64::INFINITY, f64::min).log10();
    let hi = values.iter().copied().fold(f64::NEG_INFINITY, f64::max).log10();
    let (mut lo, mut hi) = (lo, hi);
    if hi - lo < min_span {
        let mid = 0.5 * (lo + hi);
        lo = mid - 0.5 * min_span;
        hi = mid + 0.5 * min_span;
    }
    let span = hi - lo;
    (10f64.powf(lo - pad * span), 10f64.powf(hi + pad * span))
}

/// Labelled (bold) and unlabelled (light) tick positions on a log axis.
struct Ticks {
    bold: Vec<f64>,
    light: Vec<f64>,
}

/// Ticks at powers of ten; at 1, 2, 5 × 10^k, or at every integer multiple of 10^k when
/// fewer than two powers of ten fall in the range. Long ranges label every 2nd/3rd/... decade.
fn log_ticks(lo: f64, hi: f64) -> Ticks {
    let e0 = lo.log10().floor() as i32 - 1;
    let e1 = hi.log10().ceil() as i32 + 1;
    let candidates = |mults: &[u32]| -> Vec<f64> {
        let mut v = Vec::new();
        for e in e0..=e1 {
            for &m in mults {
                let t = tick_value(m, e);
                if t >= lo && t <= hi {
                    v.push(t);
                }
            }
        }
        v
    };
    let all: Vec<u32> = (1..=9).collect();
    let mut bold = candidates(&[1]);
    let decades = bold.len();
    if bold.len() < 2 {
        bold = candidates(&[1, 2, 5]);
    }
    if bold.len() < 2 {
        bold = candidates(&all);
    }
    let mut light: Vec<f64>;
    if decades > 10 {
        // Label every `step`-th decade; the others become light lines.
        let step = decades.div_ceil(8);
        light = Vec::new();
        let mut kept = Vec::new();
        for (i, t) in bold.into_iter().enumerate() {
            if i % step == 0 {
                kept.push(t)
            } else {
                light.push(t)
            }
        }
        bold = kept;
    } else {
        light = candidates(&all);
        light.retain(|t| !bold.contains(t));
    }
    Ticks { bold, light }
}

/// `m × 10^e`, computed so that the value formats back to exactly `m` and `e`.
fn tick_value(m: u32, e: i32) -> f64 {
    if e >= 0 {
        f64::from(m) * 10f64.powi(e)
    } else {
        f64::from(m) / 10f64.powi(-e)
    }
}

/// Tick label in scientific notation: `1e3`, `2e-2`, `1e0`.
fn sci_label(v: f64) -> String {
    if !(v.is_finite() && v > 0.0) {
        return String::new();
    }
    let e = (v.log10() + 1e-9).floor() as i32;
    let m = v / tick_value(1, e);
    let mr = m.round();
    if (m - mr).abs() < 1e-6 {
        format!("{}e{e}", mr as i64)
    } else {
        format!("{m:.1}e{e}")
    }
}

/// `x` rounded to 3 significant digits, in plain notation for 1e-3 ≤ |x| < 1e4, else
/// scientific (`1.23e4`).
fn three_significant(x: f64) -> String {
    if x == 0.0 || !x.is_finite() {
        return format!("{x}");
    }
    let e = x.abs().log10().floor() as i32;
    let scale = 10f64.powi(e - 2);
    let r = (x / scale).round() * scale;
    let e = r.abs().log10().floor() as i32; // rounding can carry into the next decade
    if (-3..4).contains(&e) {
        let decimals = (2 - e).max(0) as usize;
        format!("{r:.decimals$}")
    } else {
        format!("{x:.2e}")
    }
}

// ---------------------------------------------------------------------------------------------
// Drawing

type Px = (i32, i32);

const WHITE_BG: RGBColor = RGBColor(255, 255, 255);
const TEXT: RGBColor = RGBColor(20, 20, 20);

/// Drawing sizes in pixels. Font sizes are even: plotters places a glyph bitmap at
/// `trunc(size / 2 + top)`, and with odd sizes that rounding lifts short glyphs such as `.`
/// by a pixel relative to tall ones.
const TITLE_PX: u32 = 24;
const AXIS_DESC_PX: u32 = 18;
const TICK_PX: u32 = 16;
const LEGEND_PX: u32 = 16;
const MARKER_R: i32 = 4;
const CAP_HALF: i32 = 4;
const ARROW_HALF: i32 = 5;
const ARROW_LEN: i32 = 9;
const LINE_W: u32 = 2;
const BAR_W: u32 = 1;

fn colour(p: Palette) -> RGBColor {
    const OTHER: [RGBColor; 8] = [
        RGBColor(255, 127, 14),  // orange
        RGBColor(214, 39, 40),   // red
        RGBColor(148, 103, 189), // purple
        RGBColor(140, 86, 75),   // brown
        RGBColor(227, 119, 194), // pink
        RGBColor(188, 189, 34),  // olive
        RGBColor(23, 190, 207),  // cyan
        RGBColor(127, 127, 127), // grey
    ];
    match p {
        Palette::Sigmoid => RGBColor(31, 119, 180),
        Palette::Softmax => RGBColor(44, 160, 44),
        Palette::Other(i) => OTHER[i % OTHER.len()],
    }
}

#[derive(Clone, Copy)]
enum Marker {
    Circle,
    Square,
    Triangle,
    Diamond,
}

fn marker(p: Palette) -> Marker {
    match p {
        Palette::Sigmoid => Marker::Circle,
        Palette::Softmax => Marker::Square,
        Palette::Other(i) if i % 2 == 0 => Marker::Triangle,
        Palette::Other(_) => Marker::Diamond,
    }
}

fn render_all<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    panels: &[PanelData<'_>],
    rows: usize,
    columns: usize,
    text: TextMode,
) -> Result<(), String> {
    root.fill(&WHITE_BG).map_err(|e| e.to_string())?;
    let cells = root.split_evenly((rows, columns));
    for (cell, data) in cells.iter().zip(panels) {
        render_panel(cell, data, text).map_err(|e| format!("panel {:?}: {e}", data.panel.title))?;
    }
    Ok(())
}

/// Space reserved around the plot area, in pixels.
const TITLE_BAND: i32 = 46;
const X_LABEL_AREA: i32 = 62;
const Y_LABEL_AREA: i32 = 84;
const MARGIN: i32 = 14;
const TICK_LEN: i32 = 5;
/// The legend box: padding inside it, the height of a row, its distance from the plot's edges.
const LEGEND_PAD: i32 = 8;
const LEGEND_ROW_H: i32 = 21;
const LEGEND_INSET: i32 = 10;

type DrawResult<T, DB> = Result<T, DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

/// One panel, in phases: axes and grid, labels, then the data from the back (fitted lines) to
/// the front (means), then the legend where it covers the fewest data marks.
fn render_panel<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, data: &PanelData<'_>, text: TextMode) -> Result<(), String> {
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
    let (plot, to_px) = draw_axes(area, data).map_err(err)?;
    draw_labels(area, data, plot, &to_px, text).map_err(err)?;
    // Pixels that carry data, for choosing where the legend goes.
    let mut occupied: Vec<Px> = Vec::new();
    draw_fit_lines(area, data.panel, &to_px, &mut occupied).map_err(err)?;
    draw_error_bars(area, data.panel, plot.y1, &to_px, &mut occupied).map_err(err)?;
    draw_means(area, data.panel, &to_px, &mut occupied).map_err(err)?;
    draw_legend(area, data.panel, plot, &occupied, text).map_err(err)?;
    Ok(())
}

/// Log-log axes, grid lines and tick marks (plotters); returns the plot area and the map from
/// data coordinates to pixels relative to `area`.
fn draw_axes<'a, DB: DrawingBackend + 'a>(
    area: &'a DrawingArea<DB, Shift>,
    data: &PanelData<'_>,
) -> DrawResult<(PxRect, impl Fn(f64, f64) -> Px + 'a), DB> {
    // All text is drawn by `draw_labels` (see `TextMode`); plotters only draws the axes, grid
    // lines and tick marks, so its own tick labels are made transparent.
    let mut chart = ChartBuilder::on(area)
        .margin_top(TITLE_BAND)
        .margin_left(MARGIN)
        .margin_right(MARGIN + 12)
        .margin_bottom(MARGIN)
        .x_label_area_size(X_LABEL_AREA)
        .y_label_area_size(Y_LABEL_AREA)
        .build_cartesian_2d(
            (data.x.0..data.x.1).log_scale().with_key_points(data.x_ticks.bold.clone()).with_light_points(data.x_ticks.light.clone()),
            (data.y.0..data.y.1).log_scale().with_key_points(data.y_ticks.bold.clone()).with_light_points(data.y_ticks.light.clone()),
        )?;
    chart
        .configure_mesh()
        .label_style((FONT_FAMILY, TICK_PX).into_font().color(&TRANSPARENT))
        .axis_style(BLACK.stroke_width(1))
        .bold_line_style(BLACK.mix(0.13).stroke_width(1))
        .light_line_style(BLACK.mix(0.05).stroke_width(1))
        .set_all_tick_mark_size(TICK_LEN)
        .draw()?;
    // From here on everything is drawn in pixels relative to `area`.
    let (ax, ay) = {
        let (xr, yr) = area.get_pixel_range();
        (xr.start, yr.start)
    };
    let plot = {
        let (xr, yr) = chart.plotting_area().get_pixel_range();
        PxRect { x0: xr.start - ax, y0: yr.start - ay, x1: xr.end - ax - 1, y1: yr.end - ay - 1 }
    };
    let to_px = move |n: f64, v: f64| -> Px {
        let (x, y) = chart.backend_coord(&(n, v));
        (x - ax, y - ay)
    };
    Ok((plot, to_px))
}

/// Title, tick labels and axis descriptions.
fn draw_labels<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    data: &PanelData<'_>,
    plot: PxRect,
    to_px: &impl Fn(f64, f64) -> Px,
    text: TextMode,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let panel = data.panel;
    let mid_x = (plot.x0 + plot.x1) / 2;
    let mid_y = (plot.y0 + plot.y1) / 2;
    let anchor = |h, v| Pos::new(h, v);
    text.draw(area, &panel.title, TITLE_PX, (mid_x, 12), anchor(HPos::Center, VPos::Top), false)?;
    for &t in &data.x_ticks.bold {
        let (x, _) = to_px(t, data.y.0);
        let pos = (x, plot.y1 + TICK_LEN + 6);
        text.draw(area, &sci_label(t), TICK_PX, pos, anchor(HPos::Center, VPos::Top), false)?;
    }
    for &t in &data.y_ticks.bold {
        let (_, y) = to_px(data.x.0, t);
        let pos = (plot.x0 - TICK_LEN - 7, y);
        text.draw(area, &sci_label(t), TICK_PX, pos, anchor(HPos::Right, VPos::Center), false)?;
    }
    let x_desc_pos = (mid_x, plot.y1 + TICK_LEN + 6 + TICK_PX as i32 + 12);
    text.draw(area, &panel.x_label, AXIS_DESC_PX, x_desc_pos, anchor(HPos::Center, VPos::Top), false)?;
    let y_desc_pos = (MARGIN + AXIS_DESC_PX as i32 / 2, mid_y);
    text.draw(area, &panel.y_label, AXIS_DESC_PX, y_desc_pos, anchor(HPos::Center, VPos::Center), true)
}

/// Fitted lines, drawn first so that data marks sit on top of them.
fn draw_fit_lines<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    panel: &Panel,
    to_px: &impl Fn(f64, f64) -> Px,
    occupied: &mut Vec<Px>,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    for s in &panel.series {
        if let (Some(f), Some((n0, n1))) = (&s.fit, n_range(s)) {
            let c = colour(s.palette);
            let line = [to_px(n0, fit_value(f, n0)), to_px(n1, fit_value(f, n1))];
            sample_path(&line, occupied);
            draw_patterned(area, &line, DASH_DOT, c.stroke_width(LINE_W))?;
        }
    }
    Ok(())
}

/// Error bars mean ± 2 sd; a bar whose lower end is not positive is clipped at the bottom edge
/// `bottom` and ends in a downward arrowhead.
fn draw_error_bars<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    panel: &Panel,
    bottom: i32,
    to_px: &impl Fn(f64, f64) -> Px,
    occupied: &mut Vec<Px>,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    for s in panel.series.iter().filter(|s| !s.reference) {
        let style = colour(s.palette).stroke_width(BAR_W);
        for p in &s.points {
            let (lo, hi) = bar_ends(p);
            let (x, y_hi) = to_px(p.n, hi);
            let y_lo = match lo {
                Some(lo) => to_px(p.n, lo).1,
                None => bottom,
            };
            let y_stop = if lo.is_some() { y_lo } else { y_lo - ARROW_LEN + 1 };
            let bar = [(x, y_hi), (x, y_stop)];
            sample_path(&bar, occupied);
            area.draw(&PathElement::new(bar.to_vec(), style))?;
            area.draw(&PathElement::new(vec![(x - CAP_HALF, y_hi), (x + CAP_HALF, y_hi)], style))?;
            if lo.is_some() {
                area.draw(&PathElement::new(vec![(x - CAP_HALF, y_lo), (x + CAP_HALF, y_lo)], style))?;
            } else {
                // Clipped at the bottom edge: downward arrowhead with its tip on the edge.
                let head = vec![(x - ARROW_HALF, bottom - ARROW_LEN), (x + ARROW_HALF, bottom - ARROW_LEN), (x, bottom)];
                occupied.extend(head.iter().copied());
                area.draw(&Polygon::new(head, colour(s.palette).filled()))?;
            }
        }
    }
    Ok(())
}

/// The means, joined by a line (dashed if the series says so), with a marker at each.
fn draw_means<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    panel: &Panel,
    to_px: &impl Fn(f64, f64) -> Px,
    occupied: &mut Vec<Px>,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    for s in &panel.series {
        let c = colour(s.palette);
        let mut pts: Vec<(f64, f64)> = s.points.iter().map(|p| (p.n, p.mean)).collect();
        pts.sort_by(|a, b| a.0.total_cmp(&b.0));
        let line: Vec<Px> = pts.iter().map(|&(n, m)| to_px(n, m)).collect();
        sample_path(&line, occupied);
        let pattern = if s.dashed { DASHED } else { SOLID };
        draw_patterned(area, &line, pattern, c.stroke_width(LINE_W))?;
        if s.reference {
            continue;
        }
        for &p in &line {
            occupied.push(p);
            draw_marker(area, marker(s.palette), p, c)?;
        }
    }
    Ok(())
}

#[derive(Clone, Copy)]
struct PxRect {
    x0: i32,
    y0: i32,
    x1: i32,
    y1: i32,
}

impl PxRect {
    fn contains(&self, p: Px) -> bool {
        p.0 >= self.x0 && p.0 <= self.x1 && p.1 >= self.y0 && p.1 <= self.y1
    }
}

/// Line patterns as alternating on/off lengths in pixels (empty: solid).
const SOLID: &[f64] = &[];
const DASHED: &[f64] = &[9.0, 5.0];
const DASH_DOT: &[f64] = &[11.0, 4.0, 2.0, 4.0];

/// Draw a polyline with an on/off dash pattern that runs on across vertices.
fn draw_patterned<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    line: &[Px],
    pattern: &[f64],
    style: ShapeStyle,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    if line.len() < 2 {
        return Ok(());
    }
    if pattern.is_empty() {
        return area.draw(&PathElement::new(line.to_vec(), style));
    }
    for piece in dash_pieces(line, pattern) {
        area.draw(&PathElement::new(piece, style))?;
    }
    Ok(())
}

/// Split a polyline into the "on" pieces of a dash pattern.
fn dash_pieces(line: &[Px], pattern: &[f64]) -> Vec<Vec<Px>> {
    let round = |p: (f64, f64)| (p.0.round() as i32, p.1.round() as i32);
    let mut pieces = Vec::new();
    let mut current: Vec<Px> = Vec::new();
    let mut k = 0; // index into the pattern; even = on
    let mut left = pattern[0]; // length left in the current pattern element
    for w in line.windows(2) {
        let a = (f64::from(w[0].0), f64::from(w[0].1));
        let b = (f64::from(w[1].0), f64::from(w[1].1));
        let len = (b.0 - a.0).hypot(b.1 - a.1);
        let at = |t: f64| (a.0 + (b.0 - a.0) * t / len, a.1 + (b.1 - a.1) * t / len);
        let mut t = 0.0;
        if k % 2 == 0 && current.is_empty() {
            current.push(round(a));
        }
        while len - t > left {
            t += left;
            // Ends an "on" piece, or starts one.
            current.push(round(at(t)));
            if k % 2 == 0 {
                pieces.push(std::mem::take(&mut current));
            }
            k = (k + 1) % pattern.len();
            left = pattern[k];
        }
        left -= len - t;
        if k % 2 == 0 {
            current.push(round(b));
        }
    }
    pieces.push(current);
    pieces.retain(|p| p.len() > 1);
    pieces
}

/// Points every few pixels along a polyline.
fn sample_path(line: &[Px], out: &mut Vec<Px>) {
    if let [only] = line {
        out.push(*only);
    }
    for w in line.windows(2) {
        let (dx, dy) = (f64::from(w[1].0 - w[0].0), f64::from(w[1].1 - w[0].1));
        let steps = (dx.hypot(dy) / 4.0).ceil().max(1.0) as i32;
        for i in 0..=steps {
            let t = f64::from(i) / f64::from(steps);
            out.push(((f64::from(w[0].0) + dx * t).round() as i32, (f64::from(w[0].1) + dy * t).round() as i32));
        }
    }
}

fn draw_marker<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    m: Marker,
    (x, y): Px,
    c: RGBColor,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let r = MARKER_R;
    let fill = c.filled();
    let edge = WHITE_BG.stroke_width(1);
    match m {
        Marker::Circle => {
            area.draw(&Circle::new((x, y), r + 1, fill))?;
            area.draw(&Circle::new((x, y), r + 1, edge))
        }
        Marker::Square => {
            area.draw(&Rectangle::new([(x - r, y - r), (x + r, y + r)], fill))?;
            area.draw(&Rectangle::new([(x - r, y - r), (x + r, y + r)], edge))
        }
        Marker::Triangle => {
            let pts = vec![(x, y - r - 2), (x + r + 1, y + r), (x - r - 1, y + r)];
            area.draw(&Polygon::new(pts.clone(), fill))?;
            area.draw(&PathElement::new([pts.clone(), vec![pts[0]]].concat(), edge))
        }
        Marker::Diamond => {
            let pts = vec![(x, y - r - 2), (x + r + 1, y), (x, y + r + 2), (x - r - 1, y)];
            area.draw(&Polygon::new(pts.clone(), fill))?;
            area.draw(&PathElement::new([pts.clone(), vec![pts[0]]].concat(), edge))
        }
    }
}

enum LegendGlyph {
    Series { palette: Palette, dashed: bool, marker: bool },
    Fit { palette: Palette },
}

fn draw_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    panel: &Panel,
    plot: PxRect,
    occupied: &[Px],
    text: TextMode,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let mut entries: Vec<(LegendGlyph, String)> = Vec::new();
    for s in &panel.series {
        entries.push((LegendGlyph::Series { palette: s.palette, dashed: s.dashed, marker: !s.reference }, s.label.clone()));
        if let Some(f) = &s.fit {
            entries.push((LegendGlyph::Fit { palette: s.palette }, fit_label(f)));
        }
    }
    if entries.is_empty() {
        return Ok(());
    }
    let mut text_w = 0;
    for (_, label) in &entries {
        text_w = text_w.max(text.width(area, label, LEGEND_PX)?);
    }
    const PAD: i32 = LEGEND_PAD;
    const GLYPH_W: i32 = 34;
    const GAP: i32 = 8;
    const ROW_H: i32 = LEGEND_ROW_H;
    const INSET: i32 = LEGEND_INSET;
    let w = PAD + GLYPH_W + GAP + text_w + PAD;
    let h = PAD + ROW_H * entries.len() as i32 + PAD - 4;

    // Candidate corners in order of preference; the first with the fewest covered data
    // pixels wins.
    let corners = [
        (plot.x1 - INSET - w, plot.y0 + INSET),     // upper right
        (plot.x0 + INSET, plot.y1 - INSET - h),     // lower left
        (plot.x0 + INSET, plot.y0 + INSET),         // upper left
        (plot.x1 - INSET - w, plot.y1 - INSET - h), // lower right
    ];
    let mut best = corners[0];
    let mut best_count = usize::MAX;
    for &(x0, y0) in &corners {
        let r = PxRect { x0, y0, x1: x0 + w, y1: y0 + h };
        let count = occupied.iter().filter(|p| r.contains(**p)).count();
        if count < best_count {
            best = (x0, y0);
            best_count = count;
        }
    }
    let (x0, y0) = best;
    area.draw(&Rectangle::new([(x0, y0), (x0 + w, y0 + h)], WHITE_BG.mix(0.88).filled()))?;
    area.draw(&Rectangle::new([(x0, y0), (x0 + w, y0 + h)], BLACK.mix(0.45).stroke_width(1)))?;
    for (i, (glyph, label)) in entries.iter().enumerate() {
        let cy = y0 + PAD + ROW_H * i as i32 + ROW_H / 2 - 2;
        let gx0 = x0 + PAD;
        let gx1 = gx0 + GLYPH_W;
        match *glyph {
            LegendGlyph::Series { palette, dashed, marker: with_marker } => {
                let c = colour(palette);
                let pattern = if dashed { DASHED } else { SOLID };
                draw_patterned(area, &[(gx0, cy), (gx1, cy)], pattern, c.stroke_width(LINE_W))?;
                if with_marker {
                    draw_marker(area, marker(palette), ((gx0 + gx1) / 2, cy), c)?;
                }
            }
            LegendGlyph::Fit { palette } => {
                let c = colour(palette);
                draw_patterned(area, &[(gx0, cy), (gx1, cy)], DASH_DOT, c.stroke_width(LINE_W))?;
            }
        }
        let pos = Pos::new(HPos::Left, VPos::Center);
        text.draw(area, label, LEGEND_PX, (gx1 + GAP, cy), pos, false)?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Text

/// How text is handed to the backend.
///
/// plotters 0.3.7 with `ab_glyph` rasterises a string glyph by glyph but places each glyph
/// bitmap at the pen position without the glyph's left side bearing, which gives visibly uneven
/// letter spacing in the PNG ("Sigm oid"). For the bitmap backend we therefore draw one glyph at
/// a time at pen position + left bearing (read from the embedded font's `glyf` table). The SVG
/// backend writes whole strings as `<text>` and leaves glyph layout to the viewer.
#[derive(Clone, Copy)]
enum TextMode {
    Whole,
    PerGlyph(&'static GlyphMetrics),
}

impl TextMode {
    fn style(size: u32, pos: Pos, rotate: bool) -> TextStyle<'static> {
        let style = TextStyle::from((FONT_FAMILY, size).into_font()).color(&TEXT).pos(pos);
        if rotate {
            style.transform(FontTransform::Rotate270)
        } else {
            style
        }
    }

    /// Width in pixels of `text` set horizontally.
    fn width<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        text: &str,
        size: u32,
    ) -> Result<i32, DrawingAreaErrorKind<DB::ErrorType>> {
        let style = Self::style(size, Pos::new(HPos::Left, VPos::Top), false);
        Ok(area.estimate_text_size(text, &style)?.0 as i32)
    }

    /// Draw `text` at `pos` with the given anchor; `rotate` runs it bottom to top.
    fn draw<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        text: &str,
        size: u32,
        pos: Px,
        anchor: Pos,
        rotate: bool,
    ) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
        if text.is_empty() {
            return Ok(());
        }
        let metrics = match self {
            TextMode::Whole => return area.draw_text(text, &Self::style(size, anchor, rotate), pos),
            TextMode::PerGlyph(m) => m,
        };
        let total = self.width(area, text, size)?;
        let start = match anchor.h_pos {
            HPos::Left => 0,
            HPos::Center => -total / 2,
            HPos::Right => -total,
        };
        let glyph_style = Self::style(size, Pos::new(HPos::Left, anchor.v_pos), rotate);
        let mut buf = [0u8; 4];
        for (i, c) in text.char_indices() {
            if c.is_whitespace() {
                continue;
            }
            let pen = if i == 0 { 0 } else { self.width(area, &text[..i], size)? };
            let bearing = metrics.left_bearing_px(c, size as f32);
            let along = start + pen + bearing;
            let p = if rotate { (pos.0, pos.1 - along) } else { (pos.0 + along, pos.1) };
            area.draw_text(c.encode_utf8(&mut buf), &glyph_style, p)?;
        }
        Ok(())
    }
}

/// The embedded font's metrics that plotters' `ab_glyph` path drops: each glyph's left edge
/// (`xMin` of its `glyf` header) and the ascent − descent it scales by (read with ttf-parser,
/// the parser under ab_glyph).
struct GlyphMetrics {
    face: ttf_parser::Face<'static>,
    /// ascent − descent in font units, the quantity ab_glyph scales the pixel size by.
    height_units: f32,
}

fn glyph_metrics() -> Option<&'static GlyphMetrics> {
    static METRICS: OnceLock<Option<GlyphMetrics>> = OnceLock::new();
    METRICS
        .get_or_init(|| {
            let face = ttf_parser::Face::parse(FONT, 0).ok()?;
            let height_units = f32::from(face.ascender()) - f32::from(face.descender());
            (height_units > 0.0).then_some(GlyphMetrics { face, height_units })
        })
        .as_ref()
}

impl GlyphMetrics {
    /// The glyph's `xMin` in font units, `None` for unmapped glyphs and glyphs without an outline.
    fn x_min(&self, c: char) -> Option<i16> {
        let id = self.face.glyph_index(c).filter(|id| id.0 != 0)?;
        Some(self.face.tables().glyf?.bbox(id)?.x_min)
    }

    /// The left bearing in whole pixels that ab_glyph drops when it crops a glyph's bitmap.
    fn left_bearing_px(&self, c: char, size: f32) -> i32 {
        self.x_min(c).map_or(0, |x| (f32::from(x) * size / self.height_units).floor() as i32)
    }
}

// ---------------------------------------------------------------------------------------------
// Heatmaps (the phase diagram)

/// Size of one heatmap panel in pixels.
pub const HEATMAP_SIZE: (u32, u32) = (760, 560);

fn heat_colour(v: f64, saturation: f64) -> RGBColor {
    if !v.is_finite() {
        return RGBColor(215, 215, 215);
    }
    let t = (v / saturation).clamp(-1.0, 1.0);
    let mix = |a: u8, b: u8, t: f64| (a as f64 + (b as f64 - a as f64) * t).round() as u8;
    if t >= 0.0 {
        RGBColor(mix(247, 33, t), mix(247, 102, t), mix(247, 172, t))
    } else {
        RGBColor(mix(247, 230, -t), mix(247, 97, -t), mix(247, 1, -t))
    }
}

/// Draw heatmaps side by side into `stem.png` and `stem.svg`.
pub fn draw_heatmaps(maps: &[Heatmap], stem: &Path) -> Result<Vec<PathBuf>, FigureError> {
    let png = with_suffix(stem, "png");
    let svg = with_suffix(stem, "svg");
    if maps.is_empty() {
        return Err(FigureError::InvalidFigure { path: png, msg: "no heatmap to draw".into() });
    }
    for m in maps {
        if m.values.len() != m.y_labels.len() || m.values.iter().any(|r| r.len() != m.x_labels.len()) || m.marks.len() != m.values.len() {
            return Err(FigureError::InvalidFigure {
                path: png,
                msg: format!("heatmap {:?}: values, marks and labels disagree in shape", m.title),
            });
        }
    }
    register_font().map_err(|()| FigureError::Font { path: png.clone() })?;
    let metrics = glyph_metrics().ok_or_else(|| FigureError::Font { path: png.clone() })?;
    if let Some(dir) = png.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(dir).map_err(ReportError::io(dir))?;
    }
    let size = (HEATMAP_SIZE.0 * maps.len() as u32, HEATMAP_SIZE.1);
    let mut doc = String::new();
    {
        let root = SVGBackend::with_string(&mut doc, size).into_drawing_area();
        render_heatmaps(&root, maps, TextMode::Whole)
            .and_then(|()| root.present().map_err(|e| e.to_string()))
            .map_err(|msg| FigureError::Draw { path: svg.clone(), msg })?;
    }
    atomic_write_bytes(&svg, doc.as_bytes()).map_err(ReportError::io(&svg))?;
    let mut drawn = Ok(());
    let written = atomic_write_path(&png, |tmp| {
        let root = BitMapBackend::new(tmp, size).into_drawing_area();
        drawn = render_heatmaps(&root, maps, TextMode::PerGlyph(metrics)).and_then(|()| root.present().map_err(|e| e.to_string()));
        drawn.clone().map_err(std::io::Error::other)
    });
    drawn.map_err(|msg| FigureError::Draw { path: png.clone(), msg })?;
    written.map_err(ReportError::io(&png))?;
    Ok(vec![png, svg])
}

fn render_heatmaps<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, maps: &[Heatmap], text: TextMode) -> Result<(), String> {
    root.fill(&WHITE_BG).map_err(|e| e.to_string())?;
    let cells = root.split_evenly((1, maps.len()));
    for (area, m) in cells.iter().zip(maps) {
        render_heatmap(area, m, text).map_err(|e| format!("heatmap {:?}: {e}", m.title))?;
    }
    Ok(())
}

fn render_heatmap<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, m: &Heatmap, text: TextMode) -> DrawResult<(), DB> {
    let (w, h) = area.dim_in_pixel();
    let (w, h) = (w as i32, h as i32);
    let (left, right, top, bottom) = (Y_LABEL_AREA + 40, MARGIN + 10, TITLE_BAND + 10, X_LABEL_AREA + 40);
    let (cols, rows) = (m.x_labels.len() as i32, m.y_labels.len() as i32);
    let cw = (w - left - right) / cols.max(1);
    let ch = (h - top - bottom) / rows.max(1);
    text.draw(area, &m.title, TITLE_PX, (w / 2, TITLE_BAND / 2), Pos::new(HPos::Center, VPos::Center), false)?;
    for (r, row) in m.values.iter().enumerate() {
        for (c, &v) in row.iter().enumerate() {
            let x0 = left + c as i32 * cw;
            let y0 = top + r as i32 * ch;
            area.draw(&Rectangle::new([(x0, y0), (x0 + cw, y0 + ch)], heat_colour(v, m.saturation).filled()))?;
            area.draw(&Rectangle::new([(x0, y0), (x0 + cw, y0 + ch)], BLACK.mix(0.35).stroke_width(1)))?;
            let mark = &m.marks[r][c];
            for (i, line) in mark.lines().enumerate() {
                let y = y0 + ch / 2 + (i as i32 - (mark.lines().count() as i32 - 1) / 2) * 20 - 8;
                text.draw(area, line, TICK_PX, (x0 + cw / 2, y), Pos::new(HPos::Center, VPos::Center), false)?;
            }
        }
    }
    for (c, label) in m.x_labels.iter().enumerate() {
        text.draw(area, label, TICK_PX, (left + c as i32 * cw + cw / 2, top + rows * ch + 8), Pos::new(HPos::Center, VPos::Top), false)?;
    }
    for (r, label) in m.y_labels.iter().enumerate() {
        text.draw(area, label, TICK_PX, (left - 8, top + r as i32 * ch + ch / 2), Pos::new(HPos::Right, VPos::Center), false)?;
    }
    text.draw(area, &m.x_label, AXIS_DESC_PX, (left + cols * cw / 2, top + rows * ch + 34), Pos::new(HPos::Center, VPos::Top), false)?;
    text.draw(area, &m.y_label, AXIS_DESC_PX, (22, top + rows * ch / 2), Pos::new(HPos::Center, VPos::Center), true)?;
    text.draw(area, &m.legend, LEGEND_PX, (left + cols * cw / 2, h - 22), Pos::new(HPos::Center, VPos::Center), false)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// With the legend above the data, the y range grows upwards only, and the data's highest
    /// value sits below the legend's share of the plot's height.
    #[test]
    fn legend_above_raises_the_top_of_the_y_range_past_the_legend() {
        let series = |label: &str, k: f64| Series {
            label: label.into(),
            palette: Palette::Other(0),
            points: (3..=5).map(|e| Point { n: 10f64.powi(e), mean: k * 10f64.powi(-e), sd: 0.0 }).collect(),
            fit: None,
            dashed: false,
            reference: false,
        };
        let panel =
            Panel { title: "t".into(), y_label: "y".into(), x_label: "x".into(), series: vec![series("a", 1.0), series("b", 10.0)] };
        let plain = PanelData::new(&panel, None).unwrap();
        let above = PanelData::new(&panel, Some(GRID_CELL_SIZE.1)).unwrap();
        assert_eq!((plain.x, plain.y.0), (above.x, above.y.0));
        assert!(above.y.1 > plain.y.1);
        // the legend's two rows, padding and inset, against the plot's height
        let plot_h = f64::from(GRID_CELL_SIZE.1) - f64::from(TITLE_BAND + MARGIN + X_LABEL_AREA);
        let legend_h = f64::from(LEGEND_INSET + 2 * LEGEND_PAD - 4 + 6) + 2.0 * f64::from(LEGEND_ROW_H);
        let (lo, hi, top) = (above.y.0.log10(), above.y.1.log10(), 1e-2f64.log10());
        assert!((top - lo) / (hi - lo) <= 1.0 - legend_h / plot_h + 1e-12);
    }
}
