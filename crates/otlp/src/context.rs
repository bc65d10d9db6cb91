//! W3C trace context: trace and span ids, and the `traceparent` header.
//!
//! Ids are random (keyed SipHash of a per-thread counter under a randomly seeded key, from the
//! standard library): unique enough for tracing, no extra dependency, no system call per span.

use std::cell::Cell;
use std::collections::hash_map::RandomState;
use std::fmt;
use std::hash::{BuildHasher, Hasher};

/// A 16-byte trace id, shown as 32 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TraceId(pub [u8; 16]);

/// An 8-byte span id, shown as 16 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SpanId(pub [u8; 8]);

/// Where a span sits in its trace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceContext {
    /// The trace the span belongs to.
    pub trace_id: TraceId,
    /// The span itself.
    pub span_id: SpanId,
    /// Whether the trace is recorded (the caller's `traceparent` may say it is not).
    pub sampled: bool,
}

impl TraceContext {
    /// The `traceparent` header naming this span as the parent (for outgoing calls).
    pub fn traceparent(&self) -> String {
        format!(
            "00-{}-{}-{:02x}",
            self.trace_id,
            self.span_id,
            u8::from(self.sampled)
        )
    }
}

fn hex(bytes: &[u8], f: &mut fmt::Formatter<'_>) -> fmt::Result {
    for b in bytes {
        write!(f, "{b:02x}")?;
    }
    Ok(())
}

impl fmt::Display for TraceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        hex(&self.0, f)
    }
}

impl fmt::Debug for TraceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TraceId({self})")
    }
}

impl fmt::Display for SpanId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        hex(&self.0, f)
    }
}

impl fmt::Debug for SpanId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SpanId({self})")
    }
}

thread_local! {
    static IDS: (RandomState, Cell<u64>) = (RandomState::new(), Cell::new(0));
}

/// A random, non-zero 64-bit value.
fn random_u64() -> u64 {
    IDS.with(|(key, counter)| {
        let n = counter.get().wrapping_add(1);
        counter.set(n);
        let mut h = key.build_hasher();
        h.write_u64(n);
        h.finish().max(1)
    })
}

impl TraceId {
    /// A fresh random trace id.
    pub fn random() -> Self {
        let mut id = [0; 16];
        id[..8].copy_from_slice(&random_u64().to_be_bytes());
        id[8..].copy_from_slice(&random_u64().to_be_bytes());
        Self(id)
    }
}

impl SpanId {
    /// A fresh random span id.
    pub fn random() -> Self {
        Self(random_u64().to_be_bytes())
    }
}

fn parse_hex<const N: usize>(s: &str) -> Option<[u8; N]> {
    let bytes = s.as_bytes();
    if bytes.len() != 2 * N {
        return None;
    }
    let digit = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    };
    let mut out = [0; N];
    for (i, pair) in bytes.chunks_exact(2).enumerate() {
        out[i] = digit(pair[0])? << 4 | digit(pair[1])?;
    }
    Some(out)
}

/// Reads a W3C `traceparent` header (`00-<trace id>-<parent span id>-<flags>`): the caller's
/// trace id and span id, and whether the caller records the trace. `None` for anything the
/// specification says to ignore (unknown format, version `ff`, all-zero ids, uppercase hex).
pub fn parse_traceparent(header: &str) -> Option<TraceContext> {
    let header = header.trim();
    let mut parts = header.splitn(5, '-');
    let version: [u8; 1] = parse_hex(parts.next()?)?;
    let trace_id: [u8; 16] = parse_hex(parts.next()?)?;
    let span_id: [u8; 8] = parse_hex(parts.next()?)?;
    let flags: [u8; 1] = parse_hex(parts.next()?)?;
    let rest = parts.next();
    if version[0] == 0xff || (version[0] == 0 && rest.is_some()) {
        return None;
    }
    if trace_id == [0; 16] || span_id == [0; 8] {
        return None;
    }
    Some(TraceContext {
        trace_id: TraceId(trace_id),
        span_id: SpanId(span_id),
        sampled: flags[0] & 1 == 1,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traceparent_round_trips_and_rejects_what_the_spec_rejects() {
        let h = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let ctx = parse_traceparent(h).unwrap();
        assert_eq!(ctx.trace_id.to_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(ctx.span_id.to_string(), "00f067aa0ba902b7");
        assert!(ctx.sampled);
        assert_eq!(ctx.traceparent(), h);
        assert!(
            !parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00")
                .unwrap()
                .sampled
        );
        // A later version may append fields.
        assert!(
            parse_traceparent("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x")
                .is_some()
        );
        for bad in [
            "",
            "garbage",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
        ] {
            assert!(parse_traceparent(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn ids_are_distinct_and_non_zero() {
        let mut seen = std::collections::HashSet::new();
        for _ in 0..1000 {
            let id = SpanId::random();
            assert_ne!(id.0, [0; 8]);
            assert!(seen.insert(id));
        }
        assert_ne!(TraceId::random(), TraceId::random());
    }
}
