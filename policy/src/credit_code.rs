//! The unified social credit code (统一社会信用代码, GB 32100-2015), an enterprise's identity.
//!
//! 18 characters from `0123456789ABCDEFGHJKLMNPQRTUWXY` (no I, O, S, V, Z): registration
//! authority (1), entity kind (2), the issuing authority's area (3–8), the organisation code of
//! GB 11714 (9–17) and a check character (18). Positions 3–8 never change when an enterprise moves,
//! so the district is never derived from the code.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The code's alphabet; a character's value is its index.
const ALPHABET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";

/// The weights of positions 1–17: 3^(i−1) mod 31.
const WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

/// The GB 11714 weights of the eight body characters of the organisation code.
const ORGANIZATION_WEIGHTS: [u32; 8] = [3, 7, 9, 10, 5, 8, 4, 2];

/// The number of characters of a code.
pub const LENGTH: usize = 18;

/// Why a text is not a unified social credit code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CreditCodeError {
    /// Not 18 characters after trimming.
    #[error("a unified social credit code has 18 characters, this one has {found}")]
    WrongLength {
        /// The number of characters found.
        found: usize,
    },
    /// A character outside the alphabet (I, O, S, V, Z and anything but digits and letters).
    #[error(
        "invalid character '{character}' at position {position}: only 0-9 and A-Z without I, O, S, V, Z"
    )]
    InvalidCharacter {
        /// 1-based position in the code.
        position: usize,
        /// The character found (upper-cased).
        character: char,
    },
    /// The 18th character does not match the check computed over the first 17.
    #[error("wrong check character '{found}' (expected '{expected}')")]
    WrongCheckCharacter {
        /// The check character the first 17 characters require.
        expected: char,
        /// The check character found.
        found: char,
    },
}

/// A valid unified social credit code, upper-case, 18 characters.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CreditCode(String);

impl CreditCode {
    /// Parses `input`: trimmed, upper-cased, then checked.
    ///
    /// # Errors
    ///
    /// [`CreditCodeError::WrongLength`] unless there are 18 characters,
    /// [`CreditCodeError::InvalidCharacter`] naming the first character outside the alphabet,
    /// [`CreditCodeError::WrongCheckCharacter`] naming the expected check character.
    pub fn parse(input: &str) -> Result<CreditCode, CreditCodeError> {
        let normalized = input.trim().to_uppercase();
        let found = normalized.chars().count();
        if found != LENGTH {
            return Err(CreditCodeError::WrongLength { found });
        }
        let mut values = [0_u32; LENGTH];
        for (index, character) in normalized.chars().enumerate() {
            values[index] = value_of(character).ok_or(CreditCodeError::InvalidCharacter {
                position: index + 1,
                character,
            })?;
        }
        let sum: u32 = values
            .iter()
            .zip(WEIGHTS)
            .map(|(value, weight)| value * weight)
            .sum();
        let expected = (31 - sum % 31) % 31;
        if values[LENGTH - 1] != expected {
            return Err(CreditCodeError::WrongCheckCharacter {
                expected: char_of(expected),
                found: char_of(values[LENGTH - 1]),
            });
        }
        Ok(CreditCode(normalized))
    }

    /// The code as text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The GB 11714 organisation code, positions 9–17 (eight body characters and a check digit).
    #[must_use]
    pub fn organization_code(&self) -> &str {
        &self.0[8..17]
    }

    /// A warning when the GB 11714 check digit (position 17) does not match positions 9–16.
    ///
    /// Older codes carry organisation codes that were issued with wrong check digits, so a mismatch
    /// is reported, never refused. The check is 11 − (Σ value × weight mod 11) with weights
    /// `3 7 9 10 5 8 4 2`, digits worth 0–9 and letters A=10 … Z=35; 10 is written `X`, 11 `0`.
    #[must_use]
    pub fn organization_code_warning(&self) -> Option<String> {
        let code = self.organization_code();
        let (body, check) = code.split_at(8);
        let sum: u32 = body
            .chars()
            .zip(ORGANIZATION_WEIGHTS)
            .map(|(character, weight)| character.to_digit(36).unwrap_or(0) * weight)
            .sum();
        let expected = match 11 - sum % 11 {
            10 => 'X',
            11 => '0',
            digit => char::from_digit(digit, 10).unwrap_or('?'),
        };
        let found = check.chars().next().unwrap_or('?');
        (found != expected).then(|| {
            format!(
                "organization code {body}-{found} (positions 9-17) has a wrong GB 11714 check digit: expected {expected}"
            )
        })
    }
}

/// The value of `character` in the code alphabet.
fn value_of(character: char) -> Option<u32> {
    let byte = u8::try_from(character).ok()?;
    let index = ALPHABET.iter().position(|&b| b == byte)?;
    u32::try_from(index).ok()
}

/// The character of `value` (< 31) in the code alphabet.
fn char_of(value: u32) -> char {
    usize::try_from(value)
        .ok()
        .and_then(|index| ALPHABET.get(index))
        .map_or('?', |&byte| char::from(byte))
}

impl fmt::Display for CreditCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for CreditCode {
    type Err = CreditCodeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        CreditCode::parse(s)
    }
}

impl TryFrom<String> for CreditCode {
    type Error = CreditCodeError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        CreditCode::parse(&value)
    }
}

impl From<CreditCode> for String {
    fn from(code: CreditCode) -> String {
        code.0
    }
}

impl AsRef<str> for CreditCode {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_valid_codes_are_accepted() {
        for text in ["91110000600037341L", "91330100716105852F"] {
            let code = CreditCode::parse(text).expect("valid");
            assert_eq!(code.as_str(), text);
            assert_eq!(code.organization_code_warning(), None, "{text}");
        }
    }

    #[test]
    fn a_code_with_a_wrong_check_character_names_the_expected_one() {
        assert_eq!(
            CreditCode::parse("91110100600037341L"),
            Err(CreditCodeError::WrongCheckCharacter {
                expected: 'R',
                found: 'L'
            })
        );
        let message = CreditCode::parse("91110100600037341L")
            .expect_err("invalid")
            .to_string();
        assert!(message.contains("expected 'R'"), "{message}");
    }

    #[test]
    fn lower_case_and_surrounding_spaces_are_accepted_and_normalised() {
        for text in [
            "91330100716105852f",
            "  91330100716105852F\t",
            " 91330100716105852f\n",
        ] {
            assert_eq!(
                CreditCode::parse(text).map(|c| c.as_str().to_owned()),
                Ok("91330100716105852F".to_owned()),
                "{text:?}"
            );
        }
    }

    #[test]
    fn the_letters_i_o_s_v_z_are_rejected_with_their_position() {
        for letter in ['I', 'O', 'S', 'V', 'Z'] {
            let text = format!("9133010071610585{letter}F");
            assert_eq!(
                CreditCode::parse(&text),
                Err(CreditCodeError::InvalidCharacter {
                    position: 17,
                    character: letter
                }),
                "{text}"
            );
        }
        assert_eq!(
            CreditCode::parse("91330100716105852o"),
            Err(CreditCodeError::InvalidCharacter {
                position: 18,
                character: 'O'
            })
        );
    }

    #[test]
    fn punctuation_and_inner_spaces_are_invalid_characters() {
        assert_eq!(
            CreditCode::parse("9133-100716105852F"),
            Err(CreditCodeError::InvalidCharacter {
                position: 5,
                character: '-'
            })
        );
        assert_eq!(
            CreditCode::parse("9133 100716105852F"),
            Err(CreditCodeError::InvalidCharacter {
                position: 5,
                character: ' '
            })
        );
    }

    #[test]
    fn a_code_of_the_wrong_length_is_rejected_with_its_length() {
        for (text, found) in [
            ("", 0),
            ("9133010071610585F", 17),
            ("91330100716105852FF", 19),
            ("统一社会信用代码", 8),
        ] {
            assert_eq!(
                CreditCode::parse(text),
                Err(CreditCodeError::WrongLength { found }),
                "{text}"
            );
        }
    }

    #[test]
    fn a_wrong_organization_check_digit_is_a_warning_not_an_error() {
        // Valid credit-code check character, but 60003734's GB 11714 check digit is 1, not 2.
        let code = CreditCode::parse("91110000600037342P").expect("valid credit code");
        let warning = code.organization_code_warning().expect("a warning");
        assert!(warning.contains("60003734-2"), "{warning}");
        assert!(warning.contains("expected 1"), "{warning}");
    }

    #[test]
    fn organization_check_digits_ten_and_eleven_are_written_x_and_zero() {
        assert_eq!(
            CreditCode::parse("9133010010000018XC")
                .expect("valid")
                .organization_code_warning(),
            None
        );
        assert_eq!(
            CreditCode::parse("91330100100000040Q")
                .expect("valid")
                .organization_code_warning(),
            None
        );
    }

    #[test]
    fn the_organization_code_is_positions_nine_to_seventeen() {
        let code = CreditCode::parse("91330100716105852F").expect("valid");
        assert_eq!(code.organization_code(), "716105852");
    }

    #[test]
    fn json_holds_the_normalised_code_and_refuses_invalid_ones() {
        let code: CreditCode = serde_json::from_str("\" 91330100716105852f \"").expect("valid");
        assert_eq!(
            serde_json::to_string(&code).expect("json"),
            "\"91330100716105852F\""
        );
        assert!(serde_json::from_str::<CreditCode>("\"91110100600037341L\"").is_err());
    }
}
