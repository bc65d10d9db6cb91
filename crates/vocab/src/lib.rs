//! The shared vocabulary of Aloft's domains: the ids, codes and text rules that more than one
//! domain uses, defined once.
//!
//! Why a crate of its own: customers, travel, identity, access and (next) compensation all speak
//! of the same customer, airport, flight and amount of money. When each kept its own type, the
//! composition root converted between them through text and their rules drifted apart (two
//! airport-code parsers, two flight-number checks, two accent folds that disagreed on "Müller").
//! Here each exists once, so a value parsed by one domain is the value another receives.
//!
//! - [`CustomerId`]: the golden profile's id (UUIDv7).
//! - [`AirportCode`], [`FlightNumber`]: IATA codes, format rules only (reference data stays
//!   with the domain that owns it).
//! - [`CurrencyCode`], [`Money`]: ISO 4217 codes and decimal amounts in the currency's minor
//!   units.
//! - [`fold`]: the one accent/case/script fold (ICAO 9303 transliteration) for comparing names.
//! - [`string_newtype!`]: the validated string type declaration every domain uses.
//!
//! Invariants: pure (no IO, no async, no database or HTTP types), so every crate may depend on
//! it. Every `parse` returns a sentence describing the expected form and never repeats the
//! submitted value, as the kernel's `FieldReader` expects.

pub mod codes;
pub mod customer;
pub mod fold;
pub mod money;
pub mod newtype;

pub use codes::{AirportCode, FlightNumber};
pub use customer::CustomerId;
pub use fold::{fold, without_umlauts};
pub use money::{CurrencyCode, Money};

#[cfg(test)]
pub(crate) mod sample {
    //! A tiny deterministic generator for property tests (SplitMix64), so the properties run
    //! over thousands of inputs without a property-testing dependency.

    /// A pseudo-random sequence from a seed.
    pub struct Rng(u64);

    impl Rng {
        /// A sequence starting at `seed`.
        pub fn new(seed: u64) -> Self {
            Self(seed)
        }

        /// The next 64 random bits.
        pub fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        }

        /// A number below `n`.
        pub fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }

        /// A string of up to `max` characters drawn from `alphabet`.
        pub fn string(&mut self, alphabet: &[char], max: usize) -> String {
            let len = self.below(max + 1);
            (0..len)
                .map(|_| alphabet[self.below(alphabet.len())])
                .collect()
        }
    }
}
