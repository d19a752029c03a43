//! The recognition rounds of the demo (§4–§6, §22): recognitions decided on fixed dates by the
//! real rules, star ratings with the published shape, revocations and star rewards — all in one
//! transaction, through the services' `_in` functions, recorded by [`DEMO_ACTOR`].
//!
//! Who plays which part in the §20 story ([`Cast`]) is chosen here too: the enterprises whose
//! payments the districts get wrong must be rated three stars or more, so that only the mistake
//! the demo means shows in their verdicts.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter,
};

use super::generator::{SEED, mix};
use super::planner::Plan;
use super::vocabulary::DISTRICT_WEIGHTS;
use super::{DEMO_ACTOR, date, demo_actor, demo_error};
use crate::auth::Role;
use crate::error::{AppError, AppResult};
use crate::services::recognition::{self, ratings, recognize, rewards};
use crate::services::tx::begin_write;
use entity::{recognitions, revocations, star_ratings, star_rewards};

/// One recognition round.
struct Round {
    year: i32,
    /// The decision date D.
    decided_on: (i32, u32, u32),
    /// 5★, 4★ and 3★ HQs (the rest get 1 or 2 stars).
    top_stars: [usize; 3],
    /// The day the year's §6 rewards are granted, if the demo grants them.
    rewards_on: Option<(i32, u32, u32)>,
}

/// 2024 has the published shape (20 five-star, 30 four-star, 50 three-star); 2023 and 2025 the
/// same shape for their numbers of HQs.
const ROUNDS: [Round; 3] = [
    Round {
        year: 2023,
        decided_on: (2023, 6, 30),
        top_stars: [15, 22, 38],
        rewards_on: Some((2023, 12, 15)),
    },
    Round {
        year: 2024,
        decided_on: (2024, 6, 28),
        top_stars: [20, 30, 50],
        rewards_on: Some((2024, 12, 13)),
    },
    Round {
        year: 2025,
        decided_on: (2025, 6, 27),
        top_stars: [22, 33, 55],
        rewards_on: None,
    },
];

/// The years of the rounds.
pub(super) const YEARS: [i32; 3] = [2023, 2024, 2025];

/// A revocation the demo records (§22).
struct Revocation {
    /// The year of the title revoked: the HQ is chosen among those recognised for it.
    year: i32,
    revoked_on: (i32, u32, u32),
    reason: &'static str,
    approval_ref: &'static str,
}

/// The revocations: one title a year, after that year's round, each with a payment after it so
/// that `TITLE_REVOKED` shows.
const REVOCATIONS: [Revocation; 3] = [
    Revocation {
        year: 2023,
        revoked_on: (2023, 11, 15),
        reason: "申报材料中在杭营业收入不实（§22）",
        approval_ref: "杭总部经济领导小组〔2023〕9号",
    },
    Revocation {
        year: 2024,
        revoked_on: (2024, 9, 20),
        reason: "骗取区级租房补助（§22）",
        approval_ref: "杭总部经济领导小组〔2024〕7号",
    },
    Revocation {
        year: 2025,
        revoked_on: (2025, 8, 15),
        reason: "拒不配合绩效评估（§22）",
        approval_ref: "杭总部经济领导小组〔2025〕5号",
    },
];

/// The revocation of the title of `year`: `(revoked on, reason, approval)`.
pub(super) fn revocation(year: i32) -> AppResult<Option<(NaiveDate, &'static str, &'static str)>> {
    REVOCATIONS
        .iter()
        .find(|r| r.year == year)
        .map(|r| {
            let (y, m, d) = r.revoked_on;
            Ok((date(y, m, d)?, r.reason, r.approval_ref))
        })
        .transpose()
}

/// Plan indices of the HQs recognised for each year.
pub(super) type Recognised = BTreeMap<i32, BTreeSet<usize>>;

/// Runs the rounds, unless the demo's recognitions are there already.
///
/// # Errors
/// Database errors; an internal error if a service refuses what the demo planned (a bug).
pub(super) async fn run(db: &DatabaseConnection, plans: &[Plan]) -> AppResult<bool> {
    let done = recognitions::Entity::find()
        .filter(recognitions::Column::DecidedBy.eq(DEMO_ACTOR))
        .count(db)
        .await?;
    if done > 0 {
        return Ok(false);
    }
    let hq = demo_actor(Role::HqOffice);
    let txn = begin_write(db).await?;
    let mut recognised = Recognised::new();
    for round in &ROUNDS {
        let (y, m, d) = round.decided_on;
        let decided_on = date(y, m, d)?;
        let mut set = BTreeSet::new();
        for (index, plan) in plans.iter().enumerate() {
            // Only those the rules find eligible: the others are refused with the failed rules
            // (POLICY_VIOLATION), or are not in the registry yet on D (BAD_USER_INPUT).
            match recognize::recognize_in(&txn, &hq, plan.code(), round.year, decided_on).await {
                Ok(_) => {
                    set.insert(index);
                }
                Err(AppError::PolicyViolation { .. }) => {}
                Err(AppError::BadInput { field, .. }) if field == "decidedOn" => {}
                Err(err) => return Err(demo_error(plan.code(), err)),
            }
        }
        recognised.insert(round.year, set);
        let cast = Cast::choose(plans, &recognised)?;
        for (index, stars) in star_ratings_of(plans, &recognised, &cast, round.year) {
            let code = plans[index].code();
            ratings::rate_stars_in(&txn, &hq, code, round.year, stars)
                .await
                .map_err(|e| demo_error(code, e))?;
        }
        if let (Some((revoked_on, reason, approval)), Some(&index)) =
            (revocation(round.year)?, cast.revoked.get(&round.year))
        {
            let code = plans[index].code();
            recognition::revocations::revoke_title_in(
                &txn, &hq, code, revoked_on, reason, approval,
            )
            .await
            .map_err(|e| demo_error(code, e))?;
        }
        if let Some((y, m, d)) = round.rewards_on {
            rewards::grant_star_rewards_in(&txn, &hq, round.year, date(y, m, d)?).await?;
        }
    }
    txn.commit().await?;
    Ok(true)
}

/// Counts for the summary line.
pub(super) async fn summary<C: ConnectionTrait>(conn: &C) -> AppResult<String> {
    let mut per_year = Vec::new();
    for year in YEARS {
        let n = recognitions::Entity::find()
            .filter(recognitions::Column::DecidedBy.eq(DEMO_ACTOR))
            .filter(recognitions::Column::Year.eq(year))
            .count(conn)
            .await?;
        per_year.push(format!("{n} ({year})"));
    }
    let ratings = star_ratings::Entity::find()
        .filter(star_ratings::Column::RatedBy.eq(DEMO_ACTOR))
        .count(conn)
        .await?;
    let rewards = star_rewards::Entity::find()
        .filter(star_rewards::Column::GrantedBy.eq(DEMO_ACTOR))
        .count(conn)
        .await?;
    let revoked = revocations::Entity::find()
        .filter(revocations::Column::RecordedBy.eq(DEMO_ACTOR))
        .count(conn)
        .await?;
    Ok(format!(
        "recognised {}; {ratings} star ratings, {rewards} star rewards, {revoked} revocations",
        per_year.join(", ")
    ))
}

/// The star method is not in the text (§5): the demo rates by last year's revenue, weighted by a
/// fixed per-enterprise factor (0.6–1.6) and a yearly one (0.9–1.1), so that stars mostly follow
/// size without being size alone.
fn star_score(plans: &[Plan], index: usize, year: i32) -> i128 {
    let revenue = plans[index].revenue(year - 1).unwrap_or(0);
    let key = SEED ^ (index as u64).wrapping_mul(0x1_0000_0001);
    let fixed = 600 + i128::from(mix(key) % 1001);
    let yearly = 900 + i128::from(mix(key ^ (u64::from(year.unsigned_abs()) << 40)) % 201);
    i128::from(revenue / 1_000_000) * fixed * yearly
}

/// The ratings of `year`: `(plan index, stars)` in plan order. The top bands have exactly the
/// round's counts; the cast's HQs of the year are in them; the rest get 2 stars (the upper 40 %)
/// or 1.
fn star_ratings_of(
    plans: &[Plan],
    recognised: &Recognised,
    cast: &Cast,
    year: i32,
) -> Vec<(usize, i32)> {
    let Some(round) = ROUNDS.iter().find(|r| r.year == year) else {
        return Vec::new();
    };
    let Some(set) = recognised.get(&year) else {
        return Vec::new();
    };
    let mut order: Vec<usize> = set.iter().copied().collect();
    order.sort_by_key(|&i| (std::cmp::Reverse(star_score(plans, i, year)), i));
    let top: usize = round.top_stars.iter().sum::<usize>().min(order.len());
    // Bring the cast into the top bands, each in place of the lowest-scored HQ not in the cast.
    let must: BTreeSet<usize> = cast
        .three_stars(year)
        .into_iter()
        .filter(|i| set.contains(i))
        .collect();
    for &wanted in &must {
        let Some(at) = order.iter().position(|&i| i == wanted) else {
            continue;
        };
        if at < top {
            continue;
        }
        if let Some(out) = (0..top).rev().find(|&k| !must.contains(&order[k])) {
            order.swap(out, at);
        }
    }
    order[..top].sort_by_key(|&i| (std::cmp::Reverse(star_score(plans, i, year)), i));
    let [five, four, _] = round.top_stars;
    let rest = order.len() - top;
    let two_stars = rest * 2 / 5;
    let mut ratings: Vec<(usize, i32)> = order
        .iter()
        .enumerate()
        .map(|(k, &i)| {
            let stars = if k < five {
                5
            } else if k < five + four {
                4
            } else if k < top {
                3
            } else if k < top + two_stars {
                2
            } else {
                1
            };
            (i, stars)
        })
        .collect();
    ratings.sort_unstable();
    ratings
}

/// The enterprises with a part in the demo's §20 story. Chosen from the plan and the
/// recognitions of the years so far only, so the rounds and the payments (run later, or again)
/// choose the same ones.
#[derive(Debug, Clone, Default)]
pub(super) struct Cast {
    /// The HQ whose title of the year is revoked ([`REVOCATIONS`]).
    pub revoked: BTreeMap<i32, usize>,
    /// Buys its first office premises off-plan in 2023 (paid over 2023 and 2024) and more in
    /// 2024: the second contract is not its first purchase.
    pub second_purchase: Option<usize>,
    /// Buys office premises off-plan in 2024 while its district still pays its rent.
    pub rent_and_purchase: Option<usize>,
    /// Owns office premises, yet its district pays its rent: year → HQ.
    pub owner: BTreeMap<i32, usize>,
    /// Moves to another district in the year; the old district pays once more after the move:
    /// `(year, HQ, day of the move, old district)`.
    pub mover: Option<(i32, usize, NaiveDate, String)>,
    /// Per year, an HQ of every district that has one to pay, rated three stars or more, so
    /// that every district reports payments.
    pub district_picks: BTreeMap<i32, Vec<usize>>,
}

impl Cast {
    /// Chooses the cast from the plans and the recognitions of the years in `recognised`.
    ///
    /// # Errors
    /// An invalid fixed date (a bug).
    pub(super) fn choose(plans: &[Plan], recognised: &Recognised) -> AppResult<Cast> {
        let mut cast = Cast::default();
        let mut used: BTreeSet<usize> = BTreeSet::new();
        for &year in recognised.keys() {
            let set = &recognised[&year];
            let first = date(year, 1, 1)?;
            let last = date(year, 12, 31)?;
            // Paid from July of the year to March of the next, in the same district.
            let paid_from = date(year, 6, 1)?;
            let paid_to = date(year + 1, 3, 31)?;
            let renter = |i: usize| {
                let p = &plans[i];
                set.contains(&i)
                    && p.steady()
                    && !p.owns_office_during(first, last)
                    && p.stays_put(paid_from, paid_to)
            };
            let pick = |used: &mut BTreeSet<usize>, ok: &dyn Fn(usize) -> bool| {
                let found = set.iter().copied().find(|&i| !used.contains(&i) && ok(i));
                if let Some(i) = found {
                    used.insert(i);
                }
                found
            };
            if year == 2023 {
                cast.second_purchase = pick(&mut used, &|i| {
                    let p = &plans[i];
                    renter(i)
                        && !p.has_office_events()
                        && !p.register.facts.owns_office
                        && p.stays_put(first, date(2025, 12, 31).unwrap_or(last))
                });
            }
            if year == 2024 {
                cast.rent_and_purchase = pick(&mut used, &|i| {
                    let p = &plans[i];
                    renter(i)
                        && !p.has_office_events()
                        && !p.register.facts.owns_office
                        && p.stays_put(first, date(2025, 12, 31).unwrap_or(last))
                });
            }
            if let Some(i) = pick(&mut used, &|i| renter(i)) {
                cast.revoked.insert(year, i);
            }
            if year <= 2024 {
                let owner = pick(&mut used, &|i| {
                    let p = &plans[i];
                    p.steady()
                        && p.owns_office_on(first)
                        && !p.has_office_events()
                        && p.stays_put(first, paid_to)
                });
                if let Some(i) = owner {
                    cast.owner.insert(year, i);
                }
            }
            if cast.mover.is_none() && year <= 2024 {
                let moved = |i: usize| {
                    let p = &plans[i];
                    p.move_between(date(year, 8, 1).ok()?, date(year, 11, 15).ok()?)
                        .filter(|_| {
                            p.steady()
                                && !p.owns_office_during(first, last)
                                && p.district_on(first).is_some()
                        })
                        .map(|(on, from, _)| (on, from.to_string()))
                };
                if let Some(i) = pick(&mut used, &|i| moved(i).is_some())
                    && let Some((on, from)) = moved(i)
                {
                    cast.mover = Some((year, i, on, from));
                }
            }
            // Every district with an HQ to pay gets one rated three stars or more.
            let mut picks = Vec::new();
            for (district, _) in DISTRICT_WEIGHTS {
                let best = set
                    .iter()
                    .copied()
                    .filter(|&i| {
                        renter(i)
                            && !used.contains(&i)
                            && plans[i].district_on(paid_from) == Some(district)
                    })
                    .max_by_key(|&i| (star_score(plans, i, year), std::cmp::Reverse(i)));
                if let Some(i) = best {
                    picks.push(i);
                }
            }
            cast.district_picks.insert(year, picks);
        }
        Ok(cast)
    }

    /// The HQs that must be rated three stars or more for `year`.
    pub(super) fn three_stars(&self, year: i32) -> Vec<usize> {
        let mut must: Vec<usize> = self.district_picks.get(&year).cloned().unwrap_or_default();
        must.extend(self.revoked.get(&year));
        must.extend(self.owner.get(&year));
        if year <= 2024 {
            must.extend(self.second_purchase);
        }
        if year == 2024 {
            must.extend(self.rent_and_purchase);
        }
        if let Some((y, i, _, _)) = &self.mover
            && *y == year
        {
            must.push(*i);
        }
        must
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::demo::{Fate, plan};

    /// What the rounds would recognise if every fate came true (no revocations).
    pub(in crate::demo) fn as_planned(plans: &[Plan]) -> Recognised {
        YEARS
            .iter()
            .map(|&year| {
                let set = plans
                    .iter()
                    .enumerate()
                    .filter(|(_, p)| match p.fate {
                        Fate::Eligible { from, .. } => from <= year,
                        Fate::TurnsDishonest { from } => year < from,
                        _ => false,
                    })
                    .map(|(i, _)| i)
                    .collect();
                (year, set)
            })
            .collect()
    }

    #[test]
    fn every_round_has_its_star_bands_exactly_and_the_cast_at_three_stars_or_more() {
        let plans = plan().unwrap();
        let recognised = as_planned(&plans);
        let cast = Cast::choose(&plans, &recognised).unwrap();
        for round in &ROUNDS {
            let ratings = star_ratings_of(&plans, &recognised, &cast, round.year);
            assert_eq!(ratings.len(), recognised[&round.year].len());
            for (stars, expected) in [(5, round.top_stars[0]), (4, round.top_stars[1])] {
                let n = ratings.iter().filter(|r| r.1 == stars).count();
                assert_eq!(n, expected, "{} {stars}★", round.year);
            }
            let three = ratings.iter().filter(|r| r.1 == 3).count();
            assert_eq!(three, round.top_stars[2], "{} 3★", round.year);
            for i in cast.three_stars(round.year) {
                let stars = ratings.iter().find(|r| r.0 == i).map(|r| r.1);
                assert!(stars >= Some(3), "{} cast {i}: {stars:?}", round.year);
            }
        }
    }

    #[test]
    fn the_cast_has_every_part_and_a_pick_in_every_district() {
        let plans = plan().unwrap();
        let cast = Cast::choose(&plans, &as_planned(&plans)).unwrap();
        assert_eq!(cast.revoked.len(), 3);
        assert!(cast.second_purchase.is_some());
        assert!(cast.rent_and_purchase.is_some());
        assert_eq!(cast.owner.len(), 2);
        assert!(cast.mover.is_some());
        assert_eq!(cast.district_picks[&2024].len(), DISTRICT_WEIGHTS.len());
    }
}
