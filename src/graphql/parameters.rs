//! Policy parameters: the versions in force on a date, and appending a new version (HQ_OFFICE).

use async_graphql::{
    ComplexObject, Context, Enum, ID, InputObject, Json, Object, Result, SimpleObject,
};

use super::districts::parse_district_code;
use super::scalars::Date;
use crate::error::AppError;
use crate::policy::params::ParamValue;
use crate::services::parameters::{
    self as service, NewVersion, ParameterKind as Kind, StoredVersion,
};

/// What a parameter's value is.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(rename_items = "SCREAMING_SNAKE_CASE")]
pub enum ParameterKind {
    /// A date, `"YYYY-MM-DD"`.
    Date,
    /// An amount in yuan as a decimal string with at most 2 decimals, e.g. `"3000000.00"`.
    Money,
    /// A ratio between 0 and 1 as a decimal string, e.g. `"0.50"`.
    Ratio,
    /// A non-negative integer (a count or a number of years).
    Count,
    /// A list of codes (industry prefixes or classes, ownership kinds, exchanges).
    List,
}

impl From<Kind> for ParameterKind {
    fn from(kind: Kind) -> Self {
        match kind {
            Kind::Date => ParameterKind::Date,
            Kind::Money => ParameterKind::Money,
            Kind::Ratio => ParameterKind::Ratio,
            Kind::Count => ParameterKind::Count,
            Kind::IndustryPrefixes
            | Kind::IndustryClasses
            | Kind::OwnershipKinds
            | Kind::Exchanges => ParameterKind::List,
        }
    }
}

/// One dated version of a policy parameter (the parameter table, docs/rules.md).
#[derive(SimpleObject, Debug, Clone)]
#[graphql(complex)]
pub struct PolicyParameter {
    /// The version's database id; stored decisions cite it in `parameterVersionIds`.
    pub database_id: i64,
    /// The parameter name, e.g. `star_reward.3`.
    pub name: String,
    /// The value as JSON: a decimal or a date is a string (`"0.10"`, `"2021-12-31"`), an integer a
    /// number, a list an array of strings.
    pub value: Json<serde_json::Value>,
    /// The kind of value.
    pub kind: Option<ParameterKind>,
    /// First day in force (inclusive).
    pub valid_from: Date,
    /// Last day in force (inclusive); `null` while open-ended.
    pub valid_to: Option<Date>,
    /// The legal reference: a clause id such as `§3.2`, or `placeholder (§6)`.
    pub reference: String,
    /// The value was not found in any public text; a deployment must set it.
    pub placeholder: bool,
    /// The district (GB/T 2260 code) whose own version this is; `null` for the general one.
    pub district: Option<String>,
    /// The rule set the version belongs to (see `ruleSets`), e.g. `HZ-2023-3`.
    pub rule_set: String,
}

#[ComplexObject]
impl PolicyParameter {
    /// Opaque global id (`Node`); `node(id:)` refetches it.
    pub(super) async fn id(&self, _ctx: &Context<'_>) -> Result<ID> {
        Ok(super::node::global_id(
            super::node::NodeKind::PolicyParameter,
            &[&self.database_id],
        ))
    }
}

impl From<StoredVersion> for PolicyParameter {
    fn from(stored: StoredVersion) -> Self {
        let v = stored.version;
        let value = serde_json::to_value(&v.value).unwrap_or(serde_json::Value::Null);
        PolicyParameter {
            database_id: v.id,
            kind: service::kind_of(&v.name).map(ParameterKind::from),
            name: v.name,
            value: Json(value),
            valid_from: Date(v.valid_from),
            valid_to: v.valid_to.map(Date),
            reference: v.reference,
            placeholder: v.placeholder,
            district: v.district,
            rule_set: stored.rule_set,
        }
    }
}

/// A new version of a policy parameter. Versions are append-only: an existing one is never edited.
#[derive(InputObject, Debug)]
pub struct AddParameterVersionInput {
    /// A parameter name of the rule table (docs/rules.md), e.g. `star_reward.3`.
    pub name: String,
    /// The value as JSON, of the parameter's kind: an amount or a ratio as a decimal string
    /// (`"3500000.00"`, `"0.50"`; never a float), a date as `"YYYY-MM-DD"`, a count as an integer,
    /// a list as an array of strings.
    pub value: Json<serde_json::Value>,
    /// First day in force (inclusive).
    pub valid_from: Date,
    /// Last day in force (inclusive); omit for open-ended.
    pub valid_to: Option<Date>,
    /// A district's own version (only the §7 `rent_subsidy.*` and `purchase_subsidy.*`); omit for
    /// the general one.
    pub district: Option<String>,
    /// The legal reference: a clause id (`§6`) or `placeholder (§6)`.
    pub reference: String,
}

/// A parameter value sent as JSON, in the one form the parameter table stores.
///
/// # Errors
/// `BAD_USER_INPUT` on `field` for a float or anything but a decimal or date string, an integer
/// or an array of strings.
pub(super) fn parse_value(field: &str, json: serde_json::Value) -> Result<ParamValue, AppError> {
    serde_json::from_value(json).map_err(|_| {
        AppError::bad_input(
            field,
            "a value is a decimal or date string, an integer, or an array of strings \
             (decimals are written as strings, never as floats)",
        )
    })
}

/// Parameter queries.
#[derive(Default)]
pub struct ParameterQuery;

#[Object]
impl ParameterQuery {
    /// The version of every parameter in force on `asOf`, for `district` (its own versions beat
    /// the general ones) or the general versions when `district` is omitted.
    async fn policy_parameters(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The date the versions are in force on.")] as_of: Date,
        #[graphql(desc = "A district's code, to see its own versions; omit for the general ones.")]
        district: Option<String>,
    ) -> Result<Vec<PolicyParameter>> {
        let state = super::state(ctx)?;
        let district = match district {
            Some(code) => {
                let code = parse_district_code("district", &code)?;
                if !state.districts.contains(&code) {
                    return Err(AppError::bad_input("district", "unknown district").into());
                }
                Some(code)
            }
            None => None,
        };
        let versions = service::in_force(&state.db, as_of.into(), district.as_deref()).await?;
        Ok(versions.into_iter().map(PolicyParameter::from).collect())
    }
}

/// Parameter mutations.
#[derive(Default)]
pub struct ParameterMutation;

#[Object]
impl ParameterMutation {
    /// Appends a version of a parameter (HQ_OFFICE). A change of value is always a new version
    /// from a date; a version identical in name, district and `validFrom` is a `CONFLICT`. The
    /// version belongs to the rule set in force on `validFrom`.
    async fn add_parameter_version(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The parameter, its value, the day it takes effect and its reference.")]
        input: AddParameterVersionInput,
    ) -> Result<PolicyParameter> {
        let state = super::state(ctx)?;
        let actor = super::actor(ctx)?;
        let value = parse_value("input.value", input.value.0)?;
        let version = service::add_version(
            &state.db,
            actor,
            NewVersion {
                name: input.name,
                value,
                valid_from: input.valid_from.into(),
                valid_to: input.valid_to.map(Into::into),
                district: input.district,
                reference: input.reference,
            },
        )
        .await?;
        Ok(version.into())
    }
}
