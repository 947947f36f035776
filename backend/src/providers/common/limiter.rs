//! The client-side rate limit of a provider's API (Acessórias documents 100 requests a
//! minute), per tenant integration and process, with `governor` (GCRA): calls wait for
//! their turn instead of earning a 429. A tenant that changes its limit gets a new limiter.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex, OnceLock};

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use uuid::Uuid;

type Key = (&'static str, Uuid);
/// The limiters by provider and integration, each with the rate it was made for.
type Limiters = Mutex<HashMap<Key, (u32, Arc<DefaultDirectRateLimiter>)>>;

fn limiters() -> &'static Limiters {
    static LIMITERS: OnceLock<Limiters> = OnceLock::new();
    LIMITERS.get_or_init(Default::default)
}

/// The limiter of `slug` for one tenant integration at `per_minute` requests a minute.
/// The burst is a tenth of the minute's allowance, so a run starts quickly and then keeps
/// an even pace.
pub fn for_integration(
    slug: &'static str,
    integration: Uuid,
    per_minute: u32,
) -> Arc<DefaultDirectRateLimiter> {
    let per_minute = per_minute.max(1);
    let mut map = limiters().lock().unwrap_or_else(|p| p.into_inner());
    if let Some((rate, l)) = map.get(&(slug, integration)) {
        if *rate == per_minute {
            return l.clone();
        }
    }
    let rate = NonZeroU32::new(per_minute).unwrap_or(NonZeroU32::MIN);
    let burst = NonZeroU32::new((per_minute / 10).max(1)).unwrap_or(NonZeroU32::MIN);
    let limiter = Arc::new(RateLimiter::direct(
        Quota::per_minute(rate).allow_burst(burst),
    ));
    map.insert((slug, integration), (per_minute, limiter.clone()));
    limiter
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_limiter_per_integration_and_rate() {
        let id = Uuid::new_v4();
        let a = for_integration("x", id, 100);
        let b = for_integration("x", id, 100);
        assert!(Arc::ptr_eq(&a, &b));
        let c = for_integration("x", id, 50);
        assert!(!Arc::ptr_eq(&a, &c));
        let d = for_integration("y", id, 50);
        assert!(!Arc::ptr_eq(&c, &d));
    }

    #[test]
    fn the_burst_is_spent_and_then_calls_wait() {
        let l = for_integration("burst", Uuid::new_v4(), 60);
        // 60 a minute: a burst of 6, then one a second.
        for _ in 0..6 {
            assert!(l.check().is_ok());
        }
        assert!(l.check().is_err());
    }
}
