//! Figures (plotters). Being written.
