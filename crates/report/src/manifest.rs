//! Manifest and atomic writes. Being written.
