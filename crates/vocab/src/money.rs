//! [`CurrencyCode`] and [`Money`]: amounts as exact decimals in their currency's ISO 4217 minor
//! units.
//!
//! Why here: travel records what passengers paid, compensation (next) computes what they are
//! owed, and both must agree on what an amount is and how it travels. Never a float in Aloft.

use std::fmt;

use rust_decimal::Decimal;
use serde::{Serialize, Serializer};

crate::string_newtype!(
    CurrencyCode,
    "An active ISO 4217 currency code, upper case (`EUR`)."
);

impl CurrencyCode {
    /// An active ISO 4217 code, any case.
    pub fn parse(s: &str) -> Result<Self, String> {
        let t = s.trim().to_ascii_uppercase();
        if t.len() == 3 && minor_units(&t).is_some() {
            Ok(Self(t))
        } else {
            Err("must be an active ISO 4217 currency code such as EUR, USD or AED".into())
        }
    }

    /// How many decimal places the currency has (ISO 4217 "minor unit"): 2 for EUR, 0 for JPY,
    /// 3 for KWD.
    pub fn minor_units(&self) -> u32 {
        minor_units(&self.0).unwrap_or(2)
    }
}

/// An amount of money.
///
/// Why `rust_decimal` and not integer minor units: amounts arrive as decimal text from retail,
/// web shop and partner systems, compensation rules (EU261 50 % reductions, per-currency caps)
/// divide and multiply amounts, and reports add them across records — a decimal type keeps the
/// exact value through all of that without every caller remembering the currency's exponent.
/// The amount is always rescaled to the currency's ISO 4217 minor units (`12.5 EUR` is stored as
/// `12.50`), and an input with more decimal places than the currency has is rejected rather than
/// rounded. It travels as a JSON *string* (`"12.50"`): JSON numbers are binary floats in most
/// producers and consumers. Never a float in Aloft.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Money {
    /// The amount, scaled to the currency's minor units.
    pub amount: Decimal,
    /// The currency.
    pub currency: CurrencyCode,
}

impl Money {
    /// Parses `amount` (decimal text such as `12.50`, optional leading `-` when `allow_negative`)
    /// in `currency`.
    pub fn parse(
        amount: &str,
        currency: &CurrencyCode,
        allow_negative: bool,
    ) -> Result<Self, String> {
        let t = amount.trim();
        let digits = t.strip_prefix('-').unwrap_or(t);
        let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
        let well_formed = !int.is_empty()
            && int.len() <= 12
            && int.bytes().all(|b| b.is_ascii_digit())
            && frac.bytes().all(|b| b.is_ascii_digit())
            && !(digits.contains('.') && frac.is_empty());
        if !well_formed {
            return Err("must be a decimal amount as a string, e.g. \"12.50\"".into());
        }
        let mut value = Decimal::from_str_exact(t)
            .map_err(|_| "must be a decimal amount as a string, e.g. \"12.50\"".to_string())?;
        if value.is_sign_negative() && !value.is_zero() && !allow_negative {
            return Err("must not be negative".into());
        }
        let units = currency.minor_units();
        value = value.normalize();
        if value.scale() > units {
            return Err(format!(
                "must have at most {units} decimal places for this currency"
            ));
        }
        value.rescale(units);
        Ok(Self {
            amount: value,
            currency: currency.clone(),
        })
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.amount, self.currency)
    }
}

impl Serialize for Money {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Money", 2)?;
        st.serialize_field("amount", &self.amount.to_string())?;
        st.serialize_field("currency", &self.currency)?;
        st.end()
    }
}

/// ISO 4217 minor units of an active currency code; `None` for unknown codes.
fn minor_units(code: &str) -> Option<u32> {
    const ZERO: &str = "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF";
    const THREE: &str = "BHD IQD JOD KWD LYD OMR TND";
    const FOUR: &str = "CLF UYW";
    const TWO: &str = "AED AFN ALL AMD AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BOV BRL \
        BSD BTN BWP BYN BZD CAD CDF CHE CHF CHW CNY COP COU CRC CUP CVE CZK DKK DOP DZD EGP ERN \
        ETB EUR FJD FKP GBP GEL GHS GIP GMD GTQ GYD HKD HNL HTG HUF IDR ILS INR IRR JMD KES KGS \
        KHR KPW KYD KZT LAK LBP LKR LRD LSL MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV \
        MYR MZN NAD NGN NIO NOK NPR NZD PAB PEN PGK PHP PKR PLN QAR RON RSD RUB SAR SBD SCR SDG \
        SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TOP TRY TTD TWD TZS UAH USD USN \
        UYU UZS VED VES WST XCD XCG YER ZAR ZMW ZWG";
    let has = |list: &str| list.split_whitespace().any(|c| c == code);
    if has(TWO) {
        Some(2)
    } else if has(ZERO) {
        Some(0)
    } else if has(THREE) {
        Some(3)
    } else if has(FOUR) {
        Some(4)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample::Rng;

    fn code(s: &str) -> CurrencyCode {
        CurrencyCode::parse(s).unwrap()
    }

    #[test]
    fn amounts_take_the_currency_minor_units() {
        assert_eq!(
            Money::parse("12.5", &code("eur"), false)
                .unwrap()
                .to_string(),
            "12.50 EUR"
        );
        assert_eq!(
            Money::parse("1500", &code("JPY"), false)
                .unwrap()
                .to_string(),
            "1500 JPY"
        );
        assert_eq!(
            Money::parse("1.250", &code("KWD"), false)
                .unwrap()
                .to_string(),
            "1.250 KWD"
        );
        assert_eq!(
            Money::parse("1.5", &code("JPY"), false).unwrap_err(),
            "must have at most 0 decimal places for this currency"
        );
        assert_eq!(
            Money::parse("-1", &code("EUR"), false).unwrap_err(),
            "must not be negative"
        );
        assert!(Money::parse("-1", &code("EUR"), true).is_ok());
        for bad in [
            "",
            "1.",
            ".5",
            "1e3",
            "1,50",
            "0x10",
            "1 000",
            "1234567890123",
        ] {
            assert!(Money::parse(bad, &code("EUR"), true).is_err(), "{bad}");
        }
    }

    #[test]
    fn currency_codes_are_iso_4217() {
        assert_eq!(code(" usd ").as_str(), "USD");
        assert_eq!(code("CLF").minor_units(), 4);
        assert!(CurrencyCode::parse("XXX").is_err() && CurrencyCode::parse("EURO").is_err());
    }

    #[test]
    fn money_travels_as_string_amounts() {
        let m = Money::parse("7", &code("EUR"), false).unwrap();
        assert_eq!(
            serde_json::to_value(&m).unwrap(),
            serde_json::json!({"amount": "7.00", "currency": "EUR"})
        );
    }

    /// Property: an amount's own text parses back to the same amount, in every minor-unit class.
    #[test]
    fn parse_of_amount_text_is_identity() {
        let alphabet: Vec<char> = "0123456789.-".chars().collect();
        let mut rng = Rng::new(11);
        let mut parsed = 0;
        for currency in ["EUR", "JPY", "KWD", "CLF"].map(code) {
            for _ in 0..20_000 {
                let s = rng.string(&alphabet, 10);
                if let Ok(m) = Money::parse(&s, &currency, true) {
                    parsed += 1;
                    assert_eq!(m.amount.scale(), currency.minor_units(), "{s:?}");
                    let again = Money::parse(&m.amount.to_string(), &currency, true).unwrap();
                    assert_eq!(again, m, "{s:?}");
                }
            }
        }
        assert!(parsed > 1000, "{parsed}");
    }
}
