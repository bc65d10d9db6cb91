//! Per-address rate limiting of sign-in attempts (on top of the per-account lockout, which
//! stops guessing one account; this stops spraying many).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Fixed one-minute windows per client address.
#[derive(Debug)]
pub struct RateLimiter {
    limit: u32,
    window: Duration,
    counts: Mutex<HashMap<IpAddr, (Instant, u32)>>,
}

impl RateLimiter {
    /// At most `limit` attempts per `window` per address.
    pub fn new(limit: u32, window: Duration) -> Self {
        Self {
            limit,
            window,
            counts: Mutex::new(HashMap::new()),
        }
    }

    /// Counts an attempt; `Err(retry_after)` when over the limit.
    pub fn check(&self, addr: IpAddr) -> Result<(), Duration> {
        self.check_at(addr, Instant::now())
    }

    fn check_at(&self, addr: IpAddr, now: Instant) -> Result<(), Duration> {
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        if counts.len() > 100_000 {
            // Bounded memory under an address-spraying attack: forget finished windows.
            counts.retain(|_, (start, _)| now.duration_since(*start) < self.window);
        }
        let entry = counts.entry(addr).or_insert((now, 0));
        if now.duration_since(entry.0) >= self.window {
            *entry = (now, 0);
        }
        entry.1 += 1;
        if entry.1 > self.limit {
            Err(self
                .window
                .saturating_sub(now.duration_since(entry.0))
                .max(Duration::from_secs(1)))
        } else {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_per_address_and_window() {
        let l = RateLimiter::new(3, Duration::from_secs(60));
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        let t = Instant::now();
        for _ in 0..3 {
            assert!(l.check_at(a, t).is_ok());
        }
        assert!(l.check_at(a, t).is_err());
        assert!(l.check_at(b, t).is_ok(), "other addresses are unaffected");
        assert!(
            l.check_at(a, t + Duration::from_secs(61)).is_ok(),
            "a new window"
        );
    }
}
