//! The one source of randomness for keys, secrets, salts and nonces: the operating system's
//! cryptographically secure generator, read directly through `getrandom`.
//!
//! Keeping every draw in one place means there is exactly one thing to audit, and no
//! user-space generator whose state could be forked or seeded badly.

/// Fills `buf` with bytes from the operating system's secure random source.
///
/// # Panics
/// Only if the operating system cannot provide randomness at all. No key, nonce or salt may be
/// made without it, and there is nothing a caller could sensibly do instead, so this is treated
/// like running out of memory.
pub(crate) fn fill(buf: &mut [u8]) {
    if let Err(e) = getrandom::fill(buf) {
        panic!("the operating system's secure random source failed: {e}");
    }
}

/// An array of `N` secure random bytes.
pub(crate) fn array<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    fill(&mut buf);
    buf
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_differ() {
        // Two 256-bit draws collide with probability 2^-256: equality means a broken source.
        assert_ne!(array::<32>(), array::<32>());
        assert_ne!(array::<32>(), [0u8; 32]);
    }
}
