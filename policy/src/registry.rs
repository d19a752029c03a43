//! The enterprise registry's rules (§19 and the registry's facts): the facts an enterprise has on a
//! day, the §19 event kinds with what each may, must and always changes, and the fold of an
//! enterprise's events into dated periods of constant facts.
//!
//! Facts are never edited in place: the events are the append-only source of truth, and the
//! service stores what [`fold`] derives from all of them, in (effective date, id) order. Each
//! distinct effective date starts a period that runs to the day before the next one; the last
//! period is open. The fold also checks that the history stays coherent (no move out of Hangzhou
//! while outside it, no district without `hangzhou_since`, ...), so an event dated in the middle of
//! the history is refused if it would contradict a later one.

use chrono::NaiveDate;
use serde::{Deserialize, Deserializer, Serialize};

use crate::code_enum;
use crate::money::Money;

code_enum! {
    /// A fact of the registry, as named in the API, in event changes and in the audit log (its
    /// code, e.g. `districtCode`); `ALL` is in the order of the registry's facts.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum Fact: "fact" {
        /// The enterprise's name.
        Name = "name",
        /// The registered district (`None` = outside Hangzhou).
        DistrictCode = "districtCode",
        /// The first day of the current continuous stay in Hangzhou.
        HangzhouSince = "hangzhouSince",
        /// GB/T 4754-2017 class, 4 digits.
        IndustryCode = "industryCode",
        /// Ownership kind.
        Ownership = "ownership",
        /// Industrial guidance flag (set by the HQ office).
        IndustrialGuidance = "industrialGuidance",
        /// Independent legal person.
        IndependentLegalPerson = "independentLegalPerson",
        /// Deemed legal person (vehicle manufacturing units).
        DeemedLegalPerson = "deemedLegalPerson",
        /// Operating.
        Operating = "operating",
        /// Unified accounting.
        UnifiedAccounting = "unifiedAccounting",
        /// R&D facilities.
        RdFacilities = "rdFacilities",
        /// Stable R&D funding.
        RdStableFunding = "rdStableFunding",
        /// Branches and ≥50%-controlled subsidiaries outside Hangzhou.
        OutsideUnits = "outsideUnits",
        /// Listing exchange.
        ListingExchange = "listingExchange",
        /// Whether the listed entity is in Hangzhou.
        ListedEntityInHangzhou = "listedEntityInHangzhou",
        /// On the serious dishonesty list.
        Dishonest = "dishonest",
        /// Owns office premises in Hangzhou.
        OwnsOffice = "ownsOffice",
        /// Registered capital.
        RegisteredCapital = "registeredCapital",
    }
}

impl Fact {
    /// The path of this fact inside an event input (`changes.districtCode`).
    pub fn change_field(self) -> String {
        format!("changes.{}", self.as_str())
    }
}

code_enum! {
    /// The §19 event kinds, plus `REGISTERED` (the first event of every enterprise), as stored.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum EventKind: "event kind" {
        /// Entered into the registry with all its initial facts.
        Registered = "REGISTERED",
        /// 更名.
        Renamed = "RENAMED",
        /// 注册资本变更.
        CapitalChanged = "CAPITAL_CHANGED",
        /// 合并.
        Merged = "MERGED",
        /// 分立.
        Split = "SPLIT",
        /// 解散: stops operating.
        Dissolved = "DISSOLVED",
        /// 清算: stops operating.
        Liquidated = "LIQUIDATED",
        /// 股权转让: may change the ownership kind.
        EquityTransferred = "EQUITY_TRANSFERRED",
        /// Moved into Hangzhou: a district, and `hangzhou_since` = the effective date.
        MovedIntoHangzhou = "MOVED_INTO_HANGZHOU",
        /// Moved out of Hangzhou: no district, no `hangzhou_since`.
        MovedOutOfHangzhou = "MOVED_OUT_OF_HANGZHOU",
        /// Moved between Hangzhou districts.
        MovedDistrict = "MOVED_DISTRICT",
        /// Acquired office premises in Hangzhou.
        OfficeAcquired = "OFFICE_ACQUIRED",
        /// Disposed of its (last) office premises in Hangzhou.
        OfficeDisposed = "OFFICE_DISPOSED",
        /// Updated flags and counts (guidance, listing, dishonesty, outside units, ...).
        FactsUpdated = "FACTS_UPDATED",
        /// Corrected any fact recorded wrongly.
        Corrected = "CORRECTED",
    }
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
    pub name: Option<String>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub district_code: Option<Option<String>>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub hangzhou_since: Option<Option<NaiveDate>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub industry_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ownership: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub industrial_guidance: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub independent_legal_person: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deemed_legal_person: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operating: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unified_accounting: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rd_facilities: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rd_stable_funding: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outside_units: Option<i32>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub listing_exchange: Option<Option<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listed_entity_in_hangzhou: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dishonest: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owns_office: Option<bool>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub registered_capital: Option<Option<Money>>,
}

impl FactChanges {
    /// Changes that set every fact to `facts` (the `REGISTERED` event).
    pub fn all_of(facts: &Facts) -> FactChanges {
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
    pub fn complete(&self) -> Option<Facts> {
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
pub fn period_on(periods: &[Period], date: NaiveDate) -> Option<&Period> {
    periods
        .iter()
        .find(|p| p.valid_from <= date && p.valid_to.is_none_or(|to| to >= date))
}

/// Why an event's changes do not fit its kind (a client error: `BAD_USER_INPUT`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeError {
    /// The input field at fault (`kind`, `changes`, `changes.districtCode`, ...).
    pub field: String,
    /// What is wrong.
    pub message: String,
}

impl ChangeError {
    fn new(field: impl Into<String>, message: impl Into<String>) -> ChangeError {
        ChangeError {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Checks that an event of `kind` names only the facts it may, and every fact it must; then adds
/// the kind's fixed effects.
///
/// # Errors
/// A [`ChangeError`] naming the input field at fault (`kind`, `changes`, `changes.<fact>`).
pub fn changes_for_kind(
    kind: EventKind,
    effective_date: NaiveDate,
    mut changes: FactChanges,
) -> Result<FactChanges, ChangeError> {
    if kind == EventKind::Registered {
        return Err(ChangeError::new(
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
            let list: Vec<&str> = allowed.iter().map(|f| f.as_str()).collect();
            format!(
                "a {} event may change only: {}",
                kind.as_str(),
                list.join(", ")
            )
        };
        return Err(ChangeError::new(fact.change_field(), message));
    }
    if let Some(fact) = kind.requires().iter().find(|f| !named.contains(f)) {
        return Err(ChangeError::new(
            fact.change_field(),
            format!("a {} event needs {}", kind.as_str(), fact.as_str()),
        ));
    }
    if kind.needs_some_change() && named.is_empty() {
        return Err(ChangeError::new(
            "changes",
            format!("a {} event needs at least one change", kind.as_str()),
        ));
    }
    match kind {
        EventKind::MovedIntoHangzhou | EventKind::MovedDistrict => {
            if changes.district_code == Some(None) {
                return Err(ChangeError::new(
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

#[cfg(test)]
mod tests {
    use serde_json::json;

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
    fn every_fact_and_event_kind_round_trips_through_its_code() {
        crate::code::testing::assert_codes_round_trip(&Fact::ALL, Fact::as_str);
        crate::code::testing::assert_codes_round_trip(&EventKind::ALL, EventKind::as_str);
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
        assert_eq!(err.field, "changes.districtCode");
        let err = changes_for_kind(EventKind::Renamed, d(2024, 1, 1), FactChanges::default())
            .unwrap_err();
        assert_eq!(err.field, "changes.name");
        let err = changes_for_kind(EventKind::Corrected, d(2024, 1, 1), FactChanges::default())
            .unwrap_err();
        assert_eq!(err.field, "changes");
        let err = changes_for_kind(
            EventKind::Dissolved,
            d(2024, 1, 1),
            FactChanges {
                operating: Some(false),
                ..FactChanges::default()
            },
        )
        .unwrap_err();
        assert_eq!(err.field, "changes.operating");
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
        let json = serde_json::to_value(&changes).unwrap();
        assert_eq!(
            json,
            json!({"districtCode": null, "listingExchange": "HKEX", "registeredCapital": "123.45"})
        );
        assert_eq!(
            serde_json::from_str::<FactChanges>(&json.to_string()).unwrap(),
            changes
        );
        let full = FactChanges::all_of(&initial());
        let text = serde_json::to_string(&full).unwrap();
        let back: FactChanges = serde_json::from_str(&text).unwrap();
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
}
