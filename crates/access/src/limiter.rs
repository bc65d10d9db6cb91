//! Per-address rate limiting of sign-in and token attempts (on top of the per-account back-off,
//! which stops guessing one account; this stops spraying many), keyed by the client address as
//! the platform resolved it (`X-Forwarded-For` only from `--trusted-proxies`).
//!
//! The maintained `governor` crate does the counting (GCRA): `limit` attempts at once, then one
//! more every `window / limit`. Unlike a fixed window, there is no edge at which an attacker gets
//! twice the limit in a moment.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::middleware::NoOpMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter as Gcra};

/// Above this many remembered addresses, addresses back at full allowance are forgotten
/// (bounded memory under an address-spraying attack).
const MAX_TRACKED: usize = 100_000;

/// Attempts per client address.
pub struct RateLimiter<C: Clock = DefaultClock> {
    inner: Gcra<IpAddr, DefaultKeyedStateStore<IpAddr>, C, NoOpMiddleware<C::Instant>>,
    clock: C,
}

impl<C: Clock> std::fmt::Debug for RateLimiter<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimiter")
            .field("tracked", &self.inner.len())
            .finish()
    }
}

fn quota(limit: u32, window: Duration) -> Quota {
    let limit = NonZeroU32::new(limit.max(1)).expect("at least one");
    Quota::with_period(window / limit.get())
        .expect("a non-zero replenish period")
        .allow_burst(limit)
}

impl RateLimiter {
    /// At most `limit` attempts per `window` per address (a burst of `limit`, then one every
    /// `window / limit`).
    pub fn new(limit: u32, window: Duration) -> Self {
        Self::with_clock(limit, window, DefaultClock::default())
    }
}

impl<C: Clock + Clone> RateLimiter<C> {
    fn with_clock(limit: u32, window: Duration, clock: C) -> Self {
        Self {
            inner: Gcra::new(quota(limit, window), Default::default(), clock.clone()),
            clock,
        }
    }

    /// Counts an attempt; `Err(retry_after)` when over the limit (at least one second).
    pub fn check(&self, addr: IpAddr) -> Result<(), Duration> {
        let verdict = self.inner.check_key(&addr);
        if self.inner.len() > MAX_TRACKED {
            self.inner.retain_recent();
        }
        verdict.map_err(|not_until| {
            not_until
                .wait_time_from(self.clock.now())
                .max(Duration::from_secs(1))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use governor::clock::FakeRelativeClock;

    #[test]
    fn limits_per_address_and_refills() {
        let clock = FakeRelativeClock::default();
        let l = RateLimiter::with_clock(3, Duration::from_secs(60), clock.clone());
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "2001:db8::2".parse().unwrap();
        for _ in 0..3 {
            assert!(l.check(a).is_ok());
        }
        let wait = l.check(a).unwrap_err();
        assert!(
            wait >= Duration::from_secs(1) && wait <= Duration::from_secs(20),
            "{wait:?}"
        );
        assert!(l.check(b).is_ok(), "other addresses are unaffected");
        clock.advance(Duration::from_secs(20));
        assert!(l.check(a).is_ok(), "one attempt back after window / limit");
        assert!(l.check(a).is_err());
        clock.advance(Duration::from_secs(61));
        for _ in 0..3 {
            assert!(l.check(a).is_ok(), "the full burst after a whole window");
        }
    }
}
