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

/// The registry's facts, declared once: each fact's field name, its [`Fact`] variant and code,
/// whether it is `required` or `nullable` (null has a meaning, e.g. "outside Hangzhou"), its value
/// type, and, where a registration may omit it, its default.
///
/// Every shape that shows or takes the facts is expanded from this one list by a macro of the
/// layer that needs it (`enterprise_facts!(callback)` calls `callback! { … }` with the list):
/// [`Fact`], [`Facts`] and [`FactChanges`] here, the API's fact objects and inputs in the
/// service. Adding a fact is one entry here, its column, and the rules that read it.
#[macro_export]
macro_rules! enterprise_facts {
    ($callback:ident) => {
        $callback! {
            /// The enterprise's name, 1 to 200 characters.
            name: Name = "name", required ::std::string::String;
            /// Registered district (GB/T 2260 code of a Hangzhou district); null = outside Hangzhou.
            district_code: DistrictCode = "districtCode", nullable ::std::string::String;
            /// First day of the current continuous stay in Hangzhou (registration there, or moving
            /// in); null outside Hangzhou.
            hangzhou_since: HangzhouSince = "hangzhouSince", nullable ::chrono::NaiveDate;
            /// GB/T 4754-2017 class, 4 digits without section letter, e.g. `7211`.
            industry_code: IndustryCode = "industryCode", required ::std::string::String;
            /// Ownership kind (a subsidiary controlled by an SOE carries its controller's).
            ownership: Ownership = "ownership", required $crate::recognition::Ownership;
            /// 符合杭州市产业发展导向 (set by the HQ office).
            industrial_guidance: IndustrialGuidance = "industrialGuidance", required bool = false;
            /// 具有独立法人资格.
            independent_legal_person: IndependentLegalPerson = "independentLegalPerson", required bool = true;
            /// 视同法人的汽车整车制造行业活动单位.
            deemed_legal_person: DeemedLegalPerson = "deemedLegalPerson", required bool = false;
            /// 开展经营.
            operating: Operating = "operating", required bool = true;
            /// 实行统一核算.
            unified_accounting: UnifiedAccounting = "unifiedAccounting", required bool = false;
            /// 具备完善的研究、开发、实验条件.
            rd_facilities: RdFacilities = "rdFacilities", required bool = false;
            /// 具有稳定的研发经费来源.
            rd_stable_funding: RdStableFunding = "rdStableFunding", required bool = false;
            /// Branches and subsidiaries controlled 50% or more outside Hangzhou.
            outside_units: OutsideUnits = "outsideUnits", required u32 = 0;
            /// The exchange it is listed on (2 to 16 letters or digits, e.g. `HKEX`); null = not listed.
            listing_exchange: ListingExchange = "listingExchange", nullable ::std::string::String;
            /// Whether the listed entity is in Hangzhou (上市主体在杭; needs a listing exchange).
            listed_entity_in_hangzhou: ListedEntityInHangzhou = "listedEntityInHangzhou", required bool = false;
            /// On the serious dishonesty list (严重违法失信主体名单).
            dishonest: Dishonest = "dishonest", required bool = false;
            /// Owns office premises in Hangzhou (自有办公用房).
            owns_office: OwnsOffice = "ownsOffice", required bool = false;
            /// Registered capital in yuan, at most 2 decimals; null if not recorded.
            registered_capital: RegisteredCapital = "registeredCapital", nullable $crate::money::Money;
        }
    };
}

/// The value type of a fact: `fact_type!(required, T)` is `T`, `fact_type!(nullable, T)` is
/// `Option<T>`.
#[macro_export]
macro_rules! fact_type {
    (required, $ty:ty) => { $ty };
    (nullable, $ty:ty) => { ::std::option::Option<$ty> };
}

/// This crate's shapes of the facts: [`Fact`], [`Facts`] and [`FactChanges`].
macro_rules! registry_facts {
    ($(
        $(#[doc = $doc:literal])*
        $field:ident: $variant:ident = $code:literal, $kind:ident $ty:ty $(= $default:literal)?;
    )*) => {
        code_enum! {
            /// A fact of the registry, as named in the API, in event changes and in the audit log
            /// (its code, e.g. `districtCode`); `ALL` is in the order of the registry's facts.
            #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
            pub enum Fact: "fact" {
                $(
                    $(#[doc = $doc])*
                    $variant = $code,
                )*
            }
        }

        /// Every fact of an enterprise on one day.
        #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
        #[serde(rename_all = "camelCase")]
        pub struct Facts {
            $(
                $(#[doc = $doc])*
                pub $field: $crate::fact_type!($kind, $ty),
            )*
        }

        /// What one event changes: fact -> new value; absent facts are unchanged. Stored as the
        /// event's `changes` JSON object, keyed by [`Fact::as_str`]; for a nullable fact an explicit
        /// `null` (`Some(None)`) clears it, which JSON keeps apart from an absent key.
        #[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
        #[serde(rename_all = "camelCase", deny_unknown_fields)]
        pub struct FactChanges {
            $(
                $(#[doc = $doc])*
                #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
                pub $field: Option<$crate::fact_type!($kind, $ty)>,
            )*
        }

        impl FactChanges {
            /// Changes that set every fact to `facts` (the `REGISTERED` event).
            pub fn all_of(facts: &Facts) -> FactChanges {
                FactChanges {
                    $($field: Some(facts.$field.clone()),)*
                }
            }

            /// The facts these changes name, in [`Fact::ALL`] order.
            pub fn named(&self) -> Vec<Fact> {
                let mut named = Vec::new();
                $(
                    if self.$field.is_some() {
                        named.push(Fact::$variant);
                    }
                )*
                named
            }

            /// The complete facts of a `REGISTERED` event, if every fact is named.
            pub fn complete(&self) -> Option<Facts> {
                Some(Facts {
                    $($field: self.$field.clone()?,)*
                })
            }

            /// Applies the changes to `facts`.
            fn apply(&self, facts: &mut Facts) {
                $(
                    if let Some(value) = &self.$field {
                        facts.$field = value.clone();
                    }
                )*
            }
        }
    };
}

crate::enterprise_facts!(registry_facts);

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

/// Deserialises a present JSON value as `Some(value)`, so that for a nullable fact a missing key
/// (`None`) and an explicit `null` (`Some(None)`) stay distinct; a required fact's `null` is an
/// error.
fn present<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(deserializer).map(Some)
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
    use crate::money::Money;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn initial() -> Facts {
        Facts {
            name: "杭州某某科技有限公司".into(),
            district_code: Some("330106".into()),
            hangzhou_since: Some(d(2020, 1, 1)),
            industry_code: "6513".into(),
            ownership: crate::recognition::Ownership::Private,
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
    fn every_fact_is_keyed_by_its_code_in_facts_and_changes_in_declaration_order() {
        let codes: Vec<&str> = Fact::ALL.iter().map(|f| f.as_str()).collect();
        let facts = serde_json::to_value(initial()).unwrap();
        let keys: Vec<&str> = facts
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let mut sorted = codes.clone();
        sorted.sort_unstable();
        assert_eq!(keys, sorted, "serde_json sorts keys; the sets must agree");
        let full = FactChanges::all_of(&initial());
        assert_eq!(full.named(), Fact::ALL.to_vec());
        let changes = serde_json::to_value(&full).unwrap();
        assert_eq!(changes, facts);
    }

    #[test]
    fn a_required_fact_cannot_be_cleared_with_null() {
        let err = serde_json::from_str::<FactChanges>(r#"{"name": null}"#).unwrap_err();
        assert!(err.to_string().contains("invalid type: null"), "{err}");
        let unknown = serde_json::from_str::<FactChanges>(r#"{"nom": "x"}"#).unwrap_err();
        assert!(unknown.to_string().contains("unknown field"), "{unknown}");
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
