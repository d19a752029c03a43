//! Amounts of money in integer fen (分, 0.01 yuan).
//!
//! Money is never a float: it is stored as `i64` fen, read from the API as a decimal string with
//! at most two places and at most [`Money::MAX_INPUT`] in absolute value, summed only with checked
//! arithmetic, and multiplied by a ratio only through [`Money::floor_mul`] or
//! [`Money::ceil_mul`], which are exact and say which way they round.

use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize, Serializer, de};

/// Why an amount was refused or a computation on amounts failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    /// The text is not a decimal number.
    #[error("`{0}` is not a decimal amount")]
    NotANumber(String),
    /// More than two decimal places as written ("1.50" is fine, "1.005" and "1.500" are not).
    #[error("amount {0} has more than 2 decimal places")]
    TooManyDecimals(Decimal),
    /// The amount does not fit in `Money`.
    #[error("amount {0} is out of range")]
    OutOfRange(String),
    /// An input amount beyond [`Money::MAX_INPUT`] in absolute value.
    #[error(
        "amount {0} is beyond the bound: at most {max} yuan in absolute value",
        max = Money::MAX_INPUT.format_yuan()
    )]
    BeyondBound(String),
    /// A negative amount where none can be.
    #[error("amount {0} is negative")]
    Negative(Money),
    /// An intermediate result left the range of exact arithmetic.
    #[error("amount arithmetic overflowed computing {0}")]
    Overflow(&'static str),
}

/// An amount in fen (0.01 yuan), exact.
///
/// Serialised as a decimal string with two places, e.g. `"2469.13"`; `Display` writes the same,
/// [`Money::format_yuan`] adds thousands separators for verdict texts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Money(i64);

impl Money {
    /// Zero yuan.
    pub const ZERO: Money = Money(0);

    /// The largest amount, in absolute value, that any input may carry: 1,000,000,000,000.00 yuan
    /// (一万亿元, 100,000,000,000,000 fen).
    ///
    /// Every amount the service is given — a payment line, an enterprise's figures or registered
    /// capital, a budget, a parameter — is checked against it where a `Decimal` becomes `Money`
    /// ([`Money::parse_decimal`]); the database checks the same bound on the stored input columns
    /// (migration `m20260102_000001_money_bounds`). A trillion yuan is about half of Hangzhou's
    /// yearly GDP, far above any subsidy, and small enough that 92,233 amounts at the bound still
    /// add up inside `i64`; longer sums are checked, never wrapped.
    pub const MAX_INPUT: Money = Money(100_000_000_000_000);

    /// The amount of `fen` fen.
    #[must_use]
    pub const fn from_fen(fen: i64) -> Money {
        Money(fen)
    }

    /// The amount in fen.
    #[must_use]
    pub const fn fen(self) -> i64 {
        self.0
    }

    /// A whole number of yuan.
    ///
    /// # Errors
    ///
    /// [`MoneyError::OutOfRange`] when `yuan × 100` does not fit in `i64` fen.
    pub fn from_yuan(yuan: i64) -> Result<Money, MoneyError> {
        yuan.checked_mul(100)
            .map(Money)
            .ok_or_else(|| MoneyError::OutOfRange(yuan.to_string()))
    }

    /// The exact amount `value` yuan of an input, which may be negative.
    ///
    /// The places count as written: a `Decimal` keeps the scale of its text, so `"1.500"` is
    /// refused like `"1.005"` (the API's money syntax is `-?[0-9]+(\.[0-9]{1,2})?`).
    ///
    /// # Errors
    ///
    /// [`MoneyError::TooManyDecimals`] when `value` has more than two decimal places;
    /// [`MoneyError::BeyondBound`] when its absolute value exceeds [`Money::MAX_INPUT`].
    /// Never rounds.
    pub fn parse_decimal(value: &Decimal) -> Result<Money, MoneyError> {
        let money = Money::exact(value).map_err(|error| match error {
            MoneyError::OutOfRange(text) => MoneyError::BeyondBound(text),
            other => other,
        })?;
        if money.0.unsigned_abs() > Money::MAX_INPUT.0.unsigned_abs() {
            return Err(MoneyError::BeyondBound(value.to_string()));
        }
        Ok(money)
    }

    /// `value` yuan exactly, with no bound but the range of `i64` fen: the reading of amounts
    /// already stored (see [`FromStr`]), never of inputs.
    fn exact(value: &Decimal) -> Result<Money, MoneyError> {
        let scale = value.scale();
        if scale > 2 {
            return Err(MoneyError::TooManyDecimals(*value));
        }
        // scale ∈ {0, 1, 2}: multiply the mantissa up to fen.
        let factor: i128 = if scale == 0 {
            100
        } else if scale == 1 {
            10
        } else {
            1
        };
        value
            .mantissa()
            .checked_mul(factor)
            .and_then(|fen| i64::try_from(fen).ok())
            .map(Money)
            .ok_or_else(|| MoneyError::OutOfRange(value.to_string()))
    }

    /// Like [`Money::parse_decimal`], for amounts that cannot be negative.
    ///
    /// # Errors
    ///
    /// As [`Money::parse_decimal`], plus [`MoneyError::Negative`] for a value below zero.
    pub fn parse_non_negative(value: &Decimal) -> Result<Money, MoneyError> {
        let money = Money::parse_decimal(value)?;
        if money.is_negative() {
            return Err(MoneyError::Negative(money));
        }
        Ok(money)
    }

    /// The amount as a yuan `Decimal` with scale 2, e.g. `2469.13`.
    #[must_use]
    pub fn to_decimal(self) -> Decimal {
        Decimal::new(self.0, 2)
    }

    /// `self + other`, or `None` on overflow.
    #[must_use]
    pub fn checked_add(self, other: Money) -> Option<Money> {
        self.0.checked_add(other.0).map(Money)
    }

    /// `self − other`, or `None` on overflow.
    #[must_use]
    pub fn checked_sub(self, other: Money) -> Option<Money> {
        self.0.checked_sub(other.0).map(Money)
    }

    /// The sum of `amounts`, or `None` on overflow.
    pub fn checked_sum<I: IntoIterator<Item = Money>>(amounts: I) -> Option<Money> {
        amounts
            .into_iter()
            .try_fold(Money::ZERO, Money::checked_add)
    }

    /// The sum of stored amounts in fen (a column of rows), or `None` on overflow.
    pub fn checked_sum_fen<I: IntoIterator<Item = i64>>(fens: I) -> Option<Money> {
        Money::checked_sum(fens.into_iter().map(Money::from_fen))
    }

    /// Whether the amount is below zero.
    #[must_use]
    pub const fn is_negative(self) -> bool {
        self.0 < 0
    }

    /// Whether the amount is zero.
    #[must_use]
    pub const fn is_zero(self) -> bool {
        self.0 == 0
    }

    /// `amount × ratio` rounded DOWN (towards −∞) to the fen, computed exactly.
    ///
    /// This is the policy's `floor_to_fen`: 不超过 is a ceiling, so a share is never rounded up.
    ///
    /// # Errors
    ///
    /// [`MoneyError::Overflow`] when the exact product or the result leaves the range (never for
    /// ratios in 0..=1).
    pub fn floor_mul(self, ratio: Decimal) -> Result<Money, MoneyError> {
        self.mul_ratio(ratio, Rounding::Floor)
    }

    /// `amount × ratio` rounded UP (towards +∞) to the fen, computed exactly: the smallest amount in
    /// fen that is ≥ the exact product.
    ///
    /// # Errors
    ///
    /// [`MoneyError::Overflow`] as for [`Money::floor_mul`].
    pub fn ceil_mul(self, ratio: Decimal) -> Result<Money, MoneyError> {
        self.mul_ratio(ratio, Rounding::Ceil)
    }

    fn mul_ratio(self, ratio: Decimal, rounding: Rounding) -> Result<Money, MoneyError> {
        // ratio = mantissa / 10^scale exactly, so amount × ratio = fen × mantissa / 10^scale:
        // integer arithmetic in i128, no intermediate rounding.
        let ratio = ratio.normalize();
        let overflow = MoneyError::Overflow("amount × ratio");
        let numerator = i128::from(self.0)
            .checked_mul(ratio.mantissa())
            .ok_or(overflow.clone())?;
        let denominator = 10_i128.checked_pow(ratio.scale()).ok_or(overflow.clone())?;
        let floor = numerator.div_euclid(denominator);
        let exact = numerator.rem_euclid(denominator) == 0;
        let fen = match rounding {
            Rounding::Floor => floor,
            Rounding::Ceil if exact => floor,
            Rounding::Ceil => floor.checked_add(1).ok_or(overflow.clone())?,
        };
        i64::try_from(fen).map(Money).map_err(|_| overflow)
    }

    /// The amount with thousands separators, e.g. `"463,000,000.00"` or `"-1,234.56"`.
    #[must_use]
    pub fn format_yuan(self) -> String {
        self.yuan().to_string()
    }

    /// The text of [`Money::format_yuan`] as a `Display` that allocates nothing, for a figure
    /// written into a longer text (`format!("revenue {} ≥ …", revenue.yuan())`): verdict texts
    /// carry several amounts each, and the yearly round writes them for every enterprise.
    #[must_use]
    pub fn yuan(self) -> Yuan {
        Yuan(self)
    }
}

/// An amount written with thousands separators: [`Money::yuan`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Yuan(Money);

impl fmt::Display for Yuan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The longest text, of `i64::MIN` fen, is 26 bytes: a sign, 17 digits, 5 commas and the
        // point. Written from the right.
        let mut text = [0u8; 32];
        let mut at = text.len();
        let mut put = |byte: u8| {
            at -= 1;
            text[at] = byte;
        };
        let magnitude = self.0.0.unsigned_abs();
        let digit = |n: u64| b'0' + u8::try_from(n % 10).unwrap_or(0);
        put(digit(magnitude));
        put(digit(magnitude / 10));
        put(b'.');
        let mut yuan = magnitude / 100;
        let mut written = 0;
        loop {
            if written > 0 && written % 3 == 0 {
                put(b',');
            }
            put(digit(yuan));
            written += 1;
            yuan /= 10;
            if yuan == 0 {
                break;
            }
        }
        if self.0.is_negative() {
            put(b'-');
        }
        f.pad(std::str::from_utf8(&text[at..]).map_err(|_| fmt::Error)?)
    }
}

/// Reads the API's decimal syntax exactly: `-?[0-9]+(\.[0-9]+)?` — ASCII digits, an optional
/// leading minus, an optional point followed by digits. No `+`, exponent, `_`, spaces or
/// thousands separators, no bare `.5` or `5.`; the scale is kept as written (`"1.500"` has three
/// places).
///
/// # Errors
///
/// [`MoneyError::NotANumber`] for any other text, or for more digits than a `Decimal` holds
/// exactly (28).
pub fn exact_decimal(text: &str) -> Result<Decimal, MoneyError> {
    let not_a_number = || MoneyError::NotANumber(text.to_owned());
    let unsigned = text.strip_prefix('-').unwrap_or(text);
    let (whole, fraction) = match unsigned.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (unsigned, None),
    };
    let digits = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || fraction.is_some_and(|f| !digits(f)) {
        return Err(not_a_number());
    }
    Decimal::from_str_exact(text).map_err(|_| not_a_number())
}

#[derive(Debug, Clone, Copy)]
enum Rounding {
    Floor,
    Ceil,
}

impl fmt::Display for Money {
    /// The plain decimal form, e.g. `2469.13`, `-0.05`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let magnitude = self.0.unsigned_abs();
        let sign = if self.is_negative() { "-" } else { "" };
        write!(f, "{sign}{}.{:02}", magnitude / 100, magnitude % 100)
    }
}

impl FromStr for Money {
    type Err = MoneyError;

    /// Reads a decimal yuan amount such as `"2469.13"`, `"1.5"` or `"-3"`: the inverse of
    /// `Display`, for amounts stored or computed (event changes, fixtures). It checks the text
    /// form and the places but not [`Money::MAX_INPUT`], which bounds inputs: an amount stored
    /// before the bound existed still reads back. Inputs go through [`Money::parse_decimal`].
    ///
    /// # Errors
    ///
    /// [`MoneyError::NotANumber`] for text that is not in the syntax of [`exact_decimal`],
    /// [`MoneyError::TooManyDecimals`] beyond two places, [`MoneyError::OutOfRange`] beyond `i64`
    /// fen.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Money::exact(&exact_decimal(s)?)
    }
}

impl Serialize for Money {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Money {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct MoneyVisitor;

        impl de::Visitor<'_> for MoneyVisitor {
            type Value = Money;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a decimal string with at most 2 decimal places, e.g. \"2469.13\"")
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Money, E> {
                v.parse().map_err(E::custom)
            }
        }

        deserializer.deserialize_str(MoneyVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(s: &str) -> Decimal {
        Decimal::from_str_exact(s).expect("test decimal")
    }

    #[test]
    fn whole_and_fractional_amounts_parse_to_exact_fen() {
        let cases = [
            ("2469.13", 246_913),
            ("1.50", 150),
            ("1.5", 150),
            ("3", 300),
            ("0", 0),
            ("0.01", 1),
            ("-0.05", -5),
            ("1000000000.00", 100_000_000_000),
            ("007.50", 750),
        ];
        for (text, fen) in cases {
            assert_eq!(
                Money::parse_decimal(&dec(text)),
                Ok(Money::from_fen(fen)),
                "{text}"
            );
            assert_eq!(text.parse::<Money>(), Ok(Money::from_fen(fen)), "{text}");
        }
    }

    #[test]
    fn text_beyond_the_input_bound_reads_back_as_stored_but_not_as_input() {
        for money in [
            Money::from_fen(i64::MAX),
            Money::from_fen(i64::MIN),
            Money::from_fen(100_000_000_000_001),
        ] {
            assert_eq!(money.to_string().parse::<Money>(), Ok(money));
            assert!(matches!(
                Money::parse_decimal(&money.to_decimal()),
                Err(MoneyError::BeyondBound(_))
            ));
        }
        assert!(matches!(
            "92233720368547758.08".parse::<Money>(),
            Err(MoneyError::OutOfRange(_))
        ));
        assert!(matches!(
            "1.500".parse::<Money>(),
            Err(MoneyError::TooManyDecimals(_))
        ));
    }

    #[test]
    fn more_than_two_decimal_places_are_rejected_not_rounded() {
        for text in ["1.005", "0.001", "2469.135", "-0.001", "1.500", "1.5000000"] {
            assert!(
                matches!(
                    Money::parse_decimal(&dec(text)),
                    Err(MoneyError::TooManyDecimals(_))
                ),
                "{text}"
            );
        }
    }

    #[test]
    fn an_amount_is_accepted_up_to_a_trillion_yuan_either_way_and_refused_beyond() {
        assert_eq!(
            Money::MAX_INPUT,
            Money::from_yuan(1_000_000_000_000).unwrap()
        );
        let cases = [
            // (text, accepted fen or None = beyond the bound)
            ("1000000000000.00", Some(100_000_000_000_000)),
            ("1000000000000", Some(100_000_000_000_000)),
            ("999999999999.99", Some(99_999_999_999_999)),
            ("-1000000000000.00", Some(-100_000_000_000_000)),
            ("1000000000000.01", None),
            ("-1000000000000.01", None),
            ("1000000000001", None),
            ("90000000000000000.00", None),
            ("92233720368547758.07", None),
            ("92233720368547758.08", None),
            ("-92233720368547758.08", None),
            ("79228162514264337593543950335", None),
        ];
        for (text, expected) in cases {
            let parsed = Money::parse_decimal(&dec(text));
            match expected {
                Some(fen) => assert_eq!(parsed, Ok(Money::from_fen(fen)), "{text}"),
                None => assert!(
                    matches!(parsed, Err(MoneyError::BeyondBound(_))),
                    "{text}: {parsed:?}"
                ),
            }
        }
        let message = Money::parse_decimal(&dec("1000000000000.01"))
            .unwrap_err()
            .to_string();
        assert!(message.contains("1,000,000,000,000.00"), "{message}");
    }

    #[test]
    fn the_bound_also_holds_for_amounts_that_cannot_be_negative() {
        assert_eq!(
            Money::parse_non_negative(&dec("1000000000000.00")),
            Ok(Money::MAX_INPUT)
        );
        assert!(matches!(
            Money::parse_non_negative(&dec("1000000000000.01")),
            Err(MoneyError::BeyondBound(_))
        ));
    }

    #[test]
    fn only_plain_decimal_text_is_a_decimal() {
        for text in [
            "0",
            "12",
            "-12",
            "1.5",
            "1.234",
            "-0.01",
            "007",
            "1000000000000.00",
        ] {
            assert!(exact_decimal(text).is_ok(), "{text}");
        }
        assert_eq!(exact_decimal("1.500").map(|d| d.scale()), Ok(3));
        for text in [
            "",
            "-",
            ".",
            "1e2",
            "1E2",
            "1_0.00",
            "+1.00",
            ".5",
            "5.",
            "-.5",
            "1.2.3",
            " 1",
            "1 ",
            "1,000",
            "１２３",
            "0x10",
            "NaN",
            "--1",
            "1-",
            "123456789012345678901234567890",
        ] {
            assert!(
                matches!(exact_decimal(text), Err(MoneyError::NotANumber(_))),
                "{text}"
            );
        }
    }

    #[test]
    fn text_that_is_not_a_number_is_rejected() {
        assert!(matches!(
            "12,000.00".parse::<Money>(),
            Err(MoneyError::NotANumber(_))
        ));
        assert!(matches!(
            "".parse::<Money>(),
            Err(MoneyError::NotANumber(_))
        ));
        assert!(matches!(
            " 1.00".parse::<Money>(),
            Err(MoneyError::NotANumber(_))
        ));
    }

    #[test]
    fn a_negative_amount_is_rejected_where_none_can_be() {
        assert_eq!(
            Money::parse_non_negative(&dec("-0.01")),
            Err(MoneyError::Negative(Money::from_fen(-1)))
        );
        assert_eq!(Money::parse_non_negative(&dec("0")), Ok(Money::ZERO));
    }

    #[test]
    fn to_decimal_has_scale_two() {
        let value = Money::from_fen(300).to_decimal();
        assert_eq!(value.scale(), 2);
        assert_eq!(value.to_string(), "3.00");
        assert_eq!(Money::from_fen(-5).to_decimal().to_string(), "-0.05");
    }

    #[test]
    fn display_and_json_are_plain_decimal_strings() {
        let money = Money::from_fen(246_913);
        assert_eq!(money.to_string(), "2469.13");
        assert_eq!(Money::from_fen(-5).to_string(), "-0.05");
        assert_eq!(Money::ZERO.to_string(), "0.00");
        assert_eq!(serde_json::to_string(&money).expect("json"), "\"2469.13\"");
        let back: Money = serde_json::from_str("\"2469.13\"").expect("json");
        assert_eq!(back, money);
    }

    #[test]
    fn json_numbers_and_three_decimal_strings_are_refused() {
        assert!(serde_json::from_str::<Money>("2469.13").is_err());
        assert!(serde_json::from_str::<Money>("\"1.005\"").is_err());
    }

    #[test]
    fn format_yuan_groups_thousands() {
        let cases = [
            (46_300_000_000, "463,000,000.00"),
            (0, "0.00"),
            (99_999, "999.99"),
            (100_000, "1,000.00"),
            (-123_456, "-1,234.56"),
            (123_456_789_012, "1,234,567,890.12"),
            (i64::MIN, "-92,233,720,368,547,758.08"),
        ];
        for (fen, text) in cases {
            assert_eq!(Money::from_fen(fen).format_yuan(), text);
            assert_eq!(
                format!("({})", Money::from_fen(fen).yuan()),
                format!("({text})")
            );
        }
        // Every count of digits, either sign: the grouping of a plain rendering.
        let mut fen: i64 = 7;
        while let Some(next) = fen.checked_mul(10) {
            for amount in [fen, -fen, fen - 1] {
                let plain = Money::from_fen(amount).to_string();
                let (whole, cents) = plain.split_once('.').unwrap();
                let digits = whole.trim_start_matches('-');
                let grouped: Vec<String> = digits
                    .as_bytes()
                    .rchunks(3)
                    .rev()
                    .map(|group| String::from_utf8(group.to_vec()).unwrap())
                    .collect();
                let sign = if amount < 0 { "-" } else { "" };
                let expected = format!("{sign}{}.{cents}", grouped.join(","));
                assert_eq!(Money::from_fen(amount).format_yuan(), expected, "{amount}");
            }
            fen = next;
        }
    }

    #[test]
    fn checked_arithmetic_reports_overflow() {
        let a = Money::from_fen(150);
        assert_eq!(
            a.checked_add(Money::from_fen(1)),
            Some(Money::from_fen(151))
        );
        assert_eq!(
            a.checked_sub(Money::from_fen(151)),
            Some(Money::from_fen(-1))
        );
        assert_eq!(
            Money::from_fen(i64::MAX).checked_add(Money::from_fen(1)),
            None
        );
        assert_eq!(
            Money::from_fen(i64::MIN).checked_sub(Money::from_fen(1)),
            None
        );
        assert_eq!(Money::checked_sum([a, a, a]), Some(Money::from_fen(450)));
        assert_eq!(Money::checked_sum([Money::from_fen(i64::MAX), a]), None);
    }

    #[test]
    fn floor_mul_rounds_down_to_the_fen_and_never_half_up() {
        let cases = [
            // (fen, ratio, floor, ceil)
            (1, "0.50", 0, 1),
            (3, "0.50", 1, 2),
            (99, "0.50", 49, 50),
            (100, "0.20", 20, 20),
            (12_345, "0.20", 2_469, 2_469),
            (12_346, "0.20", 2_469, 2_470),
            (999, "0.333", 332, 333),
            (46_300_000_000, "0.10", 4_630_000_000, 4_630_000_000),
            (46_300_000_005, "0.10", 4_630_000_000, 4_630_000_001),
            (5, "0", 0, 0),
            (-3, "0.50", -2, -1),
            (7, "1", 7, 7),
            (7, "0.0000000000000000000000000001", 0, 1),
        ];
        for (fen, ratio, floor, ceil) in cases {
            let money = Money::from_fen(fen);
            assert_eq!(
                money.floor_mul(dec(ratio)),
                Ok(Money::from_fen(floor)),
                "{fen} × {ratio}"
            );
            assert_eq!(
                money.ceil_mul(dec(ratio)),
                Ok(Money::from_fen(ceil)),
                "{fen} × {ratio}"
            );
        }
    }

    #[test]
    fn floor_mul_beyond_the_range_is_an_error() {
        assert!(matches!(
            Money::from_fen(i64::MAX).floor_mul(dec("2")),
            Err(MoneyError::Overflow(_))
        ));
    }

    #[test]
    fn from_yuan_multiplies_by_a_hundred() {
        assert_eq!(
            Money::from_yuan(3_000_000),
            Ok(Money::from_fen(300_000_000))
        );
        assert!(Money::from_yuan(i64::MAX).is_err());
    }
}
