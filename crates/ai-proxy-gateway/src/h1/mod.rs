//! HTTP/1.1 pieces, sans I/O, shared by the gateway's two sides: the pool's
//! upstream client ([`crate::pool`]) and the server's client connections.

pub(crate) mod chunked;
pub(crate) mod field;
