//! [`Gateway`]: what every request handler shares.

use crate::routes::RouteTable;
use crate::upstream::Clients;

/// Everything a request handler needs, shared by every connection.
#[derive(Debug)]
pub struct Gateway {
    /// The routes.
    pub routes: RouteTable,
    /// Upstream clients.
    pub clients: Clients,
    /// Google access tokens, shared by every `auth.gcp` target.
    pub tokens: std::sync::Mutex<ai_proxy::vertex::TokenCache>,
}
