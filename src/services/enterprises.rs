//! The enterprise registry (POLICY.md "Enterprises"): identities, the §19 events that are the
//! append-only source of truth of every fact, the dated fact periods derived from them, and the
//! yearly figures.
//!
//! Facts are never edited in place. A write appends an event (`enterprise_events`) and then
//! rebuilds the enterprise's `enterprise_facts` rows by folding all of its events in
//! (effective date, id) order: each distinct effective date starts a period that runs to the day
//! before the next one, the last period is open. The fold also checks that the history stays
//! coherent (no move out of Hangzhou while outside it, no district without `hangzhou_since`, ...),
//! so an event dated in the middle of the history is refused if it would contradict a later one.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{Datelike, Duration, NaiveDate, Utc};
use rust_decimal::Decimal;
use sea_orm::sea_query::{LikeExpr, Query};
use sea_orm::{
    ActiveModelTrait,
    ActiveValue::{NotSet, Set},
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait, Order,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Select,
};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::json;

use crate::auth::Actor;
use crate::error::{AppError, AppResult};
use crate::policy::{CreditCode, Money, MoneyError, Ownership, dates};
use crate::services::audit::{self, AuditEntry};
use crate::services::tx::begin_write;
use entity::{
    districts, enterprise_events, enterprise_facts, enterprise_figures, enterprises, recognitions,
    star_ratings,
};

/// The longest enterprise name accepted, in characters.
pub const MAX_NAME_CHARS: usize = 200;

/// The earliest year figures can be recorded for.
pub const FIRST_FIGURES_YEAR: i32 = 2000;

/// Today in Hangzhou (UTC+8): "as of today" in POLICY.md means the Hangzhou calendar day.
pub fn today() -> NaiveDate {
    (Utc::now() + Duration::hours(8)).date_naive()
}

/// A fact of POLICY.md "Enterprises", as named in the API, in event changes and in the audit log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Fact {
    /// The enterprise's name.
    Name,
    /// The registered district (`None` = outside Hangzhou).
    DistrictCode,
    /// The first day of the current continuous stay in Hangzhou.
    HangzhouSince,
    /// GB/T 4754-2017 class, 4 digits.
    IndustryCode,
    /// Ownership kind.
    Ownership,
    /// Industrial guidance flag (set by the HQ office).
    IndustrialGuidance,
    /// Independent legal person.
    IndependentLegalPerson,
    /// Deemed legal person (vehicle manufacturing units).
    DeemedLegalPerson,
    /// Operating.
    Operating,
    /// Unified accounting.
    UnifiedAccounting,
    /// R&D facilities.
    RdFacilities,
    /// Stable R&D funding.
    RdStableFunding,
    /// Branches and ≥50%-controlled subsidiaries outside Hangzhou.
    OutsideUnits,
    /// Listing exchange.
    ListingExchange,
    /// Whether the listed entity is in Hangzhou.
    ListedEntityInHangzhou,
    /// On the serious dishonesty list.
    Dishonest,
    /// Owns office premises in Hangzhou.
    OwnsOffice,
    /// Registered capital.
    RegisteredCapital,
}

impl Fact {
    /// Every fact, in the order of POLICY.md.
    pub const ALL: [Fact; 18] = [
        Fact::Name,
        Fact::DistrictCode,
        Fact::HangzhouSince,
        Fact::IndustryCode,
        Fact::Ownership,
        Fact::IndustrialGuidance,
        Fact::IndependentLegalPerson,
        Fact::DeemedLegalPerson,
        Fact::Operating,
        Fact::UnifiedAccounting,
        Fact::RdFacilities,
        Fact::RdStableFunding,
        Fact::OutsideUnits,
        Fact::ListingExchange,
        Fact::ListedEntityInHangzhou,
        Fact::Dishonest,
        Fact::OwnsOffice,
        Fact::RegisteredCapital,
    ];

    /// The fact's name in the API and in stored changes (`districtCode`).
    pub const fn key(self) -> &'static str {
        match self {
            Fact::Name => "name",
            Fact::DistrictCode => "districtCode",
            Fact::HangzhouSince => "hangzhouSince",
            Fact::IndustryCode => "industryCode",
            Fact::Ownership => "ownership",
            Fact::IndustrialGuidance => "industrialGuidance",
            Fact::IndependentLegalPerson => "independentLegalPerson",
            Fact::DeemedLegalPerson => "deemedLegalPerson",
            Fact::Operating => "operating",
            Fact::UnifiedAccounting => "unifiedAccounting",
            Fact::RdFacilities => "rdFacilities",
            Fact::RdStableFunding => "rdStableFunding",
            Fact::OutsideUnits => "outsideUnits",
            Fact::ListingExchange => "listingExchange",
            Fact::ListedEntityInHangzhou => "listedEntityInHangzhou",
            Fact::Dishonest => "dishonest",
            Fact::OwnsOffice => "ownsOffice",
            Fact::RegisteredCapital => "registeredCapital",
        }
    }

    /// The path of this fact inside an event input (`changes.districtCode`).
    fn change_field(self) -> String {
        format!("changes.{}", self.key())
    }
}

/// The §19 event kinds, plus `REGISTERED` (the first event of every enterprise).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    /// Entered into the registry with all its initial facts.
    Registered,
    /// 更名.
    Renamed,
    /// 注册资本变更.
    CapitalChanged,
    /// 合并.
    Merged,
    /// 分立.
    Split,
    /// 解散: stops operating.
    Dissolved,
    /// 清算: stops operating.
    Liquidated,
    /// 股权转让: may change the ownership kind.
    EquityTransferred,
    /// Moved into Hangzhou: a district, and `hangzhou_since` = the effective date.
    MovedIntoHangzhou,
    /// Moved out of Hangzhou: no district, no `hangzhou_since`.
    MovedOutOfHangzhou,
    /// Moved between Hangzhou districts.
    MovedDistrict,
    /// Acquired office premises in Hangzhou.
    OfficeAcquired,
    /// Disposed of its (last) office premises in Hangzhou.
    OfficeDisposed,
    /// Updated flags and counts (guidance, listing, dishonesty, outside units, ...).
    FactsUpdated,
    /// Corrected any fact recorded wrongly.
    Corrected,
}

const MERGE_OR_SPLIT_FACTS: &[Fact] = &[
    Fact::Name,
    Fact::RegisteredCapital,
    Fact::Ownership,
    Fact::IndustryCode,
    Fact::OutsideUnits,
    Fact::Operating,
    Fact::IndependentLegalPerson,
    Fact::UnifiedAccounting,
];

const UPDATABLE_FACTS: &[Fact] = &[
    Fact::IndustryCode,
    Fact::IndustrialGuidance,
    Fact::IndependentLegalPerson,
    Fact::DeemedLegalPerson,
    Fact::UnifiedAccounting,
    Fact::RdFacilities,
    Fact::RdStableFunding,
    Fact::OutsideUnits,
    Fact::ListingExchange,
    Fact::ListedEntityInHangzhou,
    Fact::Dishonest,
];

impl EventKind {
    /// Every kind.
    pub const ALL: [EventKind; 15] = [
        EventKind::Registered,
        EventKind::Renamed,
        EventKind::CapitalChanged,
        EventKind::Merged,
        EventKind::Split,
        EventKind::Dissolved,
        EventKind::Liquidated,
        EventKind::EquityTransferred,
        EventKind::MovedIntoHangzhou,
        EventKind::MovedOutOfHangzhou,
        EventKind::MovedDistrict,
        EventKind::OfficeAcquired,
        EventKind::OfficeDisposed,
        EventKind::FactsUpdated,
        EventKind::Corrected,
    ];

    /// The stored code, e.g. `MOVED_DISTRICT`.
    pub const fn as_str(self) -> &'static str {
        match self {
            EventKind::Registered => "REGISTERED",
            EventKind::Renamed => "RENAMED",
            EventKind::CapitalChanged => "CAPITAL_CHANGED",
            EventKind::Merged => "MERGED",
            EventKind::Split => "SPLIT",
            EventKind::Dissolved => "DISSOLVED",
            EventKind::Liquidated => "LIQUIDATED",
            EventKind::EquityTransferred => "EQUITY_TRANSFERRED",
            EventKind::MovedIntoHangzhou => "MOVED_INTO_HANGZHOU",
            EventKind::MovedOutOfHangzhou => "MOVED_OUT_OF_HANGZHOU",
            EventKind::MovedDistrict => "MOVED_DISTRICT",
            EventKind::OfficeAcquired => "OFFICE_ACQUIRED",
            EventKind::OfficeDisposed => "OFFICE_DISPOSED",
            EventKind::FactsUpdated => "FACTS_UPDATED",
            EventKind::Corrected => "CORRECTED",
        }
    }

    /// Parses a stored code.
    pub fn parse(code: &str) -> Option<EventKind> {
        EventKind::ALL.into_iter().find(|k| k.as_str() == code)
    }

    /// The facts an input of this kind may name in its changes. Kinds with a fixed effect
    /// (dissolution, moving out, office changes) take no changes: the service writes the effect.
    pub fn may_change(self) -> &'static [Fact] {
        match self {
            EventKind::Registered | EventKind::Corrected => &Fact::ALL,
            EventKind::Renamed => &[Fact::Name],
            EventKind::CapitalChanged => &[Fact::RegisteredCapital],
            EventKind::Merged | EventKind::Split => MERGE_OR_SPLIT_FACTS,
            EventKind::EquityTransferred => &[Fact::Ownership],
            EventKind::MovedIntoHangzhou | EventKind::MovedDistrict => &[Fact::DistrictCode],
            EventKind::Dissolved
            | EventKind::Liquidated
            | EventKind::MovedOutOfHangzhou
            | EventKind::OfficeAcquired
            | EventKind::OfficeDisposed => &[],
            EventKind::FactsUpdated => UPDATABLE_FACTS,
        }
    }

    /// The facts an input of this kind must name.
    fn requires(self) -> &'static [Fact] {
        match self {
            EventKind::Renamed => &[Fact::Name],
            EventKind::CapitalChanged => &[Fact::RegisteredCapital],
            EventKind::MovedIntoHangzhou | EventKind::MovedDistrict => &[Fact::DistrictCode],
            _ => &[],
        }
    }

    /// Whether an input of this kind must change at least one fact.
    fn needs_some_change(self) -> bool {
        matches!(self, EventKind::FactsUpdated | EventKind::Corrected)
    }
}

/// Every fact of an enterprise on one day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Facts {
    /// Name.
    pub name: String,
    /// Registered district; `None` = outside Hangzhou.
    pub district_code: Option<String>,
    /// First day of the current continuous stay in Hangzhou.
    pub hangzhou_since: Option<NaiveDate>,
    /// GB/T 4754-2017 class, 4 digits.
    pub industry_code: String,
    /// Ownership kind code (`PRIVATE`, ...).
    pub ownership: String,
    /// Industrial guidance flag.
    pub industrial_guidance: bool,
    /// Independent legal person.
    pub independent_legal_person: bool,
    /// Deemed legal person.
    pub deemed_legal_person: bool,
    /// Operating.
    pub operating: bool,
    /// Unified accounting.
    pub unified_accounting: bool,
    /// R&D facilities.
    pub rd_facilities: bool,
    /// Stable R&D funding.
    pub rd_stable_funding: bool,
    /// Branches and ≥50%-controlled subsidiaries outside Hangzhou.
    pub outside_units: i32,
    /// Listing exchange, if listed.
    pub listing_exchange: Option<String>,
    /// Whether the listed entity is in Hangzhou.
    pub listed_entity_in_hangzhou: bool,
    /// On the serious dishonesty list.
    pub dishonest: bool,
    /// Owns office premises in Hangzhou.
    pub owns_office: bool,
    /// Registered capital, if known.
    pub registered_capital: Option<Money>,
}

impl Facts {
    /// The facts of a stored period row.
    pub fn from_row(row: &enterprise_facts::Model) -> Facts {
        Facts {
            name: row.name.clone(),
            district_code: row.district_code.clone(),
            hangzhou_since: row.hangzhou_since,
            industry_code: row.industry_code.clone(),
            ownership: row.ownership.clone(),
            industrial_guidance: row.industrial_guidance,
            independent_legal_person: row.independent_legal_person,
            deemed_legal_person: row.deemed_legal_person,
            operating: row.operating,
            unified_accounting: row.unified_accounting,
            rd_facilities: row.rd_facilities,
            rd_stable_funding: row.rd_stable_funding,
            outside_units: row.outside_units,
            listing_exchange: row.listing_exchange.clone(),
            listed_entity_in_hangzhou: row.listed_entity_in_hangzhou,
            dishonest: row.dishonest,
            owns_office: row.owns_office,
            registered_capital: row.registered_capital_fen.map(Money::from_fen),
        }
    }

    fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }
}

/// Deserialises a present JSON value (including `null`) as `Some(value)`, so that a missing key
/// (`None`) and an explicit `null` (`Some(None)`) stay distinct.
fn present<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// What one event changes: fact -> new value; absent facts are unchanged. Stored as the event's
/// `changes` JSON object, keyed by [`Fact::key`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FactChanges {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    district_code: Option<Option<String>>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    hangzhou_since: Option<Option<NaiveDate>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    industry_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ownership: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    industrial_guidance: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    independent_legal_person: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    deemed_legal_person: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    operating: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    unified_accounting: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    rd_facilities: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    rd_stable_funding: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    outside_units: Option<i32>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    listing_exchange: Option<Option<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    listed_entity_in_hangzhou: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    dishonest: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    owns_office: Option<bool>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    registered_capital: Option<Option<Money>>,
}

impl FactChanges {
    /// Changes that set every fact to `facts` (the `REGISTERED` event).
    fn all_of(facts: &Facts) -> FactChanges {
        FactChanges {
            name: Some(facts.name.clone()),
            district_code: Some(facts.district_code.clone()),
            hangzhou_since: Some(facts.hangzhou_since),
            industry_code: Some(facts.industry_code.clone()),
            ownership: Some(facts.ownership.clone()),
            industrial_guidance: Some(facts.industrial_guidance),
            independent_legal_person: Some(facts.independent_legal_person),
            deemed_legal_person: Some(facts.deemed_legal_person),
            operating: Some(facts.operating),
            unified_accounting: Some(facts.unified_accounting),
            rd_facilities: Some(facts.rd_facilities),
            rd_stable_funding: Some(facts.rd_stable_funding),
            outside_units: Some(facts.outside_units),
            listing_exchange: Some(facts.listing_exchange.clone()),
            listed_entity_in_hangzhou: Some(facts.listed_entity_in_hangzhou),
            dishonest: Some(facts.dishonest),
            owns_office: Some(facts.owns_office),
            registered_capital: Some(facts.registered_capital),
        }
    }

    /// The facts these changes name.
    fn named(&self) -> Vec<Fact> {
        let present = [
            self.name.is_some(),
            self.district_code.is_some(),
            self.hangzhou_since.is_some(),
            self.industry_code.is_some(),
            self.ownership.is_some(),
            self.industrial_guidance.is_some(),
            self.independent_legal_person.is_some(),
            self.deemed_legal_person.is_some(),
            self.operating.is_some(),
            self.unified_accounting.is_some(),
            self.rd_facilities.is_some(),
            self.rd_stable_funding.is_some(),
            self.outside_units.is_some(),
            self.listing_exchange.is_some(),
            self.listed_entity_in_hangzhou.is_some(),
            self.dishonest.is_some(),
            self.owns_office.is_some(),
            self.registered_capital.is_some(),
        ];
        Fact::ALL
            .into_iter()
            .zip(present)
            .filter_map(|(fact, is_present)| is_present.then_some(fact))
            .collect()
    }

    /// The complete facts of a `REGISTERED` event, if every fact is named.
    fn complete(&self) -> Option<Facts> {
        Some(Facts {
            name: self.name.clone()?,
            district_code: self.district_code.clone()?,
            hangzhou_since: self.hangzhou_since?,
            industry_code: self.industry_code.clone()?,
            ownership: self.ownership.clone()?,
            industrial_guidance: self.industrial_guidance?,
            independent_legal_person: self.independent_legal_person?,
            deemed_legal_person: self.deemed_legal_person?,
            operating: self.operating?,
            unified_accounting: self.unified_accounting?,
            rd_facilities: self.rd_facilities?,
            rd_stable_funding: self.rd_stable_funding?,
            outside_units: self.outside_units?,
            listing_exchange: self.listing_exchange.clone()?,
            listed_entity_in_hangzhou: self.listed_entity_in_hangzhou?,
            dishonest: self.dishonest?,
            owns_office: self.owns_office?,
            registered_capital: self.registered_capital?,
        })
    }

    /// Applies the changes to `facts`.
    fn apply(&self, facts: &mut Facts) {
        fn set<T: Clone>(target: &mut T, value: &Option<T>) {
            if let Some(value) = value {
                *target = value.clone();
            }
        }
        set(&mut facts.name, &self.name);
        set(&mut facts.district_code, &self.district_code);
        set(&mut facts.hangzhou_since, &self.hangzhou_since);
        set(&mut facts.industry_code, &self.industry_code);
        set(&mut facts.ownership, &self.ownership);
        set(&mut facts.industrial_guidance, &self.industrial_guidance);
        set(
            &mut facts.independent_legal_person,
            &self.independent_legal_person,
        );
        set(&mut facts.deemed_legal_person, &self.deemed_legal_person);
        set(&mut facts.operating, &self.operating);
        set(&mut facts.unified_accounting, &self.unified_accounting);
        set(&mut facts.rd_facilities, &self.rd_facilities);
        set(&mut facts.rd_stable_funding, &self.rd_stable_funding);
        set(&mut facts.outside_units, &self.outside_units);
        set(&mut facts.listing_exchange, &self.listing_exchange);
        set(
            &mut facts.listed_entity_in_hangzhou,
            &self.listed_entity_in_hangzhou,
        );
        set(&mut facts.dishonest, &self.dishonest);
        set(&mut facts.owns_office, &self.owns_office);
        set(&mut facts.registered_capital, &self.registered_capital);
    }

    fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }

    fn parse_json(text: &str) -> AppResult<FactChanges> {
        serde_json::from_str(text)
            .map_err(|e| AppError::internal(format!("stored event changes are unreadable: {e}")))
    }
}

/// Changes as a client sends them, before validation. For nullable facts the outer `Option` says
/// whether the fact is changed and the inner one is the new value (`Some(None)` clears it).
#[derive(Debug, Clone, Default)]
pub struct ChangesInput {
    /// New name.
    pub name: Option<String>,
    /// New district; `Some(None)` = outside Hangzhou.
    pub district_code: Option<Option<String>>,
    /// New `hangzhou_since` (corrections only).
    pub hangzhou_since: Option<Option<NaiveDate>>,
    /// New industry class.
    pub industry_code: Option<String>,
    /// New ownership kind code.
    pub ownership: Option<String>,
    /// New industrial guidance flag.
    pub industrial_guidance: Option<bool>,
    /// New independent legal person flag.
    pub independent_legal_person: Option<bool>,
    /// New deemed legal person flag.
    pub deemed_legal_person: Option<bool>,
    /// New operating flag.
    pub operating: Option<bool>,
    /// New unified accounting flag.
    pub unified_accounting: Option<bool>,
    /// New R&D facilities flag.
    pub rd_facilities: Option<bool>,
    /// New stable R&D funding flag.
    pub rd_stable_funding: Option<bool>,
    /// New number of outside units.
    pub outside_units: Option<i32>,
    /// New listing exchange; `Some(None)` = no longer listed.
    pub listing_exchange: Option<Option<String>>,
    /// New "listed entity in Hangzhou" flag.
    pub listed_entity_in_hangzhou: Option<bool>,
    /// New dishonesty flag.
    pub dishonest: Option<bool>,
    /// New office ownership flag (corrections only).
    pub owns_office: Option<bool>,
    /// New registered capital in yuan; `Some(None)` = unknown.
    pub registered_capital: Option<Option<Decimal>>,
}

/// What `registerEnterprise` receives.
#[derive(Debug, Clone)]
pub struct RegisterInput {
    /// Unified social credit code (trimmed and upper-cased here).
    pub credit_code: String,
    /// The day the initial facts take effect; defaults to `hangzhou_since`.
    pub registered_on: Option<NaiveDate>,
    /// Name.
    pub name: String,
    /// Registered district; `None` = outside Hangzhou.
    pub district_code: Option<String>,
    /// First day of the current stay in Hangzhou; defaults to the effective date when in a district.
    pub hangzhou_since: Option<NaiveDate>,
    /// GB/T 4754-2017 class, 4 digits.
    pub industry_code: String,
    /// Ownership kind code.
    pub ownership: String,
    /// Industrial guidance flag.
    pub industrial_guidance: bool,
    /// Independent legal person.
    pub independent_legal_person: bool,
    /// Deemed legal person.
    pub deemed_legal_person: bool,
    /// Operating.
    pub operating: bool,
    /// Unified accounting.
    pub unified_accounting: bool,
    /// R&D facilities.
    pub rd_facilities: bool,
    /// Stable R&D funding.
    pub rd_stable_funding: bool,
    /// Outside units (≥ 0).
    pub outside_units: i32,
    /// Listing exchange, if listed.
    pub listing_exchange: Option<String>,
    /// Whether the listed entity is in Hangzhou.
    pub listed_entity_in_hangzhou: bool,
    /// On the serious dishonesty list.
    pub dishonest: bool,
    /// Owns office premises in Hangzhou.
    pub owns_office: bool,
    /// Registered capital in yuan.
    pub registered_capital: Option<Decimal>,
    /// Free-text note kept on the `REGISTERED` event.
    pub note: Option<String>,
}

/// What `recordEnterpriseEvent` receives.
#[derive(Debug, Clone)]
pub struct EventInput {
    /// The enterprise.
    pub credit_code: String,
    /// The event kind (never `REGISTERED`).
    pub kind: EventKind,
    /// The day the change takes effect.
    pub effective_date: NaiveDate,
    /// The facts it changes.
    pub changes: ChangesInput,
    /// Free-text note.
    pub note: Option<String>,
}

/// The result of a registration.
#[derive(Debug, Clone)]
pub struct Registered {
    /// The new enterprise.
    pub enterprise: enterprises::Model,
    /// Warnings that did not stop the registration (e.g. a GB 11714 check digit mismatch).
    pub warnings: Vec<String>,
}

/// The result of recording an event.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// The enterprise.
    pub enterprise: enterprises::Model,
    /// The stored event.
    pub event: enterprise_events::Model,
}

/// The result of recording figures.
#[derive(Debug, Clone)]
pub struct FiguresRecorded {
    /// The enterprise.
    pub enterprise: enterprises::Model,
    /// The figures as stored.
    pub figures: enterprise_figures::Model,
}

/// One constant period of an enterprise's facts, as derived by [`fold`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Period {
    /// First day (inclusive).
    pub valid_from: NaiveDate,
    /// Last day (inclusive); `None` = open.
    pub valid_to: Option<NaiveDate>,
    /// The facts during the period.
    pub facts: Facts,
}

/// One event as the fold reads it.
#[derive(Debug, Clone)]
pub struct FoldEvent {
    /// The kind.
    pub kind: EventKind,
    /// Effective date.
    pub effective_date: NaiveDate,
    /// What it changes (forced effects included).
    pub changes: FactChanges,
}

/// Why a history does not fold: the event at `index` (in fold order) breaks it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoldError {
    /// Index of the offending event in the folded slice.
    pub index: usize,
    /// The input field at fault (`kind`, `changes.districtCode`, ...).
    pub field: String,
    /// What is wrong.
    pub message: String,
}

/// Facts that must hold on every day of every period.
fn check_invariants(facts: &Facts, from: NaiveDate) -> Result<(), (String, String)> {
    match (&facts.district_code, facts.hangzhou_since) {
        (Some(_), None) => {
            return Err((
                Fact::HangzhouSince.change_field(),
                "an enterprise registered in a Hangzhou district needs hangzhouSince".into(),
            ));
        }
        (None, Some(_)) => {
            return Err((
                Fact::HangzhouSince.change_field(),
                "an enterprise outside Hangzhou has no hangzhouSince".into(),
            ));
        }
        (Some(_), Some(since)) if since > from => {
            return Err((
                Fact::HangzhouSince.change_field(),
                format!("hangzhouSince {since} is after the date these facts take effect ({from})"),
            ));
        }
        _ => {}
    }
    if facts.listed_entity_in_hangzhou && facts.listing_exchange.is_none() {
        return Err((
            Fact::ListedEntityInHangzhou.change_field(),
            "listedEntityInHangzhou needs a listing exchange".into(),
        ));
    }
    Ok(())
}

/// What must hold just before an event of `kind` takes effect.
fn check_precondition(
    kind: EventKind,
    before: &Facts,
    changes: &FactChanges,
) -> Result<(), (String, String)> {
    let kind_error = |message: String| Err(("kind".to_string(), message));
    match kind {
        EventKind::MovedIntoHangzhou => {
            if let Some(district) = &before.district_code {
                return kind_error(format!(
                    "the enterprise is already registered in Hangzhou (district {district}) on that date"
                ));
            }
        }
        EventKind::MovedOutOfHangzhou if before.district_code.is_none() => {
            return kind_error("the enterprise is not in Hangzhou on that date".into());
        }
        EventKind::MovedDistrict => {
            let Some(current) = &before.district_code else {
                return kind_error(
                    "the enterprise is outside Hangzhou on that date: use MOVED_INTO_HANGZHOU"
                        .into(),
                );
            };
            if changes.district_code.as_ref() == Some(&Some(current.clone())) {
                return Err((
                    Fact::DistrictCode.change_field(),
                    format!(
                        "the enterprise is already registered in district {current} on that date"
                    ),
                ));
            }
        }
        EventKind::OfficeDisposed if !before.owns_office => {
            return kind_error("the enterprise owns no office premises on that date".into());
        }
        _ => {}
    }
    Ok(())
}

/// Folds `events` (sorted by effective date, then id) into constant periods.
///
/// The first event must be `REGISTERED` with every fact; no other may be. Each distinct
/// effective date starts a period; the last period is open.
///
/// # Errors
/// A [`FoldError`] naming the first event that breaks a precondition or an invariant.
pub fn fold(events: &[FoldEvent]) -> Result<Vec<Period>, FoldError> {
    let error = |index: usize, (field, message): (String, String)| FoldError {
        index,
        field,
        message,
    };
    let Some(first) = events.first() else {
        return Ok(Vec::new());
    };
    let mut facts = match (first.kind, first.changes.complete()) {
        (EventKind::Registered, Some(facts)) => facts,
        _ => {
            return Err(error(
                0,
                (
                    "kind".into(),
                    "the first event must be a complete REGISTERED event".into(),
                ),
            ));
        }
    };
    check_invariants(&facts, first.effective_date).map_err(|e| error(0, e))?;
    let mut periods: Vec<Period> = Vec::new();
    let mut index = 1;
    let mut current_date = first.effective_date;
    loop {
        // Apply every other event of `current_date`, then close the period.
        while let Some(event) = events
            .get(index)
            .filter(|e| e.effective_date == current_date)
        {
            apply_one(&mut facts, event).map_err(|e| error(index, e))?;
            index += 1;
        }
        check_invariants(&facts, current_date).map_err(|e| error(index - 1, e))?;
        let next = events.get(index).map(|e| e.effective_date);
        periods.push(Period {
            valid_from: current_date,
            valid_to: next.and_then(|d| d.pred_opt()),
            facts: facts.clone(),
        });
        match next {
            Some(date) => current_date = date,
            None => return Ok(periods),
        }
    }
}

fn apply_one(facts: &mut Facts, event: &FoldEvent) -> Result<(), (String, String)> {
    if event.kind == EventKind::Registered {
        return Err((
            "kind".into(),
            "an enterprise is registered only once".into(),
        ));
    }
    check_precondition(event.kind, facts, &event.changes)?;
    event.changes.apply(facts);
    Ok(())
}

/// The period of `periods` containing `date`.
fn period_on(periods: &[Period], date: NaiveDate) -> Option<&Period> {
    periods
        .iter()
        .find(|p| p.valid_from <= date && p.valid_to.is_none_or(|to| to >= date))
}

// ---------------------------------------------------------------------------------------------
// Validation of client input
// ---------------------------------------------------------------------------------------------

fn parse_credit_code(field: &str, text: &str) -> AppResult<CreditCode> {
    CreditCode::parse(text).map_err(|e| AppError::bad_input(field, e.to_string()))
}

fn validate_name(field: &str, name: &str) -> AppResult<String> {
    let name = name.trim();
    if name.is_empty() {
        return Err(AppError::bad_input(field, "the name must not be empty"));
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(AppError::bad_input(
            field,
            format!("the name is longer than {MAX_NAME_CHARS} characters"),
        ));
    }
    Ok(name.to_string())
}

fn validate_district(
    field: &str,
    code: Option<&str>,
    known: &HashSet<String>,
) -> AppResult<Option<String>> {
    let Some(code) = code.map(str::trim) else {
        return Ok(None);
    };
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(AppError::bad_input(
            field,
            "a district code is 6 digits (GB/T 2260)",
        ));
    }
    if !known.contains(code) {
        return Err(AppError::bad_input(
            field,
            format!("{code} is not a Hangzhou district"),
        ));
    }
    Ok(Some(code.to_string()))
}

fn validate_industry(field: &str, code: &str) -> AppResult<String> {
    let code = code.trim();
    if code.len() == 4 && code.bytes().all(|b| b.is_ascii_digit()) {
        Ok(code.to_string())
    } else {
        Err(AppError::bad_input(
            field,
            "an industry is a 4-digit GB/T 4754-2017 class without section letter, e.g. 7211",
        ))
    }
}

fn validate_ownership(field: &str, code: &str) -> AppResult<String> {
    Ownership::parse(code.trim())
        .map(|o| o.as_str().to_string())
        .map_err(|e| AppError::bad_input(field, e.to_string()))
}

fn validate_outside_units(field: &str, units: i32) -> AppResult<i32> {
    if units < 0 {
        Err(AppError::bad_input(
            field,
            "the number of outside units cannot be negative",
        ))
    } else {
        Ok(units)
    }
}

fn validate_exchange(field: &str, exchange: Option<&str>) -> AppResult<Option<String>> {
    let Some(exchange) = exchange.map(|e| e.trim().to_uppercase()) else {
        return Ok(None);
    };
    let ok = (2..=16).contains(&exchange.len())
        && exchange
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
    if ok {
        Ok(Some(exchange))
    } else {
        Err(AppError::bad_input(
            field,
            "an exchange is 2 to 16 letters or digits, e.g. SSE, SZSE, HKEX",
        ))
    }
}

fn validate_date(field: &str, date: NaiveDate, latest: NaiveDate) -> AppResult<NaiveDate> {
    // The earliest date the registry accepts for any fact or event (the API refuses earlier
    // dates already; this keeps the service's own callers to the same rule).
    if date < dates::FIRST_DAY {
        return Err(AppError::bad_input(
            field,
            format!("the date is before {}", dates::FIRST_DAY),
        ));
    }
    if date > latest {
        return Err(AppError::bad_input(
            field,
            format!("the date is after {latest}: record events when they have taken effect"),
        ));
    }
    Ok(date)
}

fn money_error(field: &str, err: MoneyError) -> AppError {
    let message = match err {
        MoneyError::TooManyDecimals(_) => "an amount has at most 2 decimal places".to_string(),
        MoneyError::Negative(_) => "the amount cannot be negative".to_string(),
        other => other.to_string(),
    };
    AppError::bad_input(field, message)
}

fn validate_money(field: &str, value: &Decimal) -> AppResult<Money> {
    Money::parse_non_negative(value).map_err(|e| money_error(field, e))
}

fn validate_note(note: Option<String>) -> AppResult<Option<String>> {
    let note = note.map(|n| n.trim().to_string()).filter(|n| !n.is_empty());
    if note.as_ref().is_some_and(|n| n.chars().count() > 2000) {
        return Err(AppError::bad_input(
            "note",
            "the note is longer than 2000 characters",
        ));
    }
    Ok(note)
}

/// Validates each named change on its own and normalises it.
fn validate_changes(input: ChangesInput, known: &HashSet<String>) -> AppResult<FactChanges> {
    let f = |fact: Fact| fact.change_field();
    let latest = today();
    Ok(FactChanges {
        name: input
            .name
            .map(|n| validate_name(&f(Fact::Name), &n))
            .transpose()?,
        district_code: input
            .district_code
            .map(|d| validate_district(&f(Fact::DistrictCode), d.as_deref(), known))
            .transpose()?,
        hangzhou_since: input
            .hangzhou_since
            .map(|d| {
                d.map(|d| validate_date(&f(Fact::HangzhouSince), d, latest))
                    .transpose()
            })
            .transpose()?,
        industry_code: input
            .industry_code
            .map(|c| validate_industry(&f(Fact::IndustryCode), &c))
            .transpose()?,
        ownership: input
            .ownership
            .map(|o| validate_ownership(&f(Fact::Ownership), &o))
            .transpose()?,
        industrial_guidance: input.industrial_guidance,
        independent_legal_person: input.independent_legal_person,
        deemed_legal_person: input.deemed_legal_person,
        operating: input.operating,
        unified_accounting: input.unified_accounting,
        rd_facilities: input.rd_facilities,
        rd_stable_funding: input.rd_stable_funding,
        outside_units: input
            .outside_units
            .map(|u| validate_outside_units(&f(Fact::OutsideUnits), u))
            .transpose()?,
        listing_exchange: input
            .listing_exchange
            .map(|e| validate_exchange(&f(Fact::ListingExchange), e.as_deref()))
            .transpose()?,
        listed_entity_in_hangzhou: input.listed_entity_in_hangzhou,
        dishonest: input.dishonest,
        owns_office: input.owns_office,
        registered_capital: input
            .registered_capital
            .map(|c| {
                c.map(|c| validate_money(&f(Fact::RegisteredCapital), &c))
                    .transpose()
            })
            .transpose()?,
    })
}

/// Checks that an event of `kind` names only the facts it may, and every fact it must; then adds
/// the kind's fixed effects.
fn changes_for_kind(
    kind: EventKind,
    effective_date: NaiveDate,
    mut changes: FactChanges,
) -> AppResult<FactChanges> {
    if kind == EventKind::Registered {
        return Err(AppError::bad_input(
            "kind",
            "REGISTERED is recorded by registerEnterprise, not as an event",
        ));
    }
    let named = changes.named();
    let allowed = kind.may_change();
    if let Some(fact) = named.iter().find(|f| !allowed.contains(f)) {
        let message = if allowed.is_empty() {
            format!(
                "a {} event changes no fact given by the client",
                kind.as_str()
            )
        } else {
            let list: Vec<&str> = allowed.iter().map(|f| f.key()).collect();
            format!(
                "a {} event may change only: {}",
                kind.as_str(),
                list.join(", ")
            )
        };
        return Err(AppError::bad_input(fact.change_field(), message));
    }
    if let Some(fact) = kind.requires().iter().find(|f| !named.contains(f)) {
        return Err(AppError::bad_input(
            fact.change_field(),
            format!("a {} event needs {}", kind.as_str(), fact.key()),
        ));
    }
    if kind.needs_some_change() && named.is_empty() {
        return Err(AppError::bad_input(
            "changes",
            format!("a {} event needs at least one change", kind.as_str()),
        ));
    }
    match kind {
        EventKind::MovedIntoHangzhou | EventKind::MovedDistrict => {
            if changes.district_code == Some(None) {
                return Err(AppError::bad_input(
                    Fact::DistrictCode.change_field(),
                    format!("a {} event needs a Hangzhou district", kind.as_str()),
                ));
            }
            if kind == EventKind::MovedIntoHangzhou {
                changes.hangzhou_since = Some(Some(effective_date));
            }
        }
        EventKind::MovedOutOfHangzhou => {
            changes.district_code = Some(None);
            changes.hangzhou_since = Some(None);
        }
        EventKind::Dissolved | EventKind::Liquidated => changes.operating = Some(false),
        EventKind::OfficeAcquired => changes.owns_office = Some(true),
        EventKind::OfficeDisposed => changes.owns_office = Some(false),
        _ => {}
    }
    Ok(changes)
}

// ---------------------------------------------------------------------------------------------
// Writes
// ---------------------------------------------------------------------------------------------

async fn known_districts<C: ConnectionTrait>(conn: &C) -> AppResult<HashSet<String>> {
    Ok(districts::Entity::find()
        .all(conn)
        .await?
        .into_iter()
        .map(|d| d.code)
        .collect())
}

/// The enterprise with `code`, locked for the rest of the transaction (PostgreSQL `FOR UPDATE`;
/// SQLite holds the database write lock already).
async fn lock_enterprise<C: ConnectionTrait>(
    conn: &C,
    code: &CreditCode,
) -> AppResult<enterprises::Model> {
    enterprises::Entity::find()
        .filter(enterprises::Column::CreditCode.eq(code.as_str()))
        .lock_exclusive()
        .one(conn)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no enterprise with credit code {code}")))
}

/// Registers an enterprise with its initial facts (one transaction, audited).
///
/// # Errors
/// `BAD_USER_INPUT` naming the field for invalid input (nothing is written), `CONFLICT` when the
/// credit code is already registered, database errors.
pub async fn register(
    db: &DatabaseConnection,
    actor: &Actor,
    input: RegisterInput,
) -> AppResult<Registered> {
    let txn = begin_write(db).await?;
    let registered = register_in(&txn, actor, input).await?;
    txn.commit().await?;
    Ok(registered)
}

/// [`register`] inside the caller's transaction (used by the demo data loader).
///
/// # Errors
/// As [`register`].
pub async fn register_in<C: ConnectionTrait>(
    conn: &C,
    actor: &Actor,
    input: RegisterInput,
) -> AppResult<Registered> {
    let code = parse_credit_code("creditCode", &input.credit_code)?;
    let latest = today();
    let known = known_districts(conn).await?;
    let name = validate_name("name", &input.name)?;
    let district_code = validate_district("districtCode", input.district_code.as_deref(), &known)?;
    let hangzhou_since = input
        .hangzhou_since
        .map(|d| validate_date("hangzhouSince", d, latest))
        .transpose()?;
    let effective = match (input.registered_on, hangzhou_since) {
        (Some(on), _) => validate_date("registeredOn", on, latest)?,
        (None, Some(since)) => since,
        (None, None) => {
            return Err(AppError::bad_input(
                "registeredOn",
                "give registeredOn (or hangzhouSince): the day the initial facts take effect",
            ));
        }
    };
    let hangzhou_since = match (&district_code, hangzhou_since) {
        (Some(_), None) => Some(effective),
        (Some(_), Some(since)) if since > effective => {
            return Err(AppError::bad_input(
                "hangzhouSince",
                format!("hangzhouSince {since} is after registeredOn {effective}"),
            ));
        }
        (None, Some(_)) => {
            return Err(AppError::bad_input(
                "hangzhouSince",
                "an enterprise outside Hangzhou (no districtCode) has no hangzhouSince",
            ));
        }
        (_, since) => since,
    };
    let listing_exchange = validate_exchange("listingExchange", input.listing_exchange.as_deref())?;
    if input.listed_entity_in_hangzhou && listing_exchange.is_none() {
        return Err(AppError::bad_input(
            "listedEntityInHangzhou",
            "listedEntityInHangzhou needs a listing exchange",
        ));
    }
    let facts = Facts {
        name,
        district_code,
        hangzhou_since,
        industry_code: validate_industry("industryCode", &input.industry_code)?,
        ownership: validate_ownership("ownership", &input.ownership)?,
        industrial_guidance: input.industrial_guidance,
        independent_legal_person: input.independent_legal_person,
        deemed_legal_person: input.deemed_legal_person,
        operating: input.operating,
        unified_accounting: input.unified_accounting,
        rd_facilities: input.rd_facilities,
        rd_stable_funding: input.rd_stable_funding,
        outside_units: validate_outside_units("outsideUnits", input.outside_units)?,
        listing_exchange,
        listed_entity_in_hangzhou: input.listed_entity_in_hangzhou,
        dishonest: input.dishonest,
        owns_office: input.owns_office,
        registered_capital: input
            .registered_capital
            .map(|c| validate_money("registeredCapital", &c))
            .transpose()?,
    };
    let note = validate_note(input.note)?;
    let changes = FactChanges::all_of(&facts);
    let periods = fold(&[FoldEvent {
        kind: EventKind::Registered,
        effective_date: effective,
        changes: changes.clone(),
    }])
    .map_err(|e| AppError::bad_input(e.field.trim_start_matches("changes."), e.message))?;

    let now = Utc::now();
    let enterprise = enterprises::ActiveModel {
        id: NotSet,
        credit_code: Set(code.as_str().to_string()),
        created_at: Set(now),
        created_by: Set(actor.sub.clone()),
    }
    .insert(conn)
    .await?;
    let event = insert_event(
        conn,
        actor,
        enterprise.id,
        EventKind::Registered,
        effective,
        &changes,
        note,
    )
    .await?;
    write_periods(conn, enterprise.id, &periods).await?;
    audit::record(
        conn,
        actor,
        AuditEntry {
            operation: "registerEnterprise",
            target_type: "enterprise",
            target_id: Some(code.as_str().to_string()),
            before: None,
            after: Some(json!({
                "eventId": event.id,
                "effectiveDate": effective,
                "facts": facts.to_json(),
            })),
        },
    )
    .await?;
    Ok(Registered {
        enterprise,
        warnings: code.organization_code_warning().into_iter().collect(),
    })
}

async fn insert_event<C: ConnectionTrait>(
    conn: &C,
    actor: &Actor,
    enterprise_id: i64,
    kind: EventKind,
    effective_date: NaiveDate,
    changes: &FactChanges,
    note: Option<String>,
) -> AppResult<enterprise_events::Model> {
    Ok(enterprise_events::ActiveModel {
        id: NotSet,
        enterprise_id: Set(enterprise_id),
        kind: Set(kind.as_str().to_string()),
        effective_date: Set(effective_date),
        changes: Set(changes.to_json().to_string()),
        note: Set(note),
        recorded_at: Set(Utc::now()),
        recorded_by: Set(actor.sub.clone()),
    }
    .insert(conn)
    .await?)
}

/// Replaces the enterprise's derived fact rows by `periods`.
async fn write_periods<C: ConnectionTrait>(
    conn: &C,
    enterprise_id: i64,
    periods: &[Period],
) -> AppResult<()> {
    enterprise_facts::Entity::delete_many()
        .filter(enterprise_facts::Column::EnterpriseId.eq(enterprise_id))
        .exec(conn)
        .await?;
    let rows: Vec<enterprise_facts::ActiveModel> = periods
        .iter()
        .map(|p| {
            let f = &p.facts;
            enterprise_facts::ActiveModel {
                id: NotSet,
                enterprise_id: Set(enterprise_id),
                valid_from: Set(p.valid_from),
                valid_to: Set(p.valid_to),
                name: Set(f.name.clone()),
                district_code: Set(f.district_code.clone()),
                hangzhou_since: Set(f.hangzhou_since),
                industry_code: Set(f.industry_code.clone()),
                ownership: Set(f.ownership.clone()),
                industrial_guidance: Set(f.industrial_guidance),
                independent_legal_person: Set(f.independent_legal_person),
                deemed_legal_person: Set(f.deemed_legal_person),
                operating: Set(f.operating),
                unified_accounting: Set(f.unified_accounting),
                rd_facilities: Set(f.rd_facilities),
                rd_stable_funding: Set(f.rd_stable_funding),
                outside_units: Set(f.outside_units),
                listing_exchange: Set(f.listing_exchange.clone()),
                listed_entity_in_hangzhou: Set(f.listed_entity_in_hangzhou),
                dishonest: Set(f.dishonest),
                owns_office: Set(f.owns_office),
                registered_capital_fen: Set(f.registered_capital.map(Money::fen)),
            }
        })
        .collect();
    if !rows.is_empty() {
        enterprise_facts::Entity::insert_many(rows)
            .exec(conn)
            .await?;
    }
    Ok(())
}

async fn stored_events<C: ConnectionTrait>(
    conn: &C,
    enterprise_id: i64,
) -> AppResult<Vec<enterprise_events::Model>> {
    Ok(enterprise_events::Entity::find()
        .filter(enterprise_events::Column::EnterpriseId.eq(enterprise_id))
        .order_by_asc(enterprise_events::Column::EffectiveDate)
        .order_by_asc(enterprise_events::Column::Id)
        .all(conn)
        .await?)
}

fn fold_event(row: &enterprise_events::Model) -> AppResult<FoldEvent> {
    let kind = EventKind::parse(&row.kind)
        .ok_or_else(|| AppError::internal(format!("unknown stored event kind {}", row.kind)))?;
    Ok(FoldEvent {
        kind,
        effective_date: row.effective_date,
        changes: FactChanges::parse_json(&row.changes)?,
    })
}

/// Rebuilds the enterprise's fact rows from all of its events.
///
/// # Errors
/// Internal error if the stored history does not fold (a bug: writes are checked before they
/// are stored); database errors.
pub async fn rebuild_facts<C: ConnectionTrait>(conn: &C, enterprise_id: i64) -> AppResult<()> {
    let events = stored_events(conn, enterprise_id)
        .await?
        .iter()
        .map(fold_event)
        .collect::<AppResult<Vec<_>>>()?;
    let periods = fold(&events).map_err(|e| {
        AppError::internal(format!(
            "the stored history of enterprise {enterprise_id} does not fold: {e:?}"
        ))
    })?;
    write_periods(conn, enterprise_id, &periods).await
}

/// Records a §19 event and rebuilds the enterprise's facts (one transaction, audited with the
/// facts before and after on the effective date).
///
/// # Errors
/// `BAD_USER_INPUT` naming the field (`creditCode`, `kind`, `effectiveDate`, `changes.<fact>`),
/// `NOT_FOUND` for an unknown enterprise, database errors.
pub async fn record_event(
    db: &DatabaseConnection,
    actor: &Actor,
    input: EventInput,
) -> AppResult<Recorded> {
    let txn = begin_write(db).await?;
    let recorded = record_event_in(&txn, actor, input).await?;
    txn.commit().await?;
    Ok(recorded)
}

/// [`record_event`] inside the caller's transaction.
///
/// # Errors
/// As [`record_event`].
pub async fn record_event_in<C: ConnectionTrait>(
    conn: &C,
    actor: &Actor,
    input: EventInput,
) -> AppResult<Recorded> {
    let code = parse_credit_code("creditCode", &input.credit_code)?;
    let effective = validate_date("effectiveDate", input.effective_date, today())?;
    let note = validate_note(input.note)?;
    let known = known_districts(conn).await?;
    let changes = validate_changes(input.changes, &known)?;
    let changes = changes_for_kind(input.kind, effective, changes)?;

    let enterprise = lock_enterprise(conn, &code).await?;
    let stored = stored_events(conn, enterprise.id).await?;
    let mut events = stored
        .iter()
        .map(fold_event)
        .collect::<AppResult<Vec<_>>>()?;
    let registered_on = events
        .first()
        .map(|e| e.effective_date)
        .ok_or_else(|| AppError::internal("an enterprise without a REGISTERED event"))?;
    if effective < registered_on {
        return Err(AppError::bad_input(
            "effectiveDate",
            format!("the enterprise's facts start on {registered_on}; an event cannot be earlier"),
        ));
    }
    let before_periods = fold(&events)
        .map_err(|e| AppError::internal(format!("stored history does not fold: {e:?}")))?;
    let before = period_on(&before_periods, effective).map(|p| p.facts.clone());

    // The new event gets the largest id: it goes after every stored event of its date.
    let position = events.partition_point(|e| e.effective_date <= effective);
    events.insert(
        position,
        FoldEvent {
            kind: input.kind,
            effective_date: effective,
            changes: changes.clone(),
        },
    );
    let periods = fold(&events).map_err(|e| {
        if e.index == position {
            AppError::bad_input(e.field, e.message)
        } else {
            let later = &events[e.index];
            AppError::bad_input(
                "effectiveDate",
                format!(
                    "on {effective} this event contradicts the later {} event of {}: {}",
                    later.kind.as_str(),
                    later.effective_date,
                    e.message
                ),
            )
        }
    })?;
    let after = period_on(&periods, effective).map(|p| p.facts.clone());

    let event = insert_event(
        conn,
        actor,
        enterprise.id,
        input.kind,
        effective,
        &changes,
        note.clone(),
    )
    .await?;
    write_periods(conn, enterprise.id, &periods).await?;
    audit::record(
        conn,
        actor,
        AuditEntry {
            operation: "recordEnterpriseEvent",
            target_type: "enterprise",
            target_id: Some(code.as_str().to_string()),
            before: Some(json!({
                "effectiveDate": effective,
                "facts": before.as_ref().map(Facts::to_json),
            })),
            after: Some(json!({
                "eventId": event.id,
                "kind": input.kind.as_str(),
                "effectiveDate": effective,
                "changes": changes.to_json(),
                "note": note,
                "facts": after.as_ref().map(Facts::to_json),
            })),
        },
    )
    .await?;
    Ok(Recorded { enterprise, event })
}

/// Records (or replaces) an enterprise's figures for `year`, in yuan with at most 2 decimals
/// (one transaction, audited with the figures before and after).
///
/// # Errors
/// `BAD_USER_INPUT` naming `creditCode`, `year`, `revenue` or `rdSpend` (more than 2 decimals,
/// negative, out of range), `NOT_FOUND` for an unknown enterprise, database errors.
pub async fn record_figures(
    db: &DatabaseConnection,
    actor: &Actor,
    credit_code: &str,
    year: i32,
    revenue: Decimal,
    rd_spend: Decimal,
) -> AppResult<FiguresRecorded> {
    let txn = begin_write(db).await?;
    let figures = record_figures_in(&txn, actor, credit_code, year, revenue, rd_spend).await?;
    txn.commit().await?;
    Ok(figures)
}

/// [`record_figures`] inside the caller's transaction.
///
/// # Errors
/// As [`record_figures`].
pub async fn record_figures_in<C: ConnectionTrait>(
    conn: &C,
    actor: &Actor,
    credit_code: &str,
    year: i32,
    revenue: Decimal,
    rd_spend: Decimal,
) -> AppResult<FiguresRecorded> {
    let code = parse_credit_code("creditCode", credit_code)?;
    let current_year = today().year();
    if !(FIRST_FIGURES_YEAR..=current_year).contains(&year) {
        return Err(AppError::bad_input(
            "year",
            format!("figures are recorded for {FIRST_FIGURES_YEAR} to {current_year}"),
        ));
    }
    let revenue = validate_money("revenue", &revenue)?;
    let rd_spend = validate_money("rdSpend", &rd_spend)?;
    let enterprise = lock_enterprise(conn, &code).await?;
    // The §20 period lock (PERIOD_LOCKED for an approved fiscal year) belongs here once
    // settlements exist.
    let existing = enterprise_figures::Entity::find()
        .filter(enterprise_figures::Column::EnterpriseId.eq(enterprise.id))
        .filter(enterprise_figures::Column::Year.eq(year))
        .one(conn)
        .await?;
    let summary = |revenue_fen: i64, rd_fen: i64| {
        json!({
            "year": year,
            "revenue": Money::from_fen(revenue_fen),
            "rdSpend": Money::from_fen(rd_fen),
        })
    };
    let before = existing
        .as_ref()
        .map(|row| summary(row.revenue_fen, row.rd_spend_fen));
    let now = Utc::now();
    let row = match existing {
        Some(row) => {
            let mut active: enterprise_figures::ActiveModel = row.into();
            active.revenue_fen = Set(revenue.fen());
            active.rd_spend_fen = Set(rd_spend.fen());
            active.recorded_at = Set(now);
            active.recorded_by = Set(actor.sub.clone());
            active.update(conn).await?
        }
        None => {
            enterprise_figures::ActiveModel {
                id: NotSet,
                enterprise_id: Set(enterprise.id),
                year: Set(year),
                revenue_fen: Set(revenue.fen()),
                rd_spend_fen: Set(rd_spend.fen()),
                recorded_at: Set(now),
                recorded_by: Set(actor.sub.clone()),
            }
            .insert(conn)
            .await?
        }
    };
    audit::record(
        conn,
        actor,
        AuditEntry {
            operation: "recordFigures",
            target_type: "enterprise_figures",
            target_id: Some(format!("{code}/{year}")),
            before,
            after: Some(summary(row.revenue_fen, row.rd_spend_fen)),
        },
    )
    .await?;
    Ok(FiguresRecorded {
        enterprise,
        figures: row,
    })
}

// ---------------------------------------------------------------------------------------------
// Reads
// ---------------------------------------------------------------------------------------------

/// The enterprise with `credit_code`, if registered.
///
/// # Errors
/// `BAD_USER_INPUT` (field `creditCode`) for a malformed code; database errors.
pub async fn find_by_credit_code<C: ConnectionTrait>(
    conn: &C,
    credit_code: &str,
) -> AppResult<Option<enterprises::Model>> {
    let code = parse_credit_code("creditCode", credit_code)?;
    Ok(enterprises::Entity::find()
        .filter(enterprises::Column::CreditCode.eq(code.as_str()))
        .one(conn)
        .await?)
}

fn valid_on(date: NaiveDate) -> Condition {
    Condition::all()
        .add(enterprise_facts::Column::ValidFrom.lte(date))
        .add(
            Condition::any()
                .add(enterprise_facts::Column::ValidTo.is_null())
                .add(enterprise_facts::Column::ValidTo.gte(date)),
        )
}

/// The facts of one enterprise on `date` (`None` before its registration).
///
/// # Errors
/// Database errors.
pub async fn facts_as_of<C: ConnectionTrait>(
    conn: &C,
    enterprise_id: i64,
    date: NaiveDate,
) -> AppResult<Option<enterprise_facts::Model>> {
    Ok(enterprise_facts::Entity::find()
        .filter(enterprise_facts::Column::EnterpriseId.eq(enterprise_id))
        .filter(valid_on(date))
        .one(conn)
        .await?)
}

/// The facts of several enterprises on `date`, by enterprise id (absent before registration).
///
/// # Errors
/// Database errors.
pub async fn facts_as_of_many<C: ConnectionTrait>(
    conn: &C,
    enterprise_ids: &[i64],
    date: NaiveDate,
) -> AppResult<HashMap<i64, enterprise_facts::Model>> {
    let mut result = HashMap::new();
    for chunk in enterprise_ids.chunks(500) {
        let rows = enterprise_facts::Entity::find()
            .filter(enterprise_facts::Column::EnterpriseId.is_in(chunk.iter().copied()))
            .filter(valid_on(date))
            .all(conn)
            .await?;
        result.extend(rows.into_iter().map(|r| (r.enterprise_id, r)));
    }
    Ok(result)
}

/// The yearly figures of several enterprises, by enterprise id, in year order.
///
/// # Errors
/// Database errors.
pub async fn figures_of_many<C: ConnectionTrait>(
    conn: &C,
    enterprise_ids: &[i64],
) -> AppResult<HashMap<i64, Vec<enterprise_figures::Model>>> {
    let mut result: HashMap<i64, Vec<enterprise_figures::Model>> = HashMap::new();
    for chunk in enterprise_ids.chunks(500) {
        let rows = enterprise_figures::Entity::find()
            .filter(enterprise_figures::Column::EnterpriseId.is_in(chunk.iter().copied()))
            .order_by_asc(enterprise_figures::Column::Year)
            .all(conn)
            .await?;
        for row in rows {
            result.entry(row.enterprise_id).or_default().push(row);
        }
    }
    Ok(result)
}

/// The figures of one enterprise, in year order (one year if `year` is given).
///
/// # Errors
/// Database errors.
pub async fn figures_of<C: ConnectionTrait>(
    conn: &C,
    enterprise_id: i64,
    year: Option<i32>,
) -> AppResult<Vec<enterprise_figures::Model>> {
    let mut query = enterprise_figures::Entity::find()
        .filter(enterprise_figures::Column::EnterpriseId.eq(enterprise_id));
    if let Some(year) = year {
        query = query.filter(enterprise_figures::Column::Year.eq(year));
    }
    Ok(query
        .order_by_asc(enterprise_figures::Column::Year)
        .all(conn)
        .await?)
}

/// The events of several enterprises, by enterprise id, in (effective date, id) order.
///
/// # Errors
/// Database errors.
pub async fn events_of_many<C: ConnectionTrait>(
    conn: &C,
    enterprise_ids: &[i64],
) -> AppResult<HashMap<i64, Vec<enterprise_events::Model>>> {
    let mut result: HashMap<i64, Vec<enterprise_events::Model>> = HashMap::new();
    for chunk in enterprise_ids.chunks(500) {
        let rows = enterprise_events::Entity::find()
            .filter(enterprise_events::Column::EnterpriseId.is_in(chunk.iter().copied()))
            .order_by_asc(enterprise_events::Column::EffectiveDate)
            .order_by_asc(enterprise_events::Column::Id)
            .all(conn)
            .await?;
        for row in rows {
            result.entry(row.enterprise_id).or_default().push(row);
        }
    }
    Ok(result)
}

/// The events of one enterprise, in (effective date, id) order.
///
/// # Errors
/// Database errors.
pub async fn events_of<C: ConnectionTrait>(
    conn: &C,
    enterprise_id: i64,
) -> AppResult<Vec<enterprise_events::Model>> {
    stored_events(conn, enterprise_id).await
}

/// Filters of the registry list; all optional except the date, combined with AND.
#[derive(Debug, Clone)]
pub struct ListFilter {
    /// The day the facts filters (district, industry, name) are read on.
    pub as_of: NaiveDate,
    /// Registered in this district on `as_of`.
    pub district_code: Option<String>,
    /// Industry class starting with these digits (1 to 4).
    pub industry_prefix: Option<String>,
    /// Name on `as_of` containing this text.
    pub name_contains: Option<String>,
    /// Recognised for this year.
    pub recognized_in: Option<i32>,
    /// Recognised through this route (`STANDARD`, `RD`, `LISTED`), in `recognized_in` if given.
    pub route: Option<String>,
    /// Rated for this year.
    pub rated_in: Option<i32>,
    /// With this many stars, in `rated_in` if given.
    pub stars: Option<i32>,
}

impl ListFilter {
    /// No filter, as of `as_of`.
    pub fn on(as_of: NaiveDate) -> ListFilter {
        ListFilter {
            as_of,
            district_code: None,
            industry_prefix: None,
            name_contains: None,
            recognized_in: None,
            route: None,
            rated_in: None,
            stars: None,
        }
    }
}

/// The recognition routes a list can be filtered by.
pub const ROUTES: [&str; 3] = ["STANDARD", "RD", "LISTED"];

/// Orders of the registry list; ties are broken by credit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ListOrder {
    /// By credit code.
    #[default]
    CreditCode,
    /// By name on the filter date.
    Name,
    /// By `hangzhou_since`, earliest first; enterprises outside Hangzhou last.
    HangzhouSince,
    /// Most recently registered in the service first.
    RecentlyRegistered,
}

fn escape_like(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

/// Checks the filter's fields.
///
/// # Errors
/// `BAD_USER_INPUT` naming `filter.<field>`.
pub fn validate_filter(filter: &mut ListFilter) -> AppResult<()> {
    if let Some(code) = &filter.district_code {
        let code = code.trim();
        if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(AppError::bad_input(
                "filter.districtCode",
                "a district code is 6 digits (GB/T 2260)",
            ));
        }
        filter.district_code = Some(code.to_string());
    }
    if let Some(prefix) = &filter.industry_prefix {
        let prefix = prefix.trim();
        if !(1..=4).contains(&prefix.len()) || !prefix.bytes().all(|b| b.is_ascii_digit()) {
            return Err(AppError::bad_input(
                "filter.industryPrefix",
                "an industry prefix is 1 to 4 digits of a GB/T 4754-2017 class",
            ));
        }
        filter.industry_prefix = Some(prefix.to_string());
    }
    if let Some(text) = &filter.name_contains {
        let text = text.trim();
        if text.chars().count() > MAX_NAME_CHARS {
            return Err(AppError::bad_input(
                "filter.nameContains",
                "the text is too long",
            ));
        }
        filter.name_contains = (!text.is_empty()).then(|| text.to_string());
    }
    if let Some(route) = &filter.route
        && !ROUTES.contains(&route.as_str())
    {
        return Err(AppError::bad_input(
            "filter.route",
            "a route is STANDARD, RD or LISTED",
        ));
    }
    if let Some(stars) = filter.stars
        && !(1..=5).contains(&stars)
    {
        return Err(AppError::bad_input(
            "filter.stars",
            "a rating is 1 to 5 stars",
        ));
    }
    Ok(())
}

fn list_query(filter: &ListFilter) -> Select<enterprises::Entity> {
    let mut query = enterprises::Entity::find()
        .inner_join(enterprise_facts::Entity)
        .filter(valid_on(filter.as_of));
    if let Some(district) = &filter.district_code {
        query = query.filter(enterprise_facts::Column::DistrictCode.eq(district.clone()));
    }
    if let Some(prefix) = &filter.industry_prefix {
        query = query.filter(enterprise_facts::Column::IndustryCode.starts_with(prefix.clone()));
    }
    if let Some(text) = &filter.name_contains {
        let pattern = format!("%{}%", escape_like(text));
        query =
            query.filter(enterprise_facts::Column::Name.like(LikeExpr::new(pattern).escape('\\')));
    }
    if filter.recognized_in.is_some() || filter.route.is_some() {
        let mut sub = Query::select();
        sub.column(recognitions::Column::EnterpriseId)
            .from(recognitions::Entity);
        if let Some(year) = filter.recognized_in {
            sub.and_where(recognitions::Column::Year.eq(year));
        }
        if let Some(route) = &filter.route {
            sub.and_where(recognitions::Column::Route.eq(route.clone()));
        }
        query = query.filter(enterprises::Column::Id.in_subquery(sub));
    }
    if filter.rated_in.is_some() || filter.stars.is_some() {
        let mut sub = Query::select();
        sub.column(star_ratings::Column::EnterpriseId)
            .from(star_ratings::Entity);
        if let Some(year) = filter.rated_in {
            sub.and_where(star_ratings::Column::Year.eq(year));
        }
        if let Some(stars) = filter.stars {
            sub.and_where(star_ratings::Column::Stars.eq(stars));
        }
        query = query.filter(enterprises::Column::Id.in_subquery(sub));
    }
    query
}

/// How many enterprises match `filter`.
///
/// # Errors
/// Database errors.
pub async fn count<C: ConnectionTrait>(conn: &C, filter: &ListFilter) -> AppResult<u64> {
    Ok(list_query(filter).count(conn).await?)
}

/// The enterprises matching `filter` in `order`, `limit` of them from `offset`.
///
/// # Errors
/// Database errors.
pub async fn list<C: ConnectionTrait>(
    conn: &C,
    filter: &ListFilter,
    order: ListOrder,
    offset: u64,
    limit: u64,
) -> AppResult<Vec<enterprises::Model>> {
    let query = list_query(filter);
    let query = match order {
        ListOrder::CreditCode => query,
        ListOrder::Name => query.order_by_asc(enterprise_facts::Column::Name),
        ListOrder::HangzhouSince => query
            .order_by(
                enterprise_facts::Column::HangzhouSince.is_null(),
                Order::Asc,
            )
            .order_by_asc(enterprise_facts::Column::HangzhouSince),
        ListOrder::RecentlyRegistered => query.order_by_desc(enterprises::Column::Id),
    };
    Ok(query
        .order_by_asc(enterprises::Column::CreditCode)
        .offset(offset)
        .limit(limit)
        .all(conn)
        .await?)
}

/// The enterprises with these ids, by id.
///
/// # Errors
/// Database errors.
pub async fn by_ids<C: ConnectionTrait>(
    conn: &C,
    ids: &[i64],
) -> AppResult<HashMap<i64, enterprises::Model>> {
    let mut result = HashMap::new();
    for chunk in ids.chunks(500) {
        let rows = enterprises::Entity::find()
            .filter(enterprises::Column::Id.is_in(chunk.iter().copied()))
            .all(conn)
            .await?;
        result.extend(rows.into_iter().map(|r| (r.id, r)));
    }
    Ok(result)
}

/// Groups `(key, date)` pairs by date, for loaders that read facts on several dates at once.
pub fn group_by_date(keys: &[(i64, NaiveDate)]) -> BTreeMap<NaiveDate, Vec<i64>> {
    let mut groups: BTreeMap<NaiveDate, Vec<i64>> = BTreeMap::new();
    for (id, date) in keys {
        groups.entry(*date).or_default().push(*id);
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn initial() -> Facts {
        Facts {
            name: "杭州某某科技有限公司".into(),
            district_code: Some("330106".into()),
            hangzhou_since: Some(d(2020, 1, 1)),
            industry_code: "6513".into(),
            ownership: "PRIVATE".into(),
            industrial_guidance: true,
            independent_legal_person: true,
            deemed_legal_person: false,
            operating: true,
            unified_accounting: true,
            rd_facilities: false,
            rd_stable_funding: false,
            outside_units: 3,
            listing_exchange: None,
            listed_entity_in_hangzhou: false,
            dishonest: false,
            owns_office: false,
            registered_capital: Some(Money::from_fen(100_000_000)),
        }
    }

    fn registered(on: NaiveDate) -> FoldEvent {
        FoldEvent {
            kind: EventKind::Registered,
            effective_date: on,
            changes: FactChanges::all_of(&initial()),
        }
    }

    fn event(kind: EventKind, on: NaiveDate, changes: FactChanges) -> FoldEvent {
        let changes = changes_for_kind(kind, on, changes).expect("valid changes");
        FoldEvent {
            kind,
            effective_date: on,
            changes,
        }
    }

    fn district(code: &str) -> FactChanges {
        FactChanges {
            district_code: Some(Some(code.into())),
            ..FactChanges::default()
        }
    }

    #[test]
    fn a_registration_alone_gives_one_open_period() {
        let periods = fold(&[registered(d(2020, 1, 1))]).unwrap();
        assert_eq!(periods.len(), 1);
        assert_eq!(periods[0].valid_from, d(2020, 1, 1));
        assert_eq!(periods[0].valid_to, None);
        assert_eq!(periods[0].facts, initial());
    }

    #[test]
    fn each_effective_date_starts_a_period_ending_the_day_before_the_next() {
        let periods = fold(&[
            registered(d(2020, 1, 1)),
            event(EventKind::MovedDistrict, d(2024, 3, 1), district("330108")),
            event(
                EventKind::OfficeAcquired,
                d(2024, 3, 1),
                FactChanges::default(),
            ),
            event(EventKind::Dissolved, d(2025, 1, 1), FactChanges::default()),
        ])
        .unwrap();
        let spans: Vec<_> = periods.iter().map(|p| (p.valid_from, p.valid_to)).collect();
        assert_eq!(
            spans,
            vec![
                (d(2020, 1, 1), Some(d(2024, 2, 29))),
                (d(2024, 3, 1), Some(d(2024, 12, 31))),
                (d(2025, 1, 1), None),
            ]
        );
        assert_eq!(periods[1].facts.district_code.as_deref(), Some("330108"));
        assert!(periods[1].facts.owns_office);
        assert!(!periods[2].facts.operating);
        assert_eq!(
            period_on(&periods, d(2024, 2, 29))
                .unwrap()
                .facts
                .district_code
                .as_deref(),
            Some("330106")
        );
    }

    #[test]
    fn moving_out_clears_district_and_hangzhou_since_and_moving_in_restarts_the_stay() {
        let periods = fold(&[
            registered(d(2020, 1, 1)),
            event(
                EventKind::MovedOutOfHangzhou,
                d(2021, 6, 1),
                FactChanges::default(),
            ),
            event(
                EventKind::MovedIntoHangzhou,
                d(2023, 2, 1),
                district("330110"),
            ),
        ])
        .unwrap();
        assert_eq!(periods[1].facts.district_code, None);
        assert_eq!(periods[1].facts.hangzhou_since, None);
        assert_eq!(periods[2].facts.district_code.as_deref(), Some("330110"));
        assert_eq!(periods[2].facts.hangzhou_since, Some(d(2023, 2, 1)));
    }

    #[test]
    fn moving_out_twice_is_refused_at_the_second_event() {
        let err = fold(&[
            registered(d(2020, 1, 1)),
            event(
                EventKind::MovedOutOfHangzhou,
                d(2021, 6, 1),
                FactChanges::default(),
            ),
            event(
                EventKind::MovedOutOfHangzhou,
                d(2022, 6, 1),
                FactChanges::default(),
            ),
        ])
        .unwrap_err();
        assert_eq!(err.index, 2);
        assert_eq!(err.field, "kind");
    }

    #[test]
    fn a_move_to_the_same_district_is_refused_naming_the_district() {
        let err = fold(&[
            registered(d(2020, 1, 1)),
            event(EventKind::MovedDistrict, d(2021, 6, 1), district("330106")),
        ])
        .unwrap_err();
        assert_eq!(err.field, "changes.districtCode");
    }

    #[test]
    fn a_correction_cannot_leave_a_district_without_hangzhou_since() {
        let changes = FactChanges {
            hangzhou_since: Some(None),
            ..FactChanges::default()
        };
        let err = fold(&[
            registered(d(2020, 1, 1)),
            event(EventKind::Corrected, d(2021, 6, 1), changes),
        ])
        .unwrap_err();
        assert_eq!(err.field, "changes.hangzhouSince");
    }

    #[test]
    fn an_event_kind_may_name_only_its_own_facts() {
        let err =
            changes_for_kind(EventKind::Renamed, d(2024, 1, 1), district("330108")).unwrap_err();
        assert!(
            matches!(&err, AppError::BadInput { field, .. } if field == "changes.districtCode")
        );
        let err = changes_for_kind(EventKind::Renamed, d(2024, 1, 1), FactChanges::default())
            .unwrap_err();
        assert!(matches!(&err, AppError::BadInput { field, .. } if field == "changes.name"));
        let err = changes_for_kind(EventKind::Corrected, d(2024, 1, 1), FactChanges::default())
            .unwrap_err();
        assert!(matches!(&err, AppError::BadInput { field, .. } if field == "changes"));
        let err = changes_for_kind(
            EventKind::Dissolved,
            d(2024, 1, 1),
            FactChanges {
                operating: Some(false),
                ..FactChanges::default()
            },
        )
        .unwrap_err();
        assert!(matches!(&err, AppError::BadInput { field, .. } if field == "changes.operating"));
        assert!(
            changes_for_kind(EventKind::Registered, d(2024, 1, 1), FactChanges::default()).is_err()
        );
    }

    #[test]
    fn changes_round_trip_through_json_keeping_null_apart_from_absent() {
        let changes = FactChanges {
            district_code: Some(None),
            listing_exchange: Some(Some("HKEX".into())),
            registered_capital: Some(Some(Money::from_fen(12_345))),
            ..FactChanges::default()
        };
        let json = changes.to_json();
        assert_eq!(
            json,
            json!({"districtCode": null, "listingExchange": "HKEX", "registeredCapital": "123.45"})
        );
        assert_eq!(FactChanges::parse_json(&json.to_string()).unwrap(), changes);
        let full = FactChanges::all_of(&initial());
        let back = FactChanges::parse_json(&full.to_json().to_string()).unwrap();
        assert_eq!(back.complete(), Some(initial()));
    }

    #[test]
    fn the_first_event_must_be_a_complete_registration() {
        let err = fold(&[event(
            EventKind::Renamed,
            d(2020, 1, 1),
            FactChanges {
                name: Some("x".into()),
                ..FactChanges::default()
            },
        )])
        .unwrap_err();
        assert_eq!(err.index, 0);
        let err = fold(&[registered(d(2020, 1, 1)), registered(d(2021, 1, 1))]).unwrap_err();
        assert_eq!(err.index, 1);
    }

    #[test]
    fn like_wildcards_in_a_name_filter_are_escaped() {
        assert_eq!(escape_like("100%_a\\b"), "100\\%\\_a\\\\b");
    }
}
