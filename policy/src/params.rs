//! Dated policy parameters: every amount, ratio or list the text leaves open.
//!
//! A parameter has versions, each valid from a date and optionally to a date (both inclusive),
//! general or for one district, with a legal reference or `placeholder` (the amount was not found
//! in any public text and a deployment must set it). A version used by a stored decision is never
//! edited: a change is a new version. The rules read parameters through a [`ParameterReader`],
//! which records the version ids it used so the decision can store them.

use std::collections::BTreeSet;
use std::fmt;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize, Serializer, de, ser::SerializeSeq};

use super::PolicyError;
use super::dates::{self, DateError};
use super::money::{Money, exact_decimal};

/// The value of a parameter version.
///
/// JSON: a decimal or a date is a string (`"0.10"`, `"2021-12-31"`), an integer a number, a list
/// an array of strings. Floats are refused: decimals are always written as strings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParamValue {
    /// An amount in yuan or a ratio, exact.
    Decimal(Decimal),
    /// A count or a number of years.
    Integer(i64),
    /// A date.
    Date(NaiveDate),
    /// A list of codes (industry prefixes, ownership kinds, exchanges).
    List(Vec<String>),
}

impl ParamValue {
    /// The kind of the value, as named in error messages: `decimal`, `integer`, `date`, `list`.
    #[must_use]
    pub const fn kind(&self) -> &'static str {
        match self {
            ParamValue::Decimal(_) => "decimal",
            ParamValue::Integer(_) => "integer",
            ParamValue::Date(_) => "date",
            ParamValue::List(_) => "list",
        }
    }
}

impl fmt::Display for ParamValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParamValue::Decimal(value) => write!(f, "{value}"),
            ParamValue::Integer(value) => write!(f, "{value}"),
            ParamValue::Date(value) => write!(f, "{value}"),
            ParamValue::List(values) => f.write_str(&values.join(" ")),
        }
    }
}

impl Serialize for ParamValue {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            ParamValue::Decimal(value) => serializer.collect_str(value),
            ParamValue::Integer(value) => serializer.serialize_i64(*value),
            ParamValue::Date(value) => serializer.collect_str(value),
            ParamValue::List(values) => {
                let mut seq = serializer.serialize_seq(Some(values.len()))?;
                for value in values {
                    seq.serialize_element(value)?;
                }
                seq.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for ParamValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ValueVisitor;

        impl<'de> de::Visitor<'de> for ValueVisitor {
            type Value = ParamValue;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(
                    "a decimal or date string, an integer, or an array of strings \
                     (decimals are written as strings, never as floats)",
                )
            }

            fn visit_i64<E: de::Error>(self, v: i64) -> Result<ParamValue, E> {
                Ok(ParamValue::Integer(v))
            }

            fn visit_u64<E: de::Error>(self, v: u64) -> Result<ParamValue, E> {
                i64::try_from(v)
                    .map(ParamValue::Integer)
                    .map_err(|_| E::custom(format!("integer {v} is out of range")))
            }

            /// The API's text forms only: a date `YYYY-MM-DD` within the accepted days, or a
            /// decimal `-?[0-9]+(\.[0-9]+)?` (no `+`, `_`, `.5` or `5.`).
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ParamValue, E> {
                match dates::parse_iso_date(v) {
                    Ok(date) => return Ok(ParamValue::Date(date)),
                    Err(DateError::NotIsoForm(_)) => {}
                    Err(refused) => return Err(E::custom(refused)),
                }
                exact_decimal(v).map(ParamValue::Decimal).map_err(|_| {
                    E::custom(format!(
                        "`{v}` is neither a date (YYYY-MM-DD) nor a decimal"
                    ))
                })
            }

            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<ParamValue, A::Error> {
                let mut values = Vec::with_capacity(seq.size_hint().unwrap_or(0));
                while let Some(value) = seq.next_element::<String>()? {
                    values.push(value);
                }
                Ok(ParamValue::List(values))
            }
        }

        deserializer.deserialize_any(ValueVisitor)
    }
}

/// One dated version of a parameter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParameterVersion {
    /// The version's id; stored decisions cite it.
    pub id: i64,
    /// The parameter name, e.g. `recognition.revenue_threshold.new`.
    pub name: String,
    /// The district (GB/T 2260 code) whose own version this is; `None` for the general one.
    pub district: Option<String>,
    /// First day in force (inclusive).
    pub valid_from: NaiveDate,
    /// Last day in force (inclusive); `None` while open-ended.
    pub valid_to: Option<NaiveDate>,
    /// The value.
    pub value: ParamValue,
    /// The legal reference: a clause id, or `placeholder (§6)` when the text gives no value.
    pub reference: String,
    /// Whether the value is a placeholder a deployment must set.
    pub placeholder: bool,
}

impl ParameterVersion {
    /// Whether the version is in force on `on` (both bounds inclusive).
    #[must_use]
    pub fn in_force_on(&self, on: NaiveDate) -> bool {
        self.valid_from <= on && self.valid_to.is_none_or(|to| on <= to)
    }
}

/// The version of `name` in force on `on` for `district`.
///
/// Among the versions of that name in force on `on`, a district's own beats the general one
/// (versions of other districts are ignored; `district = None` sees only general versions); then
/// the latest `valid_from` wins, and of two with the same `valid_from`, the higher id (the later
/// one recorded). `None` when nothing is in force.
#[must_use]
pub fn resolve<'a>(
    versions: &'a [ParameterVersion],
    name: &str,
    district: Option<&str>,
    on: NaiveDate,
) -> Option<&'a ParameterVersion> {
    versions
        .iter()
        .filter(|version| version.name == name && version.in_force_on(on))
        .filter(|version| version.district.is_none() || version.district.as_deref() == district)
        .max_by_key(|version| (version.district.is_some(), version.valid_from, version.id))
}

/// A snapshot of parameter versions, as loaded for one decision.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParameterSet {
    versions: Vec<ParameterVersion>,
}

impl ParameterSet {
    /// A set of the given versions.
    #[must_use]
    pub fn new(versions: Vec<ParameterVersion>) -> ParameterSet {
        ParameterSet { versions }
    }

    /// The shipped defaults ([`default_parameters`]) with ids 1, 2, … in table order.
    #[must_use]
    pub fn shipped_defaults() -> ParameterSet {
        let versions = default_parameters()
            .into_iter()
            .zip(1..)
            .map(|(parameter, id)| parameter.to_version(id))
            .collect();
        ParameterSet { versions }
    }

    /// The versions of the snapshot.
    #[must_use]
    pub fn versions(&self) -> &[ParameterVersion] {
        &self.versions
    }

    /// Adds a version (e.g. a district's own, or a later general one).
    pub fn push(&mut self, version: ParameterVersion) {
        self.versions.push(version);
    }

    /// The version of `name` in force on `on` for `district`: see [`resolve`].
    #[must_use]
    pub fn resolve(
        &self,
        name: &str,
        district: Option<&str>,
        on: NaiveDate,
    ) -> Option<&ParameterVersion> {
        resolve(&self.versions, name, district, on)
    }

    /// A reader of the versions in force on `on`, for `district` (or the general ones).
    #[must_use]
    pub fn reader(&self, on: NaiveDate, district: Option<&str>) -> ParameterReader<'_> {
        ParameterReader {
            set: self,
            on,
            district: district.map(str::to_owned),
            used: BTreeSet::new(),
        }
    }
}

/// Typed access to the parameters in force on one date, recording the version ids it used.
///
/// A missing parameter or a value of the wrong kind is an error, never a default.
#[derive(Debug, Clone)]
pub struct ParameterReader<'a> {
    set: &'a ParameterSet,
    on: NaiveDate,
    district: Option<String>,
    used: BTreeSet<i64>,
}

impl<'a> ParameterReader<'a> {
    /// The date the parameters are read for.
    #[must_use]
    pub fn on(&self) -> NaiveDate {
        self.on
    }

    /// The district the parameters are read for (`None`: general versions only).
    #[must_use]
    pub fn district(&self) -> Option<&str> {
        self.district.as_deref()
    }

    /// The ids of the versions read so far, ascending.
    #[must_use]
    pub fn used_version_ids(&self) -> Vec<i64> {
        self.used.iter().copied().collect()
    }

    /// Whether a version of `name` is in force (nothing is recorded as used): for a parameter a
    /// rule reads only where one is set.
    #[must_use]
    pub fn is_set(&self, name: &str) -> bool {
        self.set
            .resolve(name, self.district.as_deref(), self.on)
            .is_some()
    }

    /// The version of `name` in force, recorded as used.
    ///
    /// # Errors
    ///
    /// [`PolicyError::MissingParameter`] when no version is in force.
    pub fn version(&mut self, name: &str) -> Result<&'a ParameterVersion, PolicyError> {
        let set: &'a ParameterSet = self.set;
        let version = set
            .resolve(name, self.district.as_deref(), self.on)
            .ok_or_else(|| PolicyError::MissingParameter {
                name: name.to_owned(),
                district: self.district.clone(),
                on: self.on,
            })?;
        self.used.insert(version.id);
        Ok(version)
    }

    /// A decimal parameter.
    ///
    /// # Errors
    ///
    /// [`PolicyError::MissingParameter`], or [`PolicyError::WrongParameterType`] unless decimal.
    pub fn decimal(&mut self, name: &str) -> Result<Decimal, PolicyError> {
        let version = self.version(name)?;
        match &version.value {
            ParamValue::Decimal(value) => Ok(*value),
            other => Err(wrong_type(version, "decimal", other)),
        }
    }

    /// A ratio: a decimal between 0 and 1 inclusive.
    ///
    /// # Errors
    ///
    /// As [`ParameterReader::decimal`], plus [`PolicyError::InvalidParameter`] outside 0..=1.
    pub fn ratio(&mut self, name: &str) -> Result<Decimal, PolicyError> {
        let value = self.decimal(name)?;
        if value < Decimal::ZERO || value > Decimal::ONE {
            let version = self.version(name)?;
            return Err(invalid(
                version,
                format!("ratio {value} is not between 0 and 1"),
            ));
        }
        Ok(value)
    }

    /// A non-negative amount in yuan with at most two decimal places.
    ///
    /// # Errors
    ///
    /// As [`ParameterReader::decimal`], plus [`PolicyError::InvalidParameter`] for a negative
    /// amount, more than two decimal places or an amount out of range.
    pub fn money(&mut self, name: &str) -> Result<Money, PolicyError> {
        let value = self.decimal(name)?;
        Money::parse_non_negative(&value).map_err(|error| {
            let id = self.set.resolve(name, self.district.as_deref(), self.on);
            PolicyError::InvalidParameter {
                name: name.to_owned(),
                version_id: id.map_or(0, |version| version.id),
                reason: error.to_string(),
            }
        })
    }

    /// An integer parameter.
    ///
    /// # Errors
    ///
    /// [`PolicyError::MissingParameter`], or [`PolicyError::WrongParameterType`] unless integer.
    pub fn integer(&mut self, name: &str) -> Result<i64, PolicyError> {
        let version = self.version(name)?;
        match &version.value {
            ParamValue::Integer(value) => Ok(*value),
            other => Err(wrong_type(version, "integer", other)),
        }
    }

    /// A non-negative integer that fits in `u32` (a count or a number of years).
    ///
    /// # Errors
    ///
    /// As [`ParameterReader::integer`], plus [`PolicyError::InvalidParameter`] when negative or
    /// too large.
    pub fn count(&mut self, name: &str) -> Result<u32, PolicyError> {
        let value = self.integer(name)?;
        u32::try_from(value).map_err(|_| {
            let id = self.set.resolve(name, self.district.as_deref(), self.on);
            PolicyError::InvalidParameter {
                name: name.to_owned(),
                version_id: id.map_or(0, |version| version.id),
                reason: format!("{value} is not a count (0 to {})", u32::MAX),
            }
        })
    }

    /// A date parameter.
    ///
    /// # Errors
    ///
    /// [`PolicyError::MissingParameter`], or [`PolicyError::WrongParameterType`] unless a date.
    pub fn date(&mut self, name: &str) -> Result<NaiveDate, PolicyError> {
        let version = self.version(name)?;
        match &version.value {
            ParamValue::Date(value) => Ok(*value),
            other => Err(wrong_type(version, "date", other)),
        }
    }

    /// A list parameter.
    ///
    /// # Errors
    ///
    /// [`PolicyError::MissingParameter`], or [`PolicyError::WrongParameterType`] unless a list.
    pub fn list(&mut self, name: &str) -> Result<Vec<String>, PolicyError> {
        let version = self.version(name)?;
        match &version.value {
            ParamValue::List(values) => Ok(values.clone()),
            other => Err(wrong_type(version, "list", other)),
        }
    }

    /// A parameter that must be valid for a rule, e.g. a list of ownership kinds: `parse` turns
    /// the list's items into the rule's type.
    ///
    /// # Errors
    ///
    /// As [`ParameterReader::list`], plus [`PolicyError::InvalidParameter`] naming the first item
    /// `parse` refuses.
    pub fn parsed_list<T, E: fmt::Display>(
        &mut self,
        name: &str,
        parse: impl Fn(&str) -> Result<T, E>,
    ) -> Result<Vec<T>, PolicyError> {
        let version = self.version(name)?;
        let ParamValue::List(items) = &version.value else {
            return Err(wrong_type(version, "list", &version.value));
        };
        items
            .iter()
            .map(|item| parse(item).map_err(|error| invalid(version, format!("`{item}`: {error}"))))
            .collect()
    }
}

fn wrong_type(
    version: &ParameterVersion,
    expected: &'static str,
    found: &ParamValue,
) -> PolicyError {
    PolicyError::WrongParameterType {
        name: version.name.clone(),
        version_id: version.id,
        expected,
        found: found.kind(),
    }
}

fn invalid(version: &ParameterVersion, reason: String) -> PolicyError {
    PolicyError::InvalidParameter {
        name: version.name.clone(),
        version_id: version.id,
        reason,
    }
}

/// A row of the shipped defaults table (the parameter table, docs/rules.md).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DefaultParameter {
    /// The parameter name.
    pub name: &'static str,
    /// The default value.
    pub value: ParamValue,
    /// The basis: a clause id, or `placeholder (§n)`.
    pub reference: &'static str,
    /// Whether the value was not found in any public text and a deployment must set it.
    pub placeholder: bool,
}

/// The first day of the shipped defaults: 2023-01-01 (they are open-ended and general).
pub const DEFAULTS_VALID_FROM: NaiveDate = ymd(2023, 1, 1);

impl DefaultParameter {
    /// The default as a general, open-ended version valid from [`DEFAULTS_VALID_FROM`].
    #[must_use]
    pub fn to_version(&self, id: i64) -> ParameterVersion {
        ParameterVersion {
            id,
            name: self.name.to_owned(),
            district: None,
            valid_from: DEFAULTS_VALID_FROM,
            valid_to: None,
            value: self.value.clone(),
            reference: self.reference.to_owned(),
            placeholder: self.placeholder,
        }
    }
}

/// A date known valid at compile time (a wrong literal fails the build, never a request).
const fn ymd(year: i32, month: u32, day: u32) -> NaiveDate {
    match NaiveDate::from_ymd_opt(year, month, day) {
        Some(date) => date,
        None => panic!("invalid date literal"),
    }
}

/// Whole yuan as a `Decimal` with scale 2, e.g. `3000000.00`.
fn yuan(whole: i64) -> ParamValue {
    let mut value = Decimal::from(whole);
    value.rescale(2);
    ParamValue::Decimal(value)
}

/// `hundredths / 100`, e.g. `ratio(10)` = `0.10`.
fn hundredths(hundredths: i64) -> ParamValue {
    ParamValue::Decimal(Decimal::new(hundredths, 2))
}

fn list(items: &[&str]) -> ParamValue {
    ParamValue::List(items.iter().map(|&item| item.to_owned()).collect())
}

/// The shipped defaults, every row of the parameter table (docs/rules.md), in its order.
///
/// Money is a `Decimal` amount in yuan (`"3000000.00"`), ratios are `Decimal`s (`"0.10"`).
/// The per-district parameters (`rent_subsidy.*`, `purchase_subsidy.*`) ship as general versions
/// that a district overrides with its own.
#[must_use]
pub fn default_parameters() -> Vec<DefaultParameter> {
    let row = |name, value, reference, placeholder| DefaultParameter {
        name,
        value,
        reference,
        placeholder,
    };
    vec![
        row(
            "policy.valid_from",
            ParamValue::Date(ymd(2023, 2, 20)),
            "§final",
            false,
        ),
        row(
            "policy.valid_to",
            ParamValue::Date(ymd(2028, 2, 20)),
            "§final",
            false,
        ),
        row(
            "recognition.revenue_threshold.existing",
            yuan(1_000_000_000),
            "§3.2",
            false,
        ),
        row(
            "recognition.revenue_threshold.new",
            yuan(500_000_000),
            "§3.2",
            false,
        ),
        row(
            "recognition.existing_cutoff",
            ParamValue::Date(ymd(2021, 12, 31)),
            "§3.2",
            false,
        ),
        row("recognition.rd_min_spend", yuan(50_000_000), "§3.3", false),
        row("recognition.rd_min_ratio", hundredths(10), "§3.3", false),
        row(
            "recognition.min_outside_units",
            ParamValue::Integer(2),
            "§3.1",
            false,
        ),
        row(
            "recognition.excluded_industries",
            list(&[
                "66", "67", "68", "691", "695", "699", "6311", "6312", "16", "441", "442", "5631",
                "7010",
            ]),
            "§3.1",
            false,
        ),
        row(
            "recognition.review_industries",
            list(&["6319", "6920", "6930", "6940"]),
            "placeholder (§3.1)",
            true,
        ),
        row(
            "recognition.excluded_ownership",
            list(&["PROVINCIAL_SOE", "MUNICIPAL_SOE", "DISTRICT_SOE"]),
            "§3.1",
            false,
        ),
        row(
            "recognition.accepted_exchanges",
            list(&["SSE", "SZSE", "BSE", "HKEX", "NASDAQ", "NYSE"]),
            "§3.4",
            false,
        ),
        row(
            "recognition.ban_years",
            ParamValue::Integer(2),
            "§22",
            false,
        ),
        row("star_reward.3", yuan(3_000_000), "placeholder (§6)", true),
        row("star_reward.4", yuan(5_000_000), "placeholder (§6)", true),
        row("star_reward.5", yuan(10_000_000), "placeholder (§6)", true),
        row(
            "star_reward.city_share",
            hundredths(50),
            "placeholder (§20: 按现行财政体制)",
            true,
        ),
        row(
            "rent_subsidy.ratio",
            hundredths(30),
            "placeholder (§7)",
            true,
        ),
        row(
            "rent_subsidy.cap_per_year",
            yuan(2_000_000),
            "placeholder (§7)",
            true,
        ),
        row(
            "purchase_subsidy.ratio",
            hundredths(5),
            "placeholder (§7)",
            true,
        ),
        row(
            "purchase_subsidy.cap",
            yuan(10_000_000),
            "placeholder (§7)",
            true,
        ),
        row(
            "rd_subsidy.uplift.1",
            hundredths(0),
            "placeholder (§8)",
            true,
        ),
        row(
            "rd_subsidy.uplift.2",
            hundredths(5),
            "placeholder (§8)",
            true,
        ),
        row(
            "rd_subsidy.uplift.3",
            hundredths(10),
            "placeholder (§8)",
            true,
        ),
        row(
            "rd_subsidy.uplift.4",
            hundredths(15),
            "placeholder (§8)",
            true,
        ),
        row(
            "rd_subsidy.uplift.5",
            hundredths(20),
            "placeholder (§8)",
            true,
        ),
        row(
            "talent_quota.1",
            ParamValue::Integer(2),
            "placeholder (§10)",
            true,
        ),
        row(
            "talent_quota.2",
            ParamValue::Integer(3),
            "placeholder (§10)",
            true,
        ),
        row(
            "talent_quota.3",
            ParamValue::Integer(5),
            "placeholder (§10)",
            true,
        ),
        row(
            "talent_quota.4",
            ParamValue::Integer(8),
            "placeholder (§10)",
            true,
        ),
        row(
            "talent_quota.5",
            ParamValue::Integer(12),
            "placeholder (§10)",
            true,
        ),
        row(
            "vehicle_quota.1",
            ParamValue::Integer(0),
            "placeholder (§12)",
            true,
        ),
        row(
            "vehicle_quota.2",
            ParamValue::Integer(0),
            "placeholder (§12)",
            true,
        ),
        row(
            "vehicle_quota.3",
            ParamValue::Integer(0),
            "placeholder (§12)",
            true,
        ),
        row(
            "vehicle_quota.4",
            ParamValue::Integer(0),
            "placeholder (§12)",
            true,
        ),
        row(
            "vehicle_quota.5",
            ParamValue::Integer(0),
            "placeholder (§12)",
            true,
        ),
        row("settlement.default_rate", hundredths(20), "§20", false),
        row("settlement.rate_cap", hundredths(20), "§20", false),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(s: &str) -> NaiveDate {
        s.parse().expect("test date")
    }

    fn dec(s: &str) -> Decimal {
        Decimal::from_str_exact(s).expect("test decimal")
    }

    fn version(
        id: i64,
        district: Option<&str>,
        from: &str,
        to: Option<&str>,
        value: &str,
    ) -> ParameterVersion {
        ParameterVersion {
            id,
            name: "rent_subsidy.ratio".to_owned(),
            district: district.map(str::to_owned),
            valid_from: date(from),
            valid_to: to.map(date),
            value: ParamValue::Decimal(dec(value)),
            reference: "placeholder (§7)".to_owned(),
            placeholder: true,
        }
    }

    fn resolved_id(versions: &[ParameterVersion], district: Option<&str>, on: &str) -> Option<i64> {
        resolve(versions, "rent_subsidy.ratio", district, date(on)).map(|v| v.id)
    }

    #[test]
    fn a_districts_own_version_beats_the_general_one() {
        let versions = [
            version(1, None, "2023-01-01", None, "0.30"),
            version(2, Some("330106"), "2023-01-01", None, "0.40"),
            // A later general version still loses to the district's own.
            version(3, None, "2024-01-01", None, "0.35"),
        ];
        assert_eq!(
            resolved_id(&versions, Some("330106"), "2024-06-01"),
            Some(2)
        );
        assert_eq!(
            resolved_id(&versions, Some("330108"), "2024-06-01"),
            Some(3)
        );
        assert_eq!(resolved_id(&versions, None, "2024-06-01"), Some(3));
    }

    #[test]
    fn the_latest_valid_from_wins() {
        let versions = [
            version(1, None, "2023-01-01", None, "0.30"),
            version(2, None, "2024-07-01", None, "0.25"),
            version(3, None, "2024-01-01", None, "0.20"),
        ];
        let cases = [
            ("2023-12-31", Some(1)),
            ("2024-01-01", Some(3)),
            ("2024-06-30", Some(3)),
            ("2024-07-01", Some(2)),
        ];
        for (on, id) in cases {
            assert_eq!(resolved_id(&versions, None, on), id, "{on}");
        }
    }

    #[test]
    fn of_two_versions_from_the_same_day_the_later_recorded_wins() {
        let versions = [
            version(7, None, "2024-01-01", None, "0.30"),
            version(9, None, "2024-01-01", None, "0.25"),
        ];
        assert_eq!(resolved_id(&versions, None, "2024-01-01"), Some(9));
    }

    #[test]
    fn both_bounds_are_inclusive() {
        let versions = [version(1, None, "2024-01-01", Some("2024-12-31"), "0.30")];
        let cases = [
            ("2023-12-31", None),
            ("2024-01-01", Some(1)),
            ("2024-12-31", Some(1)),
            ("2025-01-01", None),
        ];
        for (on, id) in cases {
            assert_eq!(resolved_id(&versions, None, on), id, "{on}");
        }
    }

    #[test]
    fn an_expired_district_version_falls_back_to_the_general_one() {
        let versions = [
            version(1, None, "2023-01-01", None, "0.30"),
            version(2, Some("330106"), "2023-01-01", Some("2023-12-31"), "0.40"),
        ];
        assert_eq!(
            resolved_id(&versions, Some("330106"), "2023-12-31"),
            Some(2)
        );
        assert_eq!(
            resolved_id(&versions, Some("330106"), "2024-01-01"),
            Some(1)
        );
    }

    #[test]
    fn nothing_in_force_resolves_to_none() {
        let versions = [
            version(1, None, "2024-01-01", None, "0.30"),
            version(2, Some("330106"), "2023-01-01", None, "0.40"),
        ];
        assert_eq!(resolved_id(&versions, None, "2023-06-01"), None);
        assert_eq!(resolved_id(&versions, Some("330108"), "2023-06-01"), None);
        assert_eq!(
            resolve(&versions, "no.such.parameter", None, date("2025-01-01")),
            None
        );
    }

    #[test]
    fn the_reader_records_the_versions_it_used() {
        let set = ParameterSet::shipped_defaults();
        let mut reader = set.reader(date("2024-03-01"), None);
        assert_eq!(reader.integer("recognition.ban_years"), Ok(2));
        assert_eq!(reader.ratio("recognition.rd_min_ratio"), Ok(dec("0.10")));
        assert_eq!(
            reader.money("star_reward.5"),
            Ok(Money::from_fen(1_000_000_000))
        );
        let ban = set
            .resolve("recognition.ban_years", None, date("2024-03-01"))
            .map(|v| v.id);
        let ratio = set
            .resolve("recognition.rd_min_ratio", None, date("2024-03-01"))
            .map(|v| v.id);
        let star = set
            .resolve("star_reward.5", None, date("2024-03-01"))
            .map(|v| v.id);
        let mut expected: Vec<i64> = [ban, ratio, star].into_iter().flatten().collect();
        expected.sort_unstable();
        assert_eq!(reader.used_version_ids(), expected);
    }

    #[test]
    fn a_missing_parameter_is_an_error_not_a_default() {
        let set = ParameterSet::default();
        let mut reader = set.reader(date("2024-03-01"), Some("330106"));
        assert_eq!(
            reader.integer("recognition.ban_years"),
            Err(PolicyError::MissingParameter {
                name: "recognition.ban_years".to_owned(),
                district: Some("330106".to_owned()),
                on: date("2024-03-01"),
            })
        );
        assert!(reader.used_version_ids().is_empty());
    }

    #[test]
    fn defaults_are_not_in_force_before_2023() {
        let set = ParameterSet::shipped_defaults();
        let mut reader = set.reader(date("2022-12-31"), None);
        assert!(matches!(
            reader.integer("recognition.ban_years"),
            Err(PolicyError::MissingParameter { .. })
        ));
    }

    #[test]
    fn a_value_of_the_wrong_kind_is_an_error() {
        let set = ParameterSet::shipped_defaults();
        let mut reader = set.reader(date("2024-03-01"), None);
        assert!(matches!(
            reader.decimal("recognition.ban_years"),
            Err(PolicyError::WrongParameterType {
                expected: "decimal",
                found: "integer",
                ..
            })
        ));
        assert!(matches!(
            reader.date("recognition.excluded_industries"),
            Err(PolicyError::WrongParameterType { found: "list", .. })
        ));
    }

    #[test]
    fn invalid_values_are_refused_by_the_typed_getters() {
        let mut set = ParameterSet::default();
        let mut push = |id, name: &str, value| {
            set.push(ParameterVersion {
                id,
                name: name.to_owned(),
                district: None,
                valid_from: date("2023-01-01"),
                valid_to: None,
                value,
                reference: "test".to_owned(),
                placeholder: false,
            });
        };
        push(1, "ratio.too.big", ParamValue::Decimal(dec("1.01")));
        push(2, "money.three.places", ParamValue::Decimal(dec("1.005")));
        push(3, "money.negative", ParamValue::Decimal(dec("-1")));
        push(4, "count.negative", ParamValue::Integer(-1));
        push(5, "list.bad", list(&["PRIVATE", "NOPE"]));
        let mut reader = set.reader(date("2024-01-01"), None);
        for result in [
            reader.ratio("ratio.too.big").map(|_| ()),
            reader.money("money.three.places").map(|_| ()),
            reader.money("money.negative").map(|_| ()),
            reader.count("count.negative").map(|_| ()),
            reader
                .parsed_list("list.bad", |s| {
                    if s == "PRIVATE" {
                        Ok(())
                    } else {
                        Err("unknown")
                    }
                })
                .map(|_| ()),
        ] {
            assert!(
                matches!(result, Err(PolicyError::InvalidParameter { .. })),
                "{result:?}"
            );
        }
    }

    #[test]
    fn the_defaults_table_has_every_row_of_the_policy() {
        let names: Vec<_> = default_parameters().iter().map(|p| p.name).collect();
        let expected = [
            "policy.valid_from",
            "policy.valid_to",
            "recognition.revenue_threshold.existing",
            "recognition.revenue_threshold.new",
            "recognition.existing_cutoff",
            "recognition.rd_min_spend",
            "recognition.rd_min_ratio",
            "recognition.min_outside_units",
            "recognition.excluded_industries",
            "recognition.review_industries",
            "recognition.excluded_ownership",
            "recognition.accepted_exchanges",
            "recognition.ban_years",
            "star_reward.3",
            "star_reward.4",
            "star_reward.5",
            "star_reward.city_share",
            "rent_subsidy.ratio",
            "rent_subsidy.cap_per_year",
            "purchase_subsidy.ratio",
            "purchase_subsidy.cap",
            "rd_subsidy.uplift.1",
            "rd_subsidy.uplift.2",
            "rd_subsidy.uplift.3",
            "rd_subsidy.uplift.4",
            "rd_subsidy.uplift.5",
            "talent_quota.1",
            "talent_quota.2",
            "talent_quota.3",
            "talent_quota.4",
            "talent_quota.5",
            "vehicle_quota.1",
            "vehicle_quota.2",
            "vehicle_quota.3",
            "vehicle_quota.4",
            "vehicle_quota.5",
            "settlement.default_rate",
            "settlement.rate_cap",
        ];
        assert_eq!(names, expected);
    }

    #[test]
    fn the_default_values_are_those_of_the_policy() {
        let set = ParameterSet::shipped_defaults();
        let value = |name: &str| {
            set.resolve(name, None, date("2023-01-01"))
                .map(|v| v.value.to_string())
                .unwrap_or_default()
        };
        let cases = [
            ("policy.valid_from", "2023-02-20"),
            ("policy.valid_to", "2028-02-20"),
            ("recognition.revenue_threshold.existing", "1000000000.00"),
            ("recognition.revenue_threshold.new", "500000000.00"),
            ("recognition.existing_cutoff", "2021-12-31"),
            ("recognition.rd_min_spend", "50000000.00"),
            ("recognition.rd_min_ratio", "0.10"),
            ("recognition.min_outside_units", "2"),
            (
                "recognition.excluded_industries",
                "66 67 68 691 695 699 6311 6312 16 441 442 5631 7010",
            ),
            ("recognition.review_industries", "6319 6920 6930 6940"),
            (
                "recognition.excluded_ownership",
                "PROVINCIAL_SOE MUNICIPAL_SOE DISTRICT_SOE",
            ),
            (
                "recognition.accepted_exchanges",
                "SSE SZSE BSE HKEX NASDAQ NYSE",
            ),
            ("recognition.ban_years", "2"),
            ("star_reward.3", "3000000.00"),
            ("star_reward.4", "5000000.00"),
            ("star_reward.5", "10000000.00"),
            ("star_reward.city_share", "0.50"),
            ("rent_subsidy.ratio", "0.30"),
            ("rent_subsidy.cap_per_year", "2000000.00"),
            ("purchase_subsidy.ratio", "0.05"),
            ("purchase_subsidy.cap", "10000000.00"),
            ("rd_subsidy.uplift.1", "0.00"),
            ("rd_subsidy.uplift.5", "0.20"),
            ("talent_quota.1", "2"),
            ("talent_quota.5", "12"),
            ("vehicle_quota.1", "0"),
            ("vehicle_quota.5", "0"),
            ("settlement.default_rate", "0.20"),
            ("settlement.rate_cap", "0.20"),
        ];
        for (name, expected) in cases {
            assert_eq!(value(name), expected, "{name}");
        }
    }

    #[test]
    fn defaults_are_general_open_ended_from_2023_and_cite_their_basis() {
        for (parameter, id) in default_parameters().iter().zip(1..) {
            let version = parameter.to_version(id);
            assert_eq!(version.valid_from, date("2023-01-01"));
            assert_eq!(version.valid_to, None);
            assert_eq!(version.district, None);
            assert_eq!(
                version.placeholder,
                version.reference.starts_with("placeholder"),
                "{}",
                version.name
            );
            assert!(version.reference.contains('§'), "{}", version.name);
        }
    }

    #[test]
    fn values_serialise_as_strings_numbers_and_arrays() {
        let cases = [
            (ParamValue::Decimal(dec("3000000.00")), r#""3000000.00""#),
            (ParamValue::Integer(2), "2"),
            (ParamValue::Date(date("2021-12-31")), r#""2021-12-31""#),
            (list(&["66", "67"]), r#"["66","67"]"#),
        ];
        for (value, json) in cases {
            assert_eq!(serde_json::to_string(&value).expect("json"), json);
            let back: ParamValue = serde_json::from_str(json).expect("json");
            assert_eq!(back, value);
        }
    }

    #[test]
    fn a_float_value_is_refused() {
        assert!(serde_json::from_str::<ParamValue>("0.1").is_err());
        assert!(serde_json::from_str::<ParamValue>(r#""ten""#).is_err());
    }

    #[test]
    fn a_decimal_or_date_in_another_text_form_is_refused() {
        for json in [
            r#""+1.00""#,
            r#""1_0.00""#,
            r#"".5""#,
            r#""5.""#,
            r#""1e2""#,
            r#"" 1.00""#,
            r#""2024-1-1""#,
            r#""2024-02-30""#,
            r#""9999-12-31""#,
        ] {
            assert!(serde_json::from_str::<ParamValue>(json).is_err(), "{json}");
        }
    }

    #[test]
    fn a_version_round_trips_through_json() {
        let version = ParameterSet::shipped_defaults().versions()[0].clone();
        let json = serde_json::to_string(&version).expect("json");
        let back: ParameterVersion = serde_json::from_str(&json).expect("json");
        assert_eq!(back, version);
    }
}
