//! A presented key, judged: verification for an API, and authentication of a caller, the verifier read through the application layer.

use std::sync::Arc;

use super::{App, AppError};
use crate::domain::Millis;
use crate::domain::bounds::SCOPE_QUERY;
use crate::domain::key::Secret;
use crate::domain::scope_query::{QueryError, ScopeQuery};
use crate::domain::verification::{Presented, Unusable, usable};
use crate::verifier::{CachedKey, Resolved, Verdict};

/// Why a presented key does not authenticate its caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Not a well-formed Keyward key.
    Malformed,
    /// No key has this secret.
    Unknown,
    /// The key was found, but does not work now.
    Unusable(Unusable),
}

/// How many bytes of query text the parsed queries kept may add up to: the texts are the
/// callers', so the cache is bounded by their size, not their count (its trees grow with them).
const SCOPE_QUERY_CACHE_BYTES: u64 = 256 * 1024;

/// Scope queries parsed once each: a small cache from a query's text to its tree, whatever key
/// it is asked of. Only queries that parse are kept; one that does not is refused before
/// anything is counted, and parsing it again costs what the refusal costs.
#[derive(Clone)]
pub struct ScopeQueries(moka::sync::Cache<String, Arc<ScopeQuery>>);

impl Default for ScopeQueries {
    fn default() -> Self {
        let weigher = |text: &String, _: &Arc<ScopeQuery>| u32::try_from(text.len()).unwrap_or(u32::MAX);
        Self(moka::sync::Cache::builder().max_capacity(SCOPE_QUERY_CACHE_BYTES).weigher(weigher).build())
    }
}

impl ScopeQueries {
    /// The scope query `text`, parsed once per distinct text; or where and why it does not parse.
    pub fn parsed(&self, text: &str) -> Result<Arc<ScopeQuery>, QueryError> {
        // A text over the bound is refused before it is hashed or kept.
        if text.chars().nth(SCOPE_QUERY.max).is_some() {
            return ScopeQuery::parse(text).map(Arc::new);
        }
        if let Some(parsed) = self.0.get(text) {
            return Ok(parsed);
        }
        let parsed = Arc::new(ScopeQuery::parse(text)?);
        self.0.insert(text.to_owned(), parsed.clone());
        Ok(parsed)
    }
}

impl App {
    /// The scope query `text`, parsed once per distinct text; or where and why it does not parse.
    pub fn scope_query(&self, text: &str) -> Result<Arc<ScopeQuery>, QueryError> {
        self.scope_queries.parsed(text)
    }

    /// Verifies the key `presented` at `now`, in the documented order.
    pub async fn verify(&self, presented: &Presented<'_>, now: Millis) -> Result<Verdict, AppError> {
        Ok(self.verifier.verify(presented, now).await?)
    }

    /// The key `presented` authenticates at `now`, its use counted; else why not
    /// ([`AppError::Unauthenticated`]).
    ///
    /// A request that names a change (`seq`, its consistency token) is answered once this
    /// instance has applied it, its own key included (new, say, or just given a scope). Only a
    /// caller whose key works learns whether the token names a change at all; any other waits at
    /// most the feed's delay (its key may be the change's), if a place to wait is free, and is
    /// then judged as any other.
    pub async fn authenticate(
        &self,
        presented: &str,
        seq: Option<i64>,
        now: Millis,
    ) -> Result<Arc<CachedKey>, AppError> {
        let secret = Secret::parse(presented).map_err(|_| AppError::Unauthenticated(Refusal::Malformed))?;
        let mut resolved = self.verifier.resolve(&secret, now).await?;
        if let Some(seq) = seq
            && self.is_behind(seq)
        {
            if !works(resolved.as_ref(), now) {
                self.wait_for(seq).await;
                resolved = self.verifier.resolve(&secret, now).await?;
            }
            if works(resolved.as_ref(), now) && self.is_behind(seq) {
                self.caught_up_to(seq).await?;
                resolved = self.verifier.resolve(&secret, now).await?;
            }
        }
        let resolved = resolved.ok_or(AppError::Unauthenticated(Refusal::Unknown))?;
        self.verifier.record_use(&resolved, now);
        if let Err(why) = usable(&resolved.key, resolved.secret_expires_at, now) {
            return Err(AppError::Unauthenticated(Refusal::Unusable(why)));
        }
        Ok(resolved.key)
    }
}

/// Whether a key was found whose presented secret and record work at `now`.
fn works(resolved: Option<&Resolved>, now: Millis) -> bool {
    resolved.is_some_and(|r| usable(&r.key, r.secret_expires_at, now).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_query_is_parsed_once_and_one_over_the_bound_is_refused_unkept() {
        let queries = ScopeQueries::default();
        let first = queries.parsed("invoices:read OR invoices:write").unwrap();
        let again = queries.parsed("invoices:read OR invoices:write").unwrap();
        assert!(Arc::ptr_eq(&first, &again), "the second ask is served the first parse");
        let long = format!("a:read{}", " OR a:read".repeat(SCOPE_QUERY.max / 10));
        assert_eq!(queries.parsed(&long).unwrap_err().code(), "too_long");
        queries.0.run_pending_tasks();
        assert_eq!(queries.0.entry_count(), 1, "only the query that parsed is kept");
    }
}
