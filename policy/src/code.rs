//! Code enums: a closed set of values, each with one stable text code that is stored, cited and
//! serialised (`§3.1`, `STARS_BELOW_3`, `SUBMITTED`, ...).
//!
//! [`code_enum!`] declares such an enum once, each variant beside its code, and derives from that
//! one list everything that used to be written by hand for each of them: `ALL` (declaration
//! order), `as_str`, `Display`, `FromStr` (an unknown text is an [`UnknownCode`], never a default)
//! and serde as the code. Methods that say what a value means (`clause()`, `condition()`, ...)
//! stay beside each enum.

use std::fmt;
use std::marker::PhantomData;
use std::str::FromStr;

/// A text that is not one of the codes of a code enum (e.g. a stored value this build does not
/// know): the message names what was parsed and lists the codes it accepts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} `{code}`: expected {}", one_of(.expected))]
pub struct UnknownCode {
    /// What was being parsed, e.g. `reason code`.
    pub what: &'static str,
    /// The text.
    pub code: String,
    /// The codes accepted, in declaration order.
    pub expected: &'static [&'static str],
}

/// `A, B or C`.
fn one_of(codes: &[&str]) -> String {
    match codes {
        [] => String::new(),
        [only] => (*only).to_owned(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

/// Deserialises a code enum from its code, without an intermediate `String`.
///
/// # Errors
///
/// The deserializer's error for anything but a string, or for an unknown code.
#[doc(hidden)]
pub fn deserialize_code<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: FromStr<Err = UnknownCode>,
{
    struct CodeVisitor<T>(PhantomData<T>);

    impl<T: FromStr<Err = UnknownCode>> serde::de::Visitor<'_> for CodeVisitor<T> {
        type Value = T;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a code string")
        }

        fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<T, E> {
            text.parse().map_err(E::custom)
        }
    }

    deserializer.deserialize_str(CodeVisitor(PhantomData))
}

/// Declares a code enum: its variants (attributes and `///` docs pass through) each with its
/// stable code, and `what` it is for error messages.
///
/// ```ignore
/// code_enum! {
///     /// The kind of a §7 payment.
///     #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
///     pub enum PaymentKind: "payment kind" {
///         /// 租房补助.
///         Rent = "RENT",
///         /// 购房补助.
///         Purchase = "PURCHASE",
///     }
/// }
/// ```
///
/// generates the enum and `PaymentKind::ALL` (declaration order), `PaymentKind::as_str`,
/// `Display` (the code), `FromStr` (`Err = UnknownCode`) and `Serialize`/`Deserialize` (the code
/// as a string). The enum must be `Copy` and must not derive serde itself. The crate that uses it
/// must depend on `serde`.
#[macro_export]
macro_rules! code_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident: $what:literal {
            $(
                $(#[$variant_meta:meta])*
                $variant:ident = $code:literal
            ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        $vis enum $name {
            $(
                $(#[$variant_meta])*
                $variant,
            )+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: [$name; [$($code),+].len()] = [$($name::$variant),+];

            /// The stable code, as stored, cited and serialised.
            #[must_use]
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $code,)+
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::UnknownCode;

            /// Parses a code as written by `as_str`.
            ///
            /// # Errors
            ///
            /// An `UnknownCode` for any other text.
            fn from_str(text: &str) -> ::std::result::Result<Self, Self::Err> {
                const CODES: &[&str] = &[$($code),+];
                $name::ALL
                    .into_iter()
                    .find(|value| value.as_str() == text)
                    .ok_or_else(|| $crate::UnknownCode {
                        what: $what,
                        code: text.to_owned(),
                        expected: CODES,
                    })
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(
                &self,
                serializer: S,
            ) -> ::std::result::Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(
                deserializer: D,
            ) -> ::std::result::Result<Self, D::Error> {
                $crate::deserialize_code(deserializer)
            }
        }
    };
}

/// Test helpers for code enums.
#[cfg(test)]
pub(crate) mod testing {
    use std::fmt::Debug;
    use std::str::FromStr;

    use serde::Serialize;
    use serde::de::DeserializeOwned;

    use super::UnknownCode;

    /// Every value round-trips through its code (text and JSON), the codes are distinct, and a
    /// text that is no code is an [`UnknownCode`].
    pub(crate) fn assert_codes_round_trip<T>(all: &[T], as_str: fn(T) -> &'static str)
    where
        T: Copy + Eq + Debug + FromStr<Err = UnknownCode> + Serialize + DeserializeOwned,
    {
        let mut seen = std::collections::HashSet::new();
        for &value in all {
            let code = as_str(value);
            assert!(seen.insert(code), "the code {code} is used twice");
            assert_eq!(code.parse::<T>(), Ok(value), "{code}");
            let json = serde_json::to_string(&value).expect("serialises");
            assert_eq!(json, format!("\"{code}\""));
            assert_eq!(
                serde_json::from_str::<T>(&json).expect("deserialises"),
                value
            );
        }
        let unknown = "NO_SUCH_CODE".parse::<T>().expect_err("not a code");
        assert_eq!(unknown.code, "NO_SUCH_CODE");
        let codes: Vec<&str> = all.iter().map(|&value| as_str(value)).collect();
        assert_eq!(unknown.expected, codes);
        assert!(serde_json::from_str::<T>("\"NO_SUCH_CODE\"").is_err());
    }
}

#[cfg(test)]
mod tests {
    use super::UnknownCode;

    #[test]
    fn an_unknown_code_lists_the_codes_it_accepts() {
        let error = UnknownCode {
            what: "payment kind",
            code: "rent".to_owned(),
            expected: &["RENT", "PURCHASE"],
        };
        assert_eq!(
            error.to_string(),
            "unknown payment kind `rent`: expected RENT or PURCHASE"
        );
    }
}
