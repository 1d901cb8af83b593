//! HTTP/1.1 pieces, sans I/O, shared by the gateway's two sides: the pool's
//! upstream client ([`crate::pool`]) and the server's client connections.

pub(crate) mod chunked;
pub(crate) mod field;

/// The largest head read (start line and fields), exclusive: a client's
/// request head and an upstream's response head alike (nginx's
/// `large_client_header_buffers` is 4×8k).
pub(crate) const MAX_HEAD: usize = 64 * 1024;
/// The most header fields a head may have, either side (hyper's default).
pub(crate) const MAX_HEADERS: usize = 100;
