//! The APISIX `ai-proxy` / `ai-proxy-multi` configuration model.
//!
//! Parsing and validation live in this module's submodules; the validated
//! types are in [`model`] and re-exported here.

pub mod model;

pub use model::*;
