//! Parquet storage (polars). Being written.
