//! Provider wire formats as the response observers and the adapter crates'
//! translators read them: one model per wire, borrowed raw members
//! ([`Raw`](crate::json::Raw)) and lenient token counts
//! ([`Count`](crate::json::lenient::Count)), so that what the access log
//! counts and what a client is sent come from the same reading.

pub mod anthropic;
