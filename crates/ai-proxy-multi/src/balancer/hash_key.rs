//! What consistent hashing hashes: `balancer.hash_on` and `balancer.key`.

use ai_proxy_core::config::{self, HashOn, VarTemplate};

use crate::Error;

#[derive(Debug)]
pub(super) enum HashKey {
    Var(String),
    Header(String),
    Cookie(String),
    Consumer,
    /// `vars_combinations`: resolved as APISIX's `resolve_var`.
    Template(VarTemplate),
}

pub(super) fn hash_key(balancer: &config::BalancerConfig) -> Result<HashKey, Error> {
    let key = balancer.key.clone();
    Ok(match balancer.hash_on {
        HashOn::Consumer => HashKey::Consumer,
        HashOn::Header => HashKey::Header(key.ok_or(Error::MissingHashKey)?),
        HashOn::Cookie => HashKey::Cookie(key.ok_or(Error::MissingHashKey)?),
        HashOn::VarsCombinations => {
            HashKey::Template(VarTemplate::parse(&key.ok_or(Error::MissingHashKey)?))
        }
        _ => HashKey::Var(key.ok_or(Error::MissingHashKey)?),
    })
}
