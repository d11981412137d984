//! Kubernetes' own JSON: `Status` bodies and the shapes the REST layer writes.

mod status;

pub use status::{Status, StatusCause, StatusDetails};
