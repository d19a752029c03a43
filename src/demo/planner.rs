//! The plan of the demo registry, computed before anything is written: each enterprise's fate in
//! the recognition rounds, and the registration, events and figures drawn to match it.

use std::collections::HashSet;

use chrono::{Duration, NaiveDate};

use super::date;
use super::figures::{FEN_PER_MILLION, figures};
use super::generator::{Rng, SEED};
use super::vocabulary::{
    DISTRICT_WEIGHTS, EXCHANGES, EXCLUDED_INDUSTRIES, EXCLUDED_OWNERSHIP, INDUSTRIES,
    OUTSIDE_AREAS, OWNERSHIPS, credit_code, unique_name,
};
use crate::error::{AppError, AppResult};
use crate::policy::Money;
use crate::services::registry::{EventKind, FactChanges, Facts, RegisterInput};

/// How an enterprise fares in the demo's recognition rounds. The plan draws its facts to match,
/// so that the real rules recognise the published numbers (see [`FATES`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Fate {
    /// Eligible from the round of `from` on; `path` is how (and what failed the rounds before).
    Eligible { from: i32, path: Path },
    /// Eligible in 2023, put on the serious dishonesty list before the round of `from`.
    TurnsDishonest { from: i32 },
    /// Never eligible, failing one basic rule or the scale test.
    Never(Failure),
    /// One of [`BOUNDARY_CASES`]: the rules decide, to the fen.
    Boundary,
}

/// The route an eligible enterprise takes, and for a later round what made the earlier fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Path {
    /// Revenue above the §3.2 threshold all along (STANDARD).
    Standard,
    /// Revenue under 1 billion, R&D of 13–25 % and above 50 million (RD).
    Rd,
    /// Revenue under 1 billion, listed on an accepted exchange, in Hangzhou (LISTED).
    Listed,
    /// Registered in or moved into Hangzhou in the year before the round: no figures before.
    Arrival,
    /// Revenue under 1 billion until the year before the round.
    Revenue,
    /// The industrial-guidance flag is set in the year before the round.
    Guidance,
    /// The second unit outside Hangzhou opens in the year before the round.
    OutsideUnits,
    /// Listed in the year before the round, revenue under 1 billion.
    Listing,
}

/// Why an enterprise is never eligible.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Failure {
    /// Revenue 90–99.6 % of 1 billion every year, not listed, R&D under 10 %.
    BelowRevenue,
    /// A bank, a real-estate developer or a power company.
    ExcludedIndustry,
    /// A provincial, municipal or district SOE.
    ExcludedOwnership,
    /// On the serious dishonesty list.
    Dishonest,
    /// Fewer than two units outside Hangzhou.
    FewOutsideUnits,
    /// No industrial guidance.
    NoGuidance,
    /// A branch: neither an independent nor a deemed legal person.
    NotLegalPerson,
    /// No unified accounting.
    NoUnifiedAccounting,
}

const fn eligible(from: i32, path: Path) -> Fate {
    Fate::Eligible { from, path }
}

/// The fates of the ordinary enterprises below the 62 largest (629 of them), shuffled among them.
/// With the 62 largest and the 6 eligible boundary cases: 468 eligible in 2023; in 2024, 643
/// (one turns dishonest, one is revoked, 177 become eligible); in 2025, 666 (one more turns
/// dishonest, one more is revoked, 25 become eligible).
const FATES: [(Fate, usize); 23] = [
    (eligible(2023, Path::Standard), 298),
    (eligible(2023, Path::Rd), 20),
    (eligible(2023, Path::Listed), 15),
    (eligible(2023, Path::Arrival), 65),
    (Fate::TurnsDishonest { from: 2024 }, 1),
    (Fate::TurnsDishonest { from: 2025 }, 1),
    (eligible(2024, Path::Revenue), 80),
    (eligible(2024, Path::Guidance), 30),
    (eligible(2024, Path::OutsideUnits), 25),
    (eligible(2024, Path::Arrival), 30),
    (eligible(2024, Path::Listing), 12),
    (eligible(2025, Path::Revenue), 8),
    (eligible(2025, Path::Guidance), 5),
    (eligible(2025, Path::OutsideUnits), 4),
    (eligible(2025, Path::Arrival), 8),
    (Fate::Never(Failure::BelowRevenue), 8),
    (Fate::Never(Failure::ExcludedIndustry), 4),
    (Fate::Never(Failure::ExcludedOwnership), 6),
    (Fate::Never(Failure::Dishonest), 3),
    (Fate::Never(Failure::FewOutsideUnits), 2),
    (Fate::Never(Failure::NoGuidance), 2),
    (Fate::Never(Failure::NotLegalPerson), 1),
    (Fate::Never(Failure::NoUnifiedAccounting), 1),
];

/// Size ranks below this are the giants and the 10-billion enterprises: all eligible from 2023.
pub(super) const LARGEST: usize = 62;

/// One planned event.
pub(super) struct PlannedEvent {
    pub(super) on: NaiveDate,
    pub(super) kind: EventKind,
    pub(super) changes: FactChanges,
}

/// One planned enterprise.
pub(super) struct Plan {
    pub(super) register: RegisterInput,
    pub(super) events: Vec<PlannedEvent>,
    /// `(year, revenue fen, R&D fen)`.
    pub(super) figures: Vec<(i32, i64, i64)>,
    pub(super) fate: Fate,
}

impl Plan {
    pub(super) fn code(&self) -> &str {
        &self.register.credit_code
    }

    fn registered_on(&self) -> NaiveDate {
        self.register
            .registered_on
            .or(self.register.facts.hangzhou_since)
            .unwrap_or(NaiveDate::MIN)
    }

    /// The district registered in on `day` (`None` before registration or outside Hangzhou).
    pub(super) fn district_on(&self, day: NaiveDate) -> Option<&str> {
        if day < self.registered_on() {
            return None;
        }
        let mut district = self.register.facts.district_code.as_deref();
        for event in self.events.iter().filter(|e| e.on <= day) {
            match event.kind {
                EventKind::MovedIntoHangzhou | EventKind::MovedDistrict => {
                    district = event
                        .changes
                        .district_code
                        .as_ref()
                        .and_then(|d| d.as_deref());
                }
                EventKind::MovedOutOfHangzhou => district = None,
                _ => {}
            }
        }
        district
    }

    /// Registered in the same Hangzhou district on every day of `first..=last`.
    pub(super) fn stays_put(&self, first: NaiveDate, last: NaiveDate) -> bool {
        self.district_on(first).is_some()
            && !self.events.iter().any(|e| {
                first < e.on
                    && e.on <= last
                    && matches!(
                        e.kind,
                        EventKind::MovedDistrict
                            | EventKind::MovedIntoHangzhou
                            | EventKind::MovedOutOfHangzhou
                    )
            })
    }

    /// Whether it owns office premises in Hangzhou on `day`.
    pub(super) fn owns_office_on(&self, day: NaiveDate) -> bool {
        let mut owns = self.register.facts.owns_office && day >= self.registered_on();
        for event in self.events.iter().filter(|e| e.on <= day) {
            match event.kind {
                EventKind::OfficeAcquired => owns = true,
                EventKind::OfficeDisposed => owns = false,
                _ => {}
            }
        }
        owns
    }

    /// Whether it owns office premises in Hangzhou on any day of `first..=last`.
    pub(super) fn owns_office_during(&self, first: NaiveDate, last: NaiveDate) -> bool {
        self.owns_office_on(first)
            || self
                .events
                .iter()
                .any(|e| e.kind == EventKind::OfficeAcquired && first <= e.on && e.on <= last)
    }

    /// The days it acquired office premises on.
    pub(super) fn office_acquisitions(&self) -> impl Iterator<Item = NaiveDate> + '_ {
        self.events
            .iter()
            .filter(|e| e.kind == EventKind::OfficeAcquired)
            .map(|e| e.on)
    }

    /// Whether any office event (acquisition or disposal) is planned.
    pub(super) fn has_office_events(&self) -> bool {
        self.events.iter().any(|e| {
            matches!(
                e.kind,
                EventKind::OfficeAcquired | EventKind::OfficeDisposed
            )
        })
    }

    /// The district move on a day of `first..=last`, if any: `(day, from, to)`.
    pub(super) fn move_between(
        &self,
        first: NaiveDate,
        last: NaiveDate,
    ) -> Option<(NaiveDate, &str, &str)> {
        let event = self
            .events
            .iter()
            .find(|e| e.kind == EventKind::MovedDistrict && first <= e.on && e.on <= last)?;
        let from = self.district_on(event.on.pred_opt()?)?;
        let to = self.district_on(event.on)?;
        Some((event.on, from, to))
    }

    /// Revenue of `year` in fen, if recorded.
    pub(super) fn revenue(&self, year: i32) -> Option<i64> {
        self.figures.iter().find(|f| f.0 == year).map(|f| f.1)
    }

    /// Eligible in every round from 2023 on (unless the demo revokes its title).
    pub(super) fn steady(&self) -> bool {
        matches!(self.fate, Fate::Eligible { from: 2023, .. })
    }
}

/// Figures that sit exactly on, or just under, a threshold of §3 or §1, for the years 2022 to
/// 2024 (decided in the 2023 to 2025 rounds). `(revenue fen, R&D fen, new enterprise)`.
const BOUNDARY_CASES: [(i64, i64, bool); 9] = [
    (100_000_000_000, 3_000_000_000, false), // exactly 1,000,000,000.00, in Hangzhou before 2022
    (99_999_999_999, 3_000_000_000, false),  // 999,999,999.99: one fen short
    (50_000_000_000, 1_500_000_000, true),   // exactly 500,000,000.00 for a new enterprise
    (49_999_999_999, 1_500_000_000, true),   // 499,999,999.99: one fen short
    (99_999_999_999, 2_000_000_000, true),   // under 1 billion but new: passes at 500 million
    (50_000_000_000, 5_000_000_000, true),   // R&D exactly 50,000,000.00 and exactly 10%
    (40_000_000_000, 4_999_999_999, true),   // R&D 49,999,999.99: one fen short
    (60_000_000_001, 6_000_000_000, true),   // R&D just under 10% of revenue
    (30_000_000_000, 6_000_000_000, false),  // R&D route only: 20% of a small revenue
];

/// The size rank of the first boundary case.
const FIRST_BOUNDARY_RANK: usize = 300;

/// The whole registry, computed before anything is written.
pub(super) fn plan() -> AppResult<Vec<Plan>> {
    let mut rng = Rng(SEED);
    let mut districts: Vec<&'static str> = DISTRICT_WEIGHTS
        .iter()
        .flat_map(|(code, n)| std::iter::repeat_n(*code, *n))
        .collect();
    rng.shuffle(&mut districts);
    // Size ranks: rank 0..12 are the giants, and so on down.
    let mut ranks: Vec<usize> = (0..districts.len()).collect();
    rng.shuffle(&mut ranks);
    let boundary_ranks = FIRST_BOUNDARY_RANK..FIRST_BOUNDARY_RANK + BOUNDARY_CASES.len();
    let mut fates: Vec<Fate> = FATES
        .iter()
        .flat_map(|&(fate, n)| std::iter::repeat_n(fate, n))
        .collect();
    let ordinary = ranks
        .iter()
        .filter(|&&r| r >= LARGEST && !boundary_ranks.contains(&r))
        .count();
    if fates.len() != ordinary {
        return Err(AppError::internal(format!(
            "the demo plans {} fates for {ordinary} ordinary enterprises",
            fates.len()
        )));
    }
    rng.shuffle(&mut fates);
    let mut fates = fates.into_iter();

    let mut codes = HashSet::new();
    let mut names = HashSet::new();
    let mut plans = Vec::with_capacity(districts.len());
    for (index, district) in districts.iter().enumerate() {
        let rank = ranks[index];
        let fate = if boundary_ranks.contains(&rank) {
            Fate::Boundary
        } else if rank < LARGEST {
            eligible(2023, Path::Standard)
        } else {
            fates
                .next()
                .ok_or_else(|| AppError::internal("the demo ran out of fates"))?
        };
        let mut planner = Planner {
            rng: &mut rng,
            codes: &mut codes,
            names: &mut names,
        };
        plans.push(planner.plan_one(index, district, rank, fate)?);
    }
    Ok(plans)
}

/// Draws a weighted item, leaving out those `skip` rejects.
fn weighted_except<T: Copy>(rng: &mut Rng, items: &[(T, u64)], skip: impl Fn(T) -> bool) -> T {
    let kept: Vec<(T, u64)> = items.iter().copied().filter(|(t, _)| !skip(*t)).collect();
    *rng.weighted(&kept)
}

/// Plans one enterprise at a time, sharing the generator and the codes and names used.
struct Planner<'a> {
    rng: &'a mut Rng,
    codes: &'a mut HashSet<String>,
    names: &'a mut HashSet<String>,
}

/// How an arriving enterprise arrives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Arrival {
    /// Newly registered in its district.
    Registered,
    /// Registered elsewhere, moved into Hangzhou.
    MovedIn,
    /// Registered in Hangzhou long ago, moved out before 2021 and back.
    Returned,
}

impl Planner<'_> {
    #[allow(clippy::too_many_lines)]
    fn plan_one(
        &mut self,
        index: usize,
        district: &'static str,
        rank: usize,
        fate: Fate,
    ) -> AppResult<Plan> {
        let events_to = date(2025, 9, 30)?;
        let boundary = rank
            .checked_sub(FIRST_BOUNDARY_RANK)
            .and_then(|k| BOUNDARY_CASES.get(k).copied());
        let plain = boundary.is_none() && rank > 13;
        let (from, path) = match fate {
            Fate::Eligible { from, path } => (from, Some(path)),
            _ => (2023, None),
        };
        let failure = match fate {
            Fate::Never(failure) => Some(failure),
            _ => None,
        };
        // Listing helps only by the LISTED route: it must not rescue those planned to fail on
        // revenue, nor arrivals before their figures start.
        let may_list = !matches!(
            path,
            Some(Path::Revenue | Path::Listing | Path::Listed | Path::Arrival)
        ) && failure != Some(Failure::BelowRevenue)
            && boundary.is_none();
        let rng = &mut *self.rng;

        let (mut industry_code, mut industry_word) =
            weighted_except(rng, &INDUSTRIES, |(code, _)| {
                EXCLUDED_INDUSTRIES.contains(&code)
            });
        if failure == Some(Failure::ExcludedIndustry) {
            let code = rng.pick(&EXCLUDED_INDUSTRIES);
            (industry_code, industry_word) = INDUSTRIES
                .iter()
                .map(|(industry, _)| *industry)
                .find(|(c, _)| *c == code)
                .unwrap_or(("6621", "银行"));
        }
        if boundary.is_some() {
            (industry_code, industry_word) = ("6513", "软件科技");
        }
        let ownership = if failure == Some(Failure::ExcludedOwnership) {
            rng.pick(&EXCLUDED_OWNERSHIP)
        } else if plain {
            weighted_except(rng, &OWNERSHIPS, |kind| EXCLUDED_OWNERSHIP.contains(&kind))
        } else {
            "PRIVATE"
        };
        let listed_chance = match rank {
            0..12 => 700,
            12..62 => 450,
            _ => 150,
        };
        let listing_exchange = if path == Some(Path::Listed) {
            Some(rng.weighted(&EXCHANGES[..6]).to_string())
        } else if may_list && rng.chance(listed_chance) {
            Some(rng.weighted(&EXCHANGES).to_string())
        } else {
            None
        };
        let listed_entity_in_hangzhou =
            path == Some(Path::Listed) || (listing_exchange.is_some() && rng.chance(850));
        let suffix = if listing_exchange.is_some() || industry_code == "6621" {
            "股份有限公司"
        } else if industry_code == "7211" || rank < LARGEST {
            "集团有限公司"
        } else {
            "有限公司"
        };
        let name = unique_name(rng, industry_word, suffix, self.names);

        // Where, and since when.
        let arrival = (path == Some(Path::Arrival)).then(|| {
            *rng.weighted(&[
                (Arrival::Registered, 70),
                (Arrival::MovedIn, 20),
                (Arrival::Returned, 10),
            ])
        });
        let new_boundary = boundary.is_some_and(|(_, _, new)| new);
        let mut hangzhou_since = match (arrival, new_boundary) {
            // Figures start in the year of arrival: the round after it is the first that passes.
            (Some(_), _) => rng.date_between(date(from - 1, 1, 1)?, date(from - 1, 12, 31)?),
            // Boundary cases need figures for 2022: in Hangzhou during 2022.
            (None, true) => rng.date_between(date(2022, 1, 1)?, date(2022, 12, 31)?),
            (None, false) => rng.date_between(date(1995, 1, 1)?, date(2021, 12, 31)?),
        };
        // A few exactly on the §3.2 cutoff, on both sides.
        if plain && index.is_multiple_of(97) {
            match (arrival, from) {
                (Some(Arrival::Registered), 2023) => hangzhou_since = date(2022, 1, 1)?,
                (None, _) => hangzhou_since = date(2021, 12, 31)?,
                _ => {}
            }
        }
        let mut events: Vec<PlannedEvent> = Vec::new();
        let into_district = || FactChanges {
            district_code: Some(Some(district.to_string())),
            ..FactChanges::default()
        };
        let (registered_on, mut initial_district, initial_since, area) = match arrival {
            Some(Arrival::MovedIn) => {
                events.push(PlannedEvent {
                    on: hangzhou_since,
                    kind: EventKind::MovedIntoHangzhou,
                    changes: into_district(),
                });
                let registered = rng.date_between(date(2006, 1, 1)?, date(2020, 12, 31)?);
                (registered, None, None, rng.pick(&OUTSIDE_AREAS))
            }
            Some(Arrival::Returned) => {
                let registered = rng.date_between(date(2003, 1, 1)?, date(2012, 12, 31)?);
                let out = rng.date_between(date(2018, 1, 1)?, date(2020, 12, 31)?);
                events.push(PlannedEvent {
                    on: out,
                    kind: EventKind::MovedOutOfHangzhou,
                    changes: FactChanges::default(),
                });
                events.push(PlannedEvent {
                    on: hangzhou_since,
                    kind: EventKind::MovedIntoHangzhou,
                    changes: into_district(),
                });
                (registered, Some(district), Some(registered), district)
            }
            Some(Arrival::Registered) | None => {
                let area = if rng.chance(300) { "330100" } else { district };
                (hangzhou_since, Some(district), Some(hangzhou_since), area)
            }
        };
        let wrong_org_check = plain && index % 151 == 7;
        let credit_code = credit_code(rng, area, self.codes, wrong_org_check)?;

        // Flags: every basic rule passes but the one the fate fails.
        let vehicle_unit = industry_code.starts_with("361")
            && failure != Some(Failure::NotLegalPerson)
            && rng.chance(400);
        let independent_legal_person = !vehicle_unit && failure != Some(Failure::NotLegalPerson);
        let industrial_guidance =
            failure != Some(Failure::NoGuidance) && path != Some(Path::Guidance);
        let unified_accounting = failure != Some(Failure::NoUnifiedAccounting);
        let rd_route = path == Some(Path::Rd) || boundary.is_some();
        let rd_facilities = rd_route || rng.chance(500);
        let rd_stable_funding = rd_route || (rd_facilities && rng.chance(780));
        // R&D of 10 % or more would open the RD route: only where that cannot change the fate.
        let rd_heavy = path == Some(Path::Rd)
            || (may_list && path != Some(Path::Listed) && rd_facilities && rng.chance(300));
        let outside_units = if failure == Some(Failure::FewOutsideUnits) {
            u32::try_from(rng.below(2)).unwrap_or(0)
        } else if path == Some(Path::OutsideUnits) {
            1
        } else if plain {
            let base: u32 = *rng.weighted(&[(2, 250), (4, 200), (8, 250), (20, 150)]);
            base + u32::try_from(rng.below(3)).unwrap_or(0)
        } else {
            5
        };
        let owns_office = rng.chance(350);
        let registered_capital_fen = match rank {
            0..12 => rng.between(2_000, 20_000),
            12..62 => rng.between(500, 5_000),
            62..300 => rng.between(50, 1_000),
            _ => rng.between(5, 200),
        } * FEN_PER_MILLION;
        let mut initial_name = name.clone();
        let mut initial_ownership = ownership;
        let dishonest = failure == Some(Failure::Dishonest);

        // What turns the fate in the year before its first round (after the round before it).
        let turning = (date(from - 1, 7, 1)?, date(from, 5, 31)?);
        let turn = |rng: &mut Rng, changes: FactChanges| -> PlannedEvent {
            PlannedEvent {
                on: rng.date_between(turning.0.max(registered_on + Duration::days(1)), turning.1),
                kind: EventKind::FactsUpdated,
                changes,
            }
        };
        match (fate, path) {
            (_, Some(Path::Guidance)) => events.push(turn(
                rng,
                FactChanges {
                    industrial_guidance: Some(true),
                    ..FactChanges::default()
                },
            )),
            (_, Some(Path::OutsideUnits)) => {
                let units = u32::try_from(rng.between(2, 4)).unwrap_or(2);
                events.push(turn(
                    rng,
                    FactChanges {
                        outside_units: Some(units),
                        ..FactChanges::default()
                    },
                ));
            }
            (_, Some(Path::Listing)) => {
                let exchange = rng.weighted(&EXCHANGES[..6]).to_string();
                events.push(turn(
                    rng,
                    FactChanges {
                        listing_exchange: Some(Some(exchange)),
                        listed_entity_in_hangzhou: Some(true),
                        ..FactChanges::default()
                    },
                ));
            }
            (Fate::TurnsDishonest { from }, _) => events.push(PlannedEvent {
                on: rng.date_between(date(from - 1, 7, 15)?, date(from, 3, 31)?),
                kind: EventKind::FactsUpdated,
                changes: FactChanges {
                    dishonest: Some(true),
                    ..FactChanges::default()
                },
            }),
            _ => {}
        }

        // Later history (2023 to 2025) for ordinary enterprises registered in Hangzhou.
        let window_start = (registered_on + Duration::days(1)).max(date(2023, 1, 1)?);
        let settled = matches!(arrival, None | Some(Arrival::Registered));
        if plain && settled && window_start < events_to {
            if rng.chance(60) {
                initial_district = Some(district_other_than(rng, district));
                events.push(PlannedEvent {
                    on: rng.date_between(window_start, events_to),
                    kind: EventKind::MovedDistrict,
                    changes: into_district(),
                });
            }
            if !owns_office && rng.chance(110) {
                events.push(PlannedEvent {
                    on: rng.date_between(window_start, events_to),
                    kind: EventKind::OfficeAcquired,
                    changes: FactChanges::default(),
                });
            } else if owns_office && rng.chance(25) {
                events.push(PlannedEvent {
                    on: rng.date_between(window_start, events_to),
                    kind: EventKind::OfficeDisposed,
                    changes: FactChanges::default(),
                });
            }
            if rng.chance(15) {
                initial_name = unique_name(rng, "实业", "有限公司", self.names);
                events.push(PlannedEvent {
                    on: rng.date_between(window_start, events_to),
                    kind: EventKind::Renamed,
                    changes: FactChanges {
                        name: Some(name.clone()),
                        ..FactChanges::default()
                    },
                });
            }
            if rng.chance(20) {
                let capital = Money::from_fen(registered_capital_fen * 2);
                events.push(PlannedEvent {
                    on: rng.date_between(window_start, events_to),
                    kind: EventKind::CapitalChanged,
                    changes: FactChanges {
                        registered_capital: Some(Some(capital)),
                        ..FactChanges::default()
                    },
                });
            }
            if may_list && listing_exchange.is_none() && rng.chance(20) {
                let exchange = rng.weighted(&EXCHANGES[..6]).to_string();
                events.push(PlannedEvent {
                    on: rng.date_between(window_start, events_to),
                    kind: EventKind::FactsUpdated,
                    changes: FactChanges {
                        listing_exchange: Some(Some(exchange)),
                        listed_entity_in_hangzhou: Some(true),
                        ..FactChanges::default()
                    },
                });
            }
            if ownership == "PRIVATE" && rng.chance(10) {
                // None of these is excluded: the fate stands.
                let new_kind = rng.pick(&["CENTRAL_SOE", "OTHER_SOE", "FOREIGN"]);
                initial_ownership = "PRIVATE";
                events.push(PlannedEvent {
                    on: rng.date_between(window_start, events_to),
                    kind: EventKind::EquityTransferred,
                    changes: FactChanges {
                        ownership: Some(new_kind.parse().map_err(AppError::internal)?),
                        ..FactChanges::default()
                    },
                });
            }
            if rng.chance(5) {
                // After every other event (those end on 2025-09-30) and after every round.
                events.push(PlannedEvent {
                    on: rng.date_between(date(2025, 10, 1)?, date(2025, 11, 30)?),
                    kind: EventKind::Dissolved,
                    changes: FactChanges::default(),
                });
            }
        }
        // Stable: events of one day keep the order they were planned in.
        events.sort_by_key(|e| e.on);

        let register = RegisterInput {
            credit_code,
            registered_on: Some(registered_on),
            facts: Facts {
                name: initial_name,
                district_code: initial_district.map(str::to_string),
                hangzhou_since: initial_since,
                industry_code: industry_code.to_string(),
                ownership: initial_ownership.parse().map_err(AppError::internal)?,
                industrial_guidance,
                independent_legal_person,
                deemed_legal_person: vehicle_unit,
                operating: true,
                unified_accounting,
                rd_facilities,
                rd_stable_funding,
                outside_units,
                listing_exchange,
                listed_entity_in_hangzhou,
                dishonest,
                owns_office,
                registered_capital: Some(Money::from_fen(registered_capital_fen)),
            },
            note: Some("demo data".into()),
        };
        let figures = figures(rng, rank, fate, boundary, hangzhou_since, rd_heavy);
        Ok(Plan {
            figures,
            register,
            events,
            fate,
        })
    }
}

fn district_other_than(rng: &mut Rng, district: &str) -> &'static str {
    let others: Vec<&'static str> = DISTRICT_WEIGHTS
        .iter()
        .map(|(code, _)| *code)
        .filter(|code| *code != district)
        .collect();
    rng.pick(&others)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo::figures::BILLION;
    use crate::demo::{DEMO_ENTERPRISES, FIGURE_YEARS};
    use crate::policy::CreditCode;

    #[test]
    fn the_plan_is_the_same_every_time() {
        let a = plan().unwrap();
        let b = plan().unwrap();
        assert_eq!(a.len(), DEMO_ENTERPRISES);
        let codes = |plans: &[Plan]| -> Vec<String> {
            plans.iter().map(|p| p.code().to_string()).collect()
        };
        assert_eq!(codes(&a), codes(&b));
        let unique: HashSet<String> = codes(&a).into_iter().collect();
        assert_eq!(unique.len(), DEMO_ENTERPRISES);
    }

    #[test]
    fn every_planned_credit_code_is_valid() {
        for plan in plan().unwrap() {
            assert!(CreditCode::parse(plan.code()).is_ok());
        }
    }

    #[test]
    fn the_fates_add_up_to_the_published_counts() {
        let plans = plan().unwrap();
        let count = |f: &dyn Fn(&Fate) -> bool| plans.iter().filter(|p| f(&p.fate)).count();
        // The 6 boundary cases that pass are eligible in every round.
        let from_2023 = count(&|f| {
            matches!(
                f,
                Fate::Eligible { from: 2023, .. } | Fate::TurnsDishonest { .. }
            )
        }) + 6;
        assert_eq!(from_2023, 468);
        let new_2024 = count(&|f| matches!(f, Fate::Eligible { from: 2024, .. }));
        // 2024: one turns dishonest, one is revoked.
        assert_eq!(from_2023 - 2 + new_2024, 643);
        assert_eq!(count(&|f| *f == Fate::Boundary), BOUNDARY_CASES.len());
    }

    #[test]
    fn the_revenue_spread_has_giants_and_ten_billion_enterprises() {
        let plans = plan().unwrap();
        let revenue_2023: Vec<i64> = plans.iter().filter_map(|p| p.revenue(2023)).collect();
        let giants = revenue_2023
            .iter()
            .filter(|r| **r >= 10_000_000_000_000)
            .count();
        let big = revenue_2023
            .iter()
            .filter(|r| **r >= 1_000_000_000_000)
            .count();
        assert_eq!(giants, 11);
        assert!((50..=70).contains(&big), "{big}");
        for fen in [
            100_000_000_000,
            99_999_999_999,
            50_000_000_000,
            49_999_999_999,
        ] {
            assert!(revenue_2023.contains(&fen), "no 2023 revenue of {fen} fen");
        }
        for year in FIGURE_YEARS {
            let giants = plans
                .iter()
                .filter_map(|p| p.revenue(year))
                .filter(|r| *r >= 10_000_000_000_000)
                .count();
            assert!((8..=14).contains(&giants), "{year}: {giants}");
        }
    }

    #[test]
    fn revenue_planned_to_fail_stays_under_the_threshold_and_to_pass_over_it() {
        for plan in plan().unwrap() {
            match plan.fate {
                Fate::Never(Failure::BelowRevenue)
                | Fate::Eligible {
                    path: Path::Listed | Path::Listing,
                    ..
                } => {
                    for (year, revenue, _) in &plan.figures {
                        assert!(*revenue < BILLION, "{} {year}", plan.code());
                    }
                }
                Fate::Eligible {
                    from,
                    path: Path::Revenue,
                } => {
                    for (year, revenue, _) in &plan.figures {
                        assert_eq!(*revenue >= BILLION, *year >= from - 1, "{}", plan.code());
                    }
                }
                _ => {}
            }
        }
    }

    #[test]
    fn a_plan_reads_its_district_and_office_on_any_day() {
        let plans = plan().unwrap();
        let mover = plans
            .iter()
            .find(|p| p.events.iter().any(|e| e.kind == EventKind::MovedDistrict))
            .unwrap();
        let moved = mover
            .events
            .iter()
            .find(|e| e.kind == EventKind::MovedDistrict)
            .unwrap();
        let before = mover.district_on(moved.on.pred_opt().unwrap());
        let after = mover.district_on(moved.on);
        assert!(before.is_some() && after.is_some() && before != after);
        assert!(!mover.stays_put(moved.on.pred_opt().unwrap(), moved.on));
        let buyer = plans
            .iter()
            .find(|p| !p.register.facts.owns_office && p.office_acquisitions().next().is_some())
            .unwrap();
        let bought = buyer.office_acquisitions().next().unwrap();
        assert!(!buyer.owns_office_on(bought.pred_opt().unwrap()));
        assert!(buyer.owns_office_on(bought));
    }
}
