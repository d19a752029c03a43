//! Policy parameters: loading every stored version into a [`ParameterSet`], listing the versions in
//! force on a date, and appending a new version (the parameter table: a change is a new
//! version; a version is never edited).

use chrono::{NaiveDate, Utc};
use rust_decimal::Decimal;
use sea_orm::{
    ActiveValue::{NotSet, Set},
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use serde_json::json;

use crate::auth::Actor;
use crate::error::{AppError, AppResult};
use crate::policy::params::{ParamValue, ParameterSet, ParameterVersion, default_parameters};
use crate::policy::{Money, Ownership};
use crate::services::audit::{self, AuditEntry};
use crate::services::seed::RULE_SET_2023;
use entity::{policy_parameters, rule_sets};

/// What a parameter's value is, which decides how a new version is validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParameterKind {
    /// A date (`policy.valid_from`, `recognition.existing_cutoff`).
    Date,
    /// An amount in yuan: ≥ 0, at most 2 decimals, within the range of `Money`.
    Money,
    /// A ratio: a decimal between 0 and 1 inclusive.
    Ratio,
    /// A non-negative integer: a count or a number of years.
    Count,
    /// A list of GB/T 4754 industry prefixes (1 to 4 digits).
    IndustryPrefixes,
    /// A list of GB/T 4754 industry classes (exactly 4 digits).
    IndustryClasses,
    /// A list of ownership kinds (`PRIVATE`, `PROVINCIAL_SOE`, ...).
    OwnershipKinds,
    /// A list of exchange codes (`SSE`, `HKEX`, ...): upper-case letters and digits.
    Exchanges,
}

impl ParameterKind {
    /// The kind's name as shown to clients.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            ParameterKind::Date => "DATE",
            ParameterKind::Money => "MONEY",
            ParameterKind::Ratio => "RATIO",
            ParameterKind::Count => "COUNT",
            ParameterKind::IndustryPrefixes
            | ParameterKind::IndustryClasses
            | ParameterKind::OwnershipKinds
            | ParameterKind::Exchanges => "LIST",
        }
    }
}

/// The kind of every known parameter (the names of the parameter table, docs/rules.md); `None` for an unknown name.
///
/// Written out name by name rather than guessed from the default value, because a decimal default
/// does not say whether it is an amount (at most 2 decimals, no upper bound) or a ratio (0..=1).
#[must_use]
pub fn kind_of(name: &str) -> Option<ParameterKind> {
    use ParameterKind::{
        Count, Date, Exchanges, IndustryClasses, IndustryPrefixes, Money, OwnershipKinds, Ratio,
    };
    let kind = match name {
        "policy.valid_from" | "policy.valid_to" | "recognition.existing_cutoff" => Date,
        "recognition.revenue_threshold.existing"
        | "recognition.revenue_threshold.new"
        | "recognition.rd_min_spend"
        | "star_reward.3"
        | "star_reward.4"
        | "star_reward.5"
        | "rent_subsidy.cap_per_year"
        | "purchase_subsidy.cap" => Money,
        "recognition.rd_min_ratio"
        | "star_reward.city_share"
        | "rent_subsidy.ratio"
        | "purchase_subsidy.ratio"
        | "rd_subsidy.uplift.1"
        | "rd_subsidy.uplift.2"
        | "rd_subsidy.uplift.3"
        | "rd_subsidy.uplift.4"
        | "rd_subsidy.uplift.5"
        | "settlement.default_rate"
        | "settlement.rate_cap" => Ratio,
        "recognition.min_outside_units"
        | "recognition.ban_years"
        | "talent_quota.1"
        | "talent_quota.2"
        | "talent_quota.3"
        | "talent_quota.4"
        | "talent_quota.5"
        | "vehicle_quota.1"
        | "vehicle_quota.2"
        | "vehicle_quota.3"
        | "vehicle_quota.4"
        | "vehicle_quota.5" => Count,
        "recognition.excluded_industries" => IndustryPrefixes,
        "recognition.review_industries" => IndustryClasses,
        "recognition.excluded_ownership" => OwnershipKinds,
        "recognition.accepted_exchanges" => Exchanges,
        _ => return None,
    };
    Some(kind)
}

/// Whether a district may have its own version of `name`.
///
/// INTERPRETATION(§7): "each district sets its own ratios and caps (it pays them)";
/// every other parameter is a city rule, read with no district (recognition, star rewards,
/// settlement). A district version of a city rule would be silently ignored, so it is refused.
#[must_use]
pub fn is_per_district(name: &str) -> bool {
    name.starts_with("rent_subsidy.") || name.starts_with("purchase_subsidy.")
}

/// Checks `value` against the kind of parameter `name` and returns it in its stored form
/// (amounts with exactly 2 decimals). An integer given for an amount or a ratio is accepted as
/// the same decimal; a float never is (decimals are written as strings).
///
/// # Errors
/// `BAD_USER_INPUT` naming `field` for a value of the wrong kind or out of range.
pub fn validate_value(
    field: &str,
    kind: ParameterKind,
    value: ParamValue,
) -> AppResult<ParamValue> {
    let bad = |message: String| AppError::bad_input(field, message);
    let decimal = |value: ParamValue| match value {
        ParamValue::Decimal(d) => Ok(d),
        ParamValue::Integer(i) => Ok(Decimal::from(i)),
        other => Err(bad(format!(
            "expected a decimal written as a string, got a {}",
            other.kind()
        ))),
    };
    let items = |value: ParamValue| match value {
        ParamValue::List(items) => Ok(items),
        other => Err(bad(format!(
            "expected a list of strings, got a {}",
            other.kind()
        ))),
    };
    match kind {
        ParameterKind::Date => match value {
            ParamValue::Date(date) => Ok(ParamValue::Date(date)),
            other => Err(bad(format!(
                "expected a date (YYYY-MM-DD), got a {}",
                other.kind()
            ))),
        },
        ParameterKind::Money => {
            let amount = decimal(value)?;
            let money = Money::parse_non_negative(&amount).map_err(|e| bad(e.to_string()))?;
            Ok(ParamValue::Decimal(money.to_decimal()))
        }
        ParameterKind::Ratio => {
            let ratio = decimal(value)?;
            if ratio < Decimal::ZERO || ratio > Decimal::ONE {
                return Err(bad(format!("a ratio is between 0 and 1, got {ratio}")));
            }
            Ok(ParamValue::Decimal(ratio))
        }
        ParameterKind::Count => match value {
            ParamValue::Integer(n) if (0..=i64::from(u32::MAX)).contains(&n) => {
                Ok(ParamValue::Integer(n))
            }
            ParamValue::Integer(n) => Err(bad(format!("expected a count ≥ 0, got {n}"))),
            other => Err(bad(format!("expected an integer, got a {}", other.kind()))),
        },
        ParameterKind::IndustryPrefixes
        | ParameterKind::IndustryClasses
        | ParameterKind::OwnershipKinds
        | ParameterKind::Exchanges => {
            let items = items(value)?;
            let mut cleaned = Vec::with_capacity(items.len());
            for (i, item) in items.into_iter().enumerate() {
                let item = item.trim().to_ascii_uppercase();
                let ok = match kind {
                    ParameterKind::IndustryPrefixes => {
                        (1..=4).contains(&item.len()) && item.bytes().all(|b| b.is_ascii_digit())
                    }
                    ParameterKind::IndustryClasses => {
                        item.len() == 4 && item.bytes().all(|b| b.is_ascii_digit())
                    }
                    ParameterKind::OwnershipKinds => item.parse::<Ownership>().is_ok(),
                    _ => {
                        !item.is_empty()
                            && item
                                .bytes()
                                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
                    }
                };
                if !ok {
                    return Err(AppError::bad_input(
                        format!("{field}[{i}]"),
                        format!("`{item}` is not a valid item of this list"),
                    ));
                }
                if cleaned.contains(&item) {
                    return Err(AppError::bad_input(
                        format!("{field}[{i}]"),
                        format!("`{item}` is listed twice"),
                    ));
                }
                cleaned.push(item);
            }
            // An empty list is allowed: 杭政办〔2024〕1号 e.g. drops the SOE exclusion.
            Ok(ParamValue::List(cleaned))
        }
    }
}

fn to_version(row: policy_parameters::Model) -> AppResult<StoredVersion> {
    let value: ParamValue = serde_json::from_str(&row.value).map_err(|e| {
        AppError::internal(format!(
            "policy parameter {} (id {}) has an unreadable value: {e}",
            row.name, row.id
        ))
    })?;
    Ok(StoredVersion {
        version: ParameterVersion {
            id: row.id,
            name: row.name,
            district: row.district_code,
            valid_from: row.valid_from,
            valid_to: row.valid_to,
            value,
            reference: row.reference,
            placeholder: row.placeholder,
        },
        rule_set: row.rule_set,
    })
}

/// A stored parameter version and the rule set it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredVersion {
    /// The version.
    pub version: ParameterVersion,
    /// The code of its rule set, e.g. `HZ-2023-3`.
    pub rule_set: String,
}

/// Every stored version with its rule set, in id order.
///
/// # Errors
/// Database errors; an unreadable stored value is an internal error.
pub async fn load_versions<C: ConnectionTrait>(conn: &C) -> AppResult<Vec<StoredVersion>> {
    let rows = policy_parameters::Entity::find()
        .order_by_asc(policy_parameters::Column::Id)
        .all(conn)
        .await?;
    rows.into_iter().map(to_version).collect()
}

/// Every stored version, as the [`ParameterSet`] the policy reads.
///
/// # Errors
/// Database errors; an unreadable stored value is an internal error.
pub async fn load_set<C: ConnectionTrait>(conn: &C) -> AppResult<ParameterSet> {
    let versions = load_versions(conn).await?;
    Ok(ParameterSet::new(
        versions.into_iter().map(|stored| stored.version).collect(),
    ))
}

/// One parameter version by id.
///
/// # Errors
/// Database errors; an unreadable stored value is internal.
pub async fn version<C: ConnectionTrait>(conn: &C, id: i64) -> AppResult<Option<StoredVersion>> {
    policy_parameters::Entity::find_by_id(id)
        .one(conn)
        .await?
        .map(to_version)
        .transpose()
}

/// The version of every parameter in force on `as_of` for `district` (a district's own beats the
/// general one), in the order of the parameter table (docs/rules.md), then any other name alphabetically.
///
/// # Errors
/// Database errors.
pub async fn in_force<C: ConnectionTrait>(
    conn: &C,
    as_of: NaiveDate,
    district: Option<&str>,
) -> AppResult<Vec<StoredVersion>> {
    let stored = load_versions(conn).await?;
    let set = ParameterSet::new(stored.iter().map(|s| s.version.clone()).collect());
    let mut names: Vec<String> = default_parameters()
        .iter()
        .map(|p| p.name.to_string())
        .collect();
    let mut others: Vec<String> = set
        .versions()
        .iter()
        .map(|v| v.name.clone())
        .filter(|n| !names.contains(n))
        .collect();
    others.sort();
    others.dedup();
    names.extend(others);
    Ok(names
        .iter()
        .filter_map(|name| set.resolve(name, district, as_of))
        .filter_map(|version| stored.iter().find(|s| s.version.id == version.id).cloned())
        .collect())
}

/// A new version of a parameter, as asked for.
#[derive(Debug, Clone)]
pub struct NewVersion {
    /// The parameter name.
    pub name: String,
    /// The value (checked against the parameter's kind).
    pub value: ParamValue,
    /// First day in force.
    pub valid_from: NaiveDate,
    /// Last day in force, if not open-ended.
    pub valid_to: Option<NaiveDate>,
    /// A district's own version (only for per-district parameters).
    pub district: Option<String>,
    /// Legal reference: a clause id or `placeholder (§n)`.
    pub reference: String,
}

/// A parameter's name and value checked as every new version is checked (by
/// `addParameterVersion` and by an amendment): a known name (`{prefix}.name`) and a value of its
/// kind (`{prefix}.value`), in its stored form.
///
/// # Errors
/// `BAD_USER_INPUT` naming the field at fault.
pub fn check_value(prefix: &str, name: &str, value: ParamValue) -> AppResult<(String, ParamValue)> {
    let name = name.trim().to_string();
    let kind = kind_of(&name).ok_or_else(|| {
        AppError::bad_input(
            format!("{prefix}.name"),
            format!("`{name}` is not a policy parameter"),
        )
    })?;
    let value = validate_value(&format!("{prefix}.value"), kind, value)?;
    Ok((name, value))
}

/// A district version checked as every new version is checked: only for the §7 per-district
/// parameters, and only for a known district (`{prefix}.district`).
///
/// # Errors
/// `BAD_USER_INPUT` naming the field at fault; database errors.
pub async fn check_district<C: ConnectionTrait>(
    conn: &C,
    prefix: &str,
    name: &str,
    district: Option<&str>,
) -> AppResult<()> {
    let Some(code) = district else {
        return Ok(());
    };
    let field = format!("{prefix}.district");
    if !is_per_district(name) {
        return Err(AppError::bad_input(
            field,
            format!(
                "`{name}` is a city-wide parameter; only §7 subsidy parameters are set per district"
            ),
        ));
    }
    if crate::services::districts::get(conn, code).await?.is_none() {
        return Err(AppError::bad_input(
            field,
            format!("unknown district `{code}`"),
        ));
    }
    Ok(())
}

/// Serialises parameter and rule-set writes on PostgreSQL (SQLite serialises writers anyway),
/// so two identical requests cannot both pass a duplicate check: every such write locks the row
/// of the first rule set.
pub(crate) async fn lock_parameter_writes<C: ConnectionTrait>(txn: &C) -> AppResult<()> {
    rule_sets::Entity::find_by_id(RULE_SET_2023)
        .lock_exclusive()
        .one(txn)
        .await?;
    Ok(())
}

/// `CONFLICT` when a version of `name` for `district` from `valid_from` exists already.
pub(crate) async fn ensure_no_version_from<C: ConnectionTrait>(
    txn: &C,
    name: &str,
    district: Option<&str>,
    valid_from: NaiveDate,
) -> AppResult<()> {
    let mut same = policy_parameters::Entity::find()
        .filter(policy_parameters::Column::Name.eq(name))
        .filter(policy_parameters::Column::ValidFrom.eq(valid_from));
    same = match district {
        Some(code) => same.filter(policy_parameters::Column::DistrictCode.eq(code)),
        None => same.filter(policy_parameters::Column::DistrictCode.is_null()),
    };
    match same.one(txn).await? {
        Some(existing) => Err(AppError::Conflict(format!(
            "a version of `{name}` from {valid_from} already exists (id {}); versions are never \
             edited: give the new one another validFrom",
            existing.id
        ))),
        None => Ok(()),
    }
}

/// Inserts a checked version of `rule_set`; the reference decides whether it is a placeholder,
/// as for every shipped default.
pub(crate) async fn insert_version<C: ConnectionTrait>(
    txn: &C,
    actor: &Actor,
    rule_set: &str,
    version: ParameterVersion,
) -> AppResult<StoredVersion> {
    let stored_value = serde_json::to_string(&version.value).map_err(AppError::internal)?;
    let inserted = policy_parameters::Entity::insert(policy_parameters::ActiveModel {
        id: NotSet,
        name: Set(version.name.clone()),
        rule_set: Set(rule_set.to_string()),
        district_code: Set(version.district.clone()),
        valid_from: Set(version.valid_from),
        valid_to: Set(version.valid_to),
        value: Set(stored_value),
        reference: Set(version.reference.clone()),
        placeholder: Set(version.placeholder),
        created_at: Set(Utc::now()),
        created_by: Set(actor.sub.clone()),
    })
    .exec(txn)
    .await?;
    Ok(StoredVersion {
        version: ParameterVersion {
            id: inserted.last_insert_id,
            ..version
        },
        rule_set: rule_set.to_string(),
    })
}

/// Appends a version in its own transaction, audited. Existing versions are never touched. The
/// version belongs to the rule set in force on its `validFrom` ([`crate::policy::governing`]).
///
/// # Errors
/// `BAD_USER_INPUT` for an unknown name, a value of the wrong kind, `validTo` before `validFrom`,
/// an unknown district, a district version of a city-wide parameter or an empty reference;
/// `CONFLICT` when a version of the same name and district from the same day exists.
#[tracing::instrument(name = "parameters.add_version", skip_all, fields(role = %actor.role, name = %input.name))]
pub async fn add_version(
    db: &DatabaseConnection,
    actor: &Actor,
    input: NewVersion,
) -> AppResult<StoredVersion> {
    let (name, value) = check_value("input", &input.name, input.value)?;
    if let Some(to) = input.valid_to
        && to < input.valid_from
    {
        return Err(AppError::bad_input(
            "input.validTo",
            "validTo is before validFrom",
        ));
    }
    let reference = input.reference.trim().to_string();
    if reference.is_empty() {
        return Err(AppError::bad_input(
            "input.reference",
            "give the legal reference (a clause id such as §6, or `placeholder (§6)`)",
        ));
    }
    // Every shipped default marks its placeholder by its reference; a new version does the same.
    let placeholder = reference.starts_with("placeholder");
    let district = input.district.map(|d| d.trim().to_string());

    let txn = crate::services::tx::begin_write(db).await?;
    check_district(&txn, "input", &name, district.as_deref()).await?;
    lock_parameter_writes(&txn).await?;
    ensure_no_version_from(&txn, &name, district.as_deref(), input.valid_from).await?;
    let rule_sets = crate::services::rule_sets::load_policy(&txn).await?;
    let rule_set = crate::policy::governing(&rule_sets, input.valid_from)
        .map_or(RULE_SET_2023, |set| set.code.as_str())
        .to_string();
    let stored = insert_version(
        &txn,
        actor,
        &rule_set,
        ParameterVersion {
            id: 0,
            name,
            district,
            valid_from: input.valid_from,
            valid_to: input.valid_to,
            value,
            reference,
            placeholder,
        },
    )
    .await?;
    audit::record(
        &txn,
        actor,
        AuditEntry {
            operation: "addParameterVersion",
            target_type: "policy_parameter",
            target_id: Some(stored.version.id.to_string()),
            before: None,
            after: Some(json!(stored.version)),
        },
    )
    .await?;
    txn.commit().await?;
    Ok(stored)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(s: &str) -> Decimal {
        Decimal::from_str_exact(s).expect("test decimal")
    }

    #[test]
    fn every_shipped_default_has_a_kind_and_passes_its_own_validation() {
        for parameter in default_parameters() {
            let kind = kind_of(parameter.name).unwrap_or_else(|| panic!("{}", parameter.name));
            let checked = validate_value("value", kind, parameter.value.clone());
            assert_eq!(
                checked.ok(),
                Some(parameter.value.clone()),
                "{}",
                parameter.name
            );
        }
    }

    #[test]
    fn an_unknown_name_has_no_kind() {
        assert_eq!(kind_of("star_reward.6"), None);
        assert_eq!(kind_of(""), None);
    }

    #[test]
    fn a_ratio_outside_zero_to_one_is_refused() {
        let cases = [
            ("0", true),
            ("1", true),
            ("0.205", true),
            ("1.01", false),
            ("-0.01", false),
        ];
        for (value, ok) in cases {
            let result = validate_value("v", ParameterKind::Ratio, ParamValue::Decimal(dec(value)));
            assert_eq!(result.is_ok(), ok, "{value}");
        }
    }

    #[test]
    fn an_amount_with_three_decimals_or_below_zero_is_refused() {
        let cases = [
            ("3500000", true),
            ("3500000.5", true),
            ("0", true),
            ("1.005", false),
            ("-1", false),
        ];
        for (value, ok) in cases {
            let result = validate_value("v", ParameterKind::Money, ParamValue::Decimal(dec(value)));
            assert_eq!(result.is_ok(), ok, "{value}");
        }
    }

    #[test]
    fn an_amount_is_stored_with_two_decimals() {
        let result = validate_value("v", ParameterKind::Money, ParamValue::Integer(3_500_000));
        assert_eq!(result.ok(), Some(ParamValue::Decimal(dec("3500000.00"))));
    }

    #[test]
    fn a_value_of_the_wrong_kind_is_refused() {
        let list = ParamValue::List(vec!["66".into()]);
        assert!(validate_value("v", ParameterKind::Money, list.clone()).is_err());
        assert!(validate_value("v", ParameterKind::Count, ParamValue::Decimal(dec("2"))).is_err());
        assert!(validate_value("v", ParameterKind::Count, ParamValue::Integer(-1)).is_err());
        assert!(validate_value("v", ParameterKind::Date, ParamValue::Integer(2)).is_err());
        assert!(
            validate_value("v", ParameterKind::IndustryClasses, ParamValue::Integer(2)).is_err()
        );
    }

    #[test]
    fn list_items_are_checked_and_named_by_position() {
        let list = |items: &[&str]| ParamValue::List(items.iter().map(|s| s.to_string()).collect());
        let err = validate_value(
            "v",
            ParameterKind::OwnershipKinds,
            list(&["PRIVATE", "NOPE"]),
        )
        .unwrap_err();
        assert!(matches!(err, AppError::BadInput { ref field, .. } if field == "v[1]"));
        assert!(
            validate_value("v", ParameterKind::IndustryPrefixes, list(&["66", "69101"])).is_err()
        );
        assert!(validate_value("v", ParameterKind::IndustryClasses, list(&["692"])).is_err());
        assert!(validate_value("v", ParameterKind::Exchanges, list(&["SSE", "SSE"])).is_err());
        assert_eq!(
            validate_value("v", ParameterKind::Exchanges, list(&[" hkex "])).ok(),
            Some(list(&["HKEX"]))
        );
        assert_eq!(
            validate_value("v", ParameterKind::OwnershipKinds, list(&[])).ok(),
            Some(list(&[]))
        );
    }

    #[test]
    fn only_the_section_7_subsidy_parameters_are_set_per_district() {
        assert!(is_per_district("rent_subsidy.ratio"));
        assert!(is_per_district("purchase_subsidy.cap"));
        assert!(!is_per_district("star_reward.3"));
        assert!(!is_per_district("settlement.rate_cap"));
    }
}
