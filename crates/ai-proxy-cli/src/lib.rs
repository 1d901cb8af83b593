//! The `ai-proxy` command's pieces. A library so that the fuzz targets and
//! the property tests reach the same entry points the binary runs; not a
//! stable API (use the `ai-proxy` crate for that).

pub mod check;
pub mod diagnose;
#[doc(hidden)]
pub mod fuzzing;
pub mod input;
pub mod observe;
pub mod response;
pub mod serve;
pub mod sse;
pub mod stdio;
pub mod translate;
