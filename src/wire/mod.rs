//! Kubernetes' own JSON: `Status` bodies and the shapes the REST layer writes.

pub(crate) mod pod_json;
mod status;

pub use status::{Status, StatusCause, StatusDetails};
