//! The registry's facts as the API shows and takes them: `EnterpriseFacts`,
//! `RegisterEnterpriseInput` and `FactChangesInput`, each expanded from the one list of facts in
//! `policy::enterprise_facts!`. A fact's API type follows from its value type through [`ApiFact`]
//! (a date is a `Date`, an amount a `Decimal`, a count an `Int`), so adding a fact to that list
//! adds it to all three.

use async_graphql::{InputObject, MaybeUndefined, SimpleObject};
use chrono::NaiveDate;

use super::enterprises::Ownership;
use super::scalars::{Date, Decimal};
use crate::error::AppResult;
use crate::policy::Money;
use crate::services::registry::{self as service, Fact, FactChanges, Facts, Period};

/// A fact's value as the API carries it.
pub trait ApiFact: Sized {
    /// The GraphQL type.
    type Api;

    /// The value as shown.
    fn to_api(self) -> Self::Api;

    /// The value a client gave for `field`.
    ///
    /// # Errors
    /// `BAD_USER_INPUT` on `field` for a value the type cannot hold (a negative count, an amount
    /// with more than 2 decimals).
    fn from_api(api: Self::Api, field: &str) -> AppResult<Self>;
}

/// A value whose API type is itself.
macro_rules! same_in_api {
    ($($ty:ty),*) => {$(
        impl ApiFact for $ty {
            type Api = $ty;

            fn to_api(self) -> Self::Api {
                self
            }

            fn from_api(api: Self::Api, _field: &str) -> AppResult<Self> {
                Ok(api)
            }
        }
    )*};
}

same_in_api!(String, bool);

impl ApiFact for u32 {
    type Api = i32;

    fn to_api(self) -> i32 {
        // Counts come in as GraphQL `Int`s, so every stored one fits.
        i32::try_from(self).unwrap_or(i32::MAX)
    }

    fn from_api(api: i32, field: &str) -> AppResult<u32> {
        service::parse_outside_units(field, api)
    }
}

impl ApiFact for NaiveDate {
    type Api = Date;

    fn to_api(self) -> Date {
        Date(self)
    }

    fn from_api(api: Date, _field: &str) -> AppResult<NaiveDate> {
        Ok(api.0)
    }
}

impl ApiFact for Money {
    type Api = Decimal;

    fn to_api(self) -> Decimal {
        self.into()
    }

    fn from_api(api: Decimal, field: &str) -> AppResult<Money> {
        service::parse_money(field, &api.0)
    }
}

impl ApiFact for crate::policy::Ownership {
    type Api = Ownership;

    fn to_api(self) -> Ownership {
        self.into()
    }

    fn from_api(api: Ownership, _field: &str) -> AppResult<Self> {
        Ok(api.into())
    }
}

impl<T: ApiFact> ApiFact for Option<T> {
    type Api = Option<T::Api>;

    fn to_api(self) -> Self::Api {
        self.map(T::to_api)
    }

    fn from_api(api: Self::Api, field: &str) -> AppResult<Self> {
        api.map(|value| T::from_api(value, field)).transpose()
    }
}

/// A field of `FactChangesInput`: `Option` for a required fact (absent = unchanged),
/// `MaybeUndefined` for a nullable one (absent = unchanged, null = cleared).
trait ChangeSlot<T> {
    /// The change as the registry keeps it.
    fn into_change(self, field: &str) -> AppResult<Option<T>>;
}

impl<T: ApiFact> ChangeSlot<T> for Option<T::Api> {
    fn into_change(self, field: &str) -> AppResult<Option<T>> {
        self.map(|value| T::from_api(value, field)).transpose()
    }
}

impl<T: ApiFact> ChangeSlot<Option<T>> for MaybeUndefined<T::Api> {
    fn into_change(self, field: &str) -> AppResult<Option<Option<T>>> {
        match self {
            MaybeUndefined::Undefined => Ok(None),
            MaybeUndefined::Null => Ok(Some(None)),
            MaybeUndefined::Value(value) => T::from_api(value, field).map(|v| Some(Some(v))),
        }
    }
}

/// The API type of a fact of value type `$ty`.
macro_rules! api_type {
    ($kind:ident, $ty:ty) => {
        <crate::policy::fact_type!($kind, $ty) as ApiFact>::Api
    };
}

/// The type of a fact's field in `FactChangesInput`.
macro_rules! change_type {
    (required, $ty:ty) => {
        Option<<$ty as ApiFact>::Api>
    };
    (nullable, $ty:ty) => {
        MaybeUndefined<<$ty as ApiFact>::Api>
    };
}

/// The API's three shapes of the facts.
macro_rules! api_facts {
    ($(
        $(#[doc = $doc:literal])*
        $field:ident: $variant:ident = $code:literal, $kind:ident $ty:ty $(= $default:literal)?;
    )*) => {
        /// Every fact of an enterprise during one period (the registry's facts, §19).
        #[derive(SimpleObject, Debug, Clone)]
        #[graphql(complex)]
        pub struct EnterpriseFacts {
            /// First day of the period in which these facts hold (inclusive).
            pub valid_from: Date,
            /// Last day of the period (inclusive); null while the facts still hold.
            pub valid_to: Option<Date>,
            $(
                $(#[doc = $doc])*
                pub $field: api_type!($kind, $ty),
            )*
        }

        impl From<Period> for EnterpriseFacts {
            fn from(period: Period) -> Self {
                EnterpriseFacts {
                    valid_from: Date(period.valid_from),
                    valid_to: period.valid_to.map(Date),
                    $($field: ApiFact::to_api(period.facts.$field),)*
                }
            }
        }

        /// Input of `registerEnterprise`: the enterprise's identity and all its initial facts. A
        /// null `hangzhouSince` with a district defaults to `registeredOn`; outside Hangzhou it
        /// must be null.
        #[derive(InputObject, Debug)]
        pub struct RegisterEnterpriseInput {
            /// Unified social credit code, 18 characters (trimmed and upper-cased).
            pub credit_code: String,
            /// The day the initial facts take effect; default `hangzhouSince`. Not in the future.
            pub registered_on: Option<Date>,
            $(
                $(#[doc = $doc])*
                $(#[graphql(default = $default)])?
                pub $field: api_type!($kind, $ty),
            )*
            /// Free-text note kept on the registration event.
            pub note: Option<String>,
        }

        impl RegisterEnterpriseInput {
            /// What the registry service takes, each fact parsed into its value type (errors name
            /// the input field).
            pub(super) fn into_register(self) -> AppResult<service::RegisterInput> {
                Ok(service::RegisterInput {
                    facts: Facts {
                        $($field: ApiFact::from_api(self.$field, Fact::$variant.as_str())?,)*
                    },
                    credit_code: self.credit_code,
                    registered_on: self.registered_on.map(Into::into),
                    note: self.note,
                })
            }
        }

        /// The facts an event sets; omitted fields are unchanged. Each event kind accepts only
        /// some of them (see `EnterpriseEventKind`); for nullable facts an explicit null clears
        /// the fact.
        #[derive(InputObject, Debug, Default)]
        pub struct FactChangesInput {
            $(
                $(#[doc = $doc])*
                pub $field: change_type!($kind, $ty),
            )*
        }

        impl FactChangesInput {
            /// The changes, each parsed into its value type (errors name `changes.<fact>`).
            pub(super) fn into_changes(self) -> AppResult<FactChanges> {
                Ok(FactChanges {
                    $($field: ChangeSlot::into_change(self.$field, &Fact::$variant.change_field())?,)*
                })
            }
        }
    };
}

crate::policy::enterprise_facts!(api_facts);
