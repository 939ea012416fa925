//! Provenance in one place: which run and which code produced an experiment's results.
//! [`records`] holds what is recorded (the fingerprint that marks results current, the
//! recertification and budget-extension records); [`recertify`] carries results across a code
//! change that leaves them bit for bit equal, [`extend`] across a larger iteration budget. The
//! stages and the manifest import these; nothing here imports them back.

pub mod extend;
pub mod recertify;
pub mod records;
