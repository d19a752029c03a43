//! The published list (§21) and the monitoring of the 2025 targets (§1).

use std::collections::{HashMap, HashSet};

use chrono::NaiveDate;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter};

use super::{registry, revocation_dates_of_many};
use crate::error::AppResult;
use crate::policy::Money;
use crate::services::keyset::{Key, KeyPart};
use entity::{enterprise_facts, enterprise_figures, recognitions, star_ratings};

/// The baseline year of the §1 targets (数量新增 counts from the 2023 recognitions).
pub const BASELINE_YEAR: i32 = 2023;
/// The year of the §1 targets: 到2025年.
pub const TARGET_YEAR: i32 = 2025;
/// §1: 总部企业数量新增100家以上 — at least 100 more HQs than in [`BASELINE_YEAR`] (以上 includes).
pub const TARGET_INCREASE: i64 = 100;
/// §1: 百亿级总部企业突破60家 — more than 60 HQs with revenue(Y−1) ≥ 10,000,000,000.00.
pub const TARGET_TEN_BILLION: i64 = 60;
/// §1: 千亿级总部企业突破10家 — more than 10 HQs with revenue(Y−1) ≥ 100,000,000,000.00.
pub const TARGET_HUNDRED_BILLION: i64 = 10;
/// 百亿级: revenue(Y−1) of at least 10,000,000,000.00 yuan.
pub const TEN_BILLION: Money = Money::from_fen(1_000_000_000_000);
/// 千亿级: revenue(Y−1) of at least 100,000,000,000.00 yuan.
pub const HUNDRED_BILLION: Money = Money::from_fen(10_000_000_000_000);

/// One entry of the published HQ list: nothing confidential.
#[derive(Debug, Clone)]
pub struct PublishedHq {
    /// The enterprise's id (the last component of the list's key).
    pub enterprise_id: i64,
    /// Name on the decision date.
    pub name: String,
    /// District registered in on the decision date.
    pub district: Option<String>,
    /// Stars for the year, if rated.
    pub stars: Option<i32>,
    /// The route of the recognition.
    pub route: String,
}

/// The published list of `year` (§21): the HQs recognised for `year`, with name and district as
/// on the decision date, stars and route; ordered by stars (highest first, unrated last), then
/// name, then enterprise id ([`PublishedHq::key`]).
///
/// INTERPRETATION(§21): The list is the current one: an HQ whose title was revoked (on or before
/// today) after its recognition for `year` was decided is no longer an HQ and is left out.
///
/// # Errors
/// Database errors.
pub async fn published_headquarters<C: ConnectionTrait>(
    conn: &C,
    year: i32,
) -> AppResult<Vec<PublishedHq>> {
    let recognised = recognitions::Entity::find()
        .filter(recognitions::Column::Year.eq(year))
        .all(conn)
        .await?;
    let ids: Vec<i64> = recognised.iter().map(|r| r.enterprise_id).collect();
    let revoked = revocation_dates_of_many(conn, &ids).await?;
    let today = registry::today();
    let recognised: Vec<recognitions::Model> = recognised
        .into_iter()
        .filter(|r| {
            !revoked.get(&r.enterprise_id).is_some_and(|dates| {
                dates
                    .iter()
                    .any(|&revoked_on| r.decided_on < revoked_on && revoked_on <= today)
            })
        })
        .collect();
    let stars: HashMap<i64, i32> = star_ratings::Entity::find()
        .filter(star_ratings::Column::Year.eq(year))
        .all(conn)
        .await?
        .into_iter()
        .map(|r| (r.enterprise_id, r.stars))
        .collect();
    let keys: Vec<(i64, NaiveDate)> = recognised
        .iter()
        .map(|r| (r.enterprise_id, r.decided_on))
        .collect();
    let mut facts: HashMap<(i64, NaiveDate), enterprise_facts::Model> = HashMap::new();
    for (date, ids) in registry::read::group_by_date(&keys) {
        for (id, row) in registry::read::facts_as_of_many(conn, &ids, date).await? {
            facts.insert((id, date), row);
        }
    }
    let mut list: Vec<PublishedHq> = recognised
        .iter()
        .map(|r| {
            let on_decision = facts.get(&(r.enterprise_id, r.decided_on));
            PublishedHq {
                enterprise_id: r.enterprise_id,
                name: on_decision.map(|f| f.name.clone()).unwrap_or_default(),
                district: on_decision.and_then(|f| f.district_code.clone()),
                stars: stars.get(&r.enterprise_id).copied(),
                route: r.route.clone(),
            }
        })
        .collect();
    list.sort_by_key(PublishedHq::key);
    Ok(list)
}

impl PublishedHq {
    /// The entry's place in the list, ascending and unique: the rank of its stars (5 stars
    /// first, unrated last), its name, its enterprise id.
    pub fn key(&self) -> Key {
        vec![
            KeyPart::Int(5 - i64::from(self.stars.unwrap_or(0))),
            KeyPart::Text(self.name.clone()),
            KeyPart::Int(self.enterprise_id),
        ]
    }
}

/// The §1 monitoring figures of one year.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    /// The year Y.
    pub year: i32,
    /// HQs recognised for Y.
    pub recognised: i64,
    /// HQs recognised for the baseline year 2023.
    pub baseline_recognised: i64,
    /// HQs recognised for Y and for no earlier year.
    pub first_time: i64,
    /// HQs recognised for Y with revenue(Y−1) ≥ 10,000,000,000.00 (百亿级).
    pub ten_billion: i64,
    /// HQs recognised for Y with revenue(Y−1) ≥ 100,000,000,000.00 (千亿级).
    pub hundred_billion: i64,
}

/// What a §1 target measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetMeasure {
    /// 总部企业数量新增: recognised(Y) − recognised(2023).
    IncreaseOverBaseline,
    /// 百亿级总部企业: HQs with revenue(Y−1) ≥ 10,000,000,000.00.
    TenBillionClass,
    /// 千亿级总部企业: HQs with revenue(Y−1) ≥ 100,000,000,000.00.
    HundredBillionClass,
}

/// One §1 target against the year's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target {
    /// What is measured.
    pub measure: TargetMeasure,
    /// The year's value.
    pub actual: i64,
    /// The 2025 target.
    pub target: i64,
    /// Whether the value meets the target.
    pub met: bool,
}

impl Progress {
    /// `recognised − baseline_recognised` (数量新增; negative if fewer).
    #[must_use]
    pub fn increase(&self) -> i64 {
        self.recognised - self.baseline_recognised
    }

    /// The three §1 targets against this year's values.
    ///
    /// 新增100家以上: at least 100 (以上 includes the number, Civil Code art. 1259).
    /// INTERPRETATION(§1): 突破60家 / 突破10家 ("break through"): more than 60 / more than 10.
    #[must_use]
    pub fn targets(&self) -> [Target; 3] {
        let increase = self.increase();
        [
            Target {
                measure: TargetMeasure::IncreaseOverBaseline,
                actual: increase,
                target: TARGET_INCREASE,
                met: increase >= TARGET_INCREASE,
            },
            Target {
                measure: TargetMeasure::TenBillionClass,
                actual: self.ten_billion,
                target: TARGET_TEN_BILLION,
                met: self.ten_billion > TARGET_TEN_BILLION,
            },
            Target {
                measure: TargetMeasure::HundredBillionClass,
                actual: self.hundred_billion,
                target: TARGET_HUNDRED_BILLION,
                met: self.hundred_billion > TARGET_HUNDRED_BILLION,
            },
        ]
    }
}

fn count_of(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// The §1 monitoring figures of `year`.
///
/// INTERPRETATION(§1): Counts are of recognitions (decisions) for the year, revoked or not: the
/// targets measure how many HQs the city recognised. An HQ without figures for Y−1 counts in
/// neither revenue class.
///
/// # Errors
/// Database errors.
pub async fn target_progress<C: ConnectionTrait>(conn: &C, year: i32) -> AppResult<Progress> {
    let of_year: Vec<i64> = recognitions::Entity::find()
        .filter(recognitions::Column::Year.eq(year))
        .all(conn)
        .await?
        .into_iter()
        .map(|r| r.enterprise_id)
        .collect();
    let baseline = recognitions::Entity::find()
        .filter(recognitions::Column::Year.eq(BASELINE_YEAR))
        .count(conn)
        .await?;
    let mut earlier: HashSet<i64> = HashSet::new();
    let mut ten_billion = 0;
    let mut hundred_billion = 0;
    for chunk in of_year.chunks(500) {
        earlier.extend(
            recognitions::Entity::find()
                .filter(recognitions::Column::EnterpriseId.is_in(chunk.iter().copied()))
                .filter(recognitions::Column::Year.lt(year))
                .all(conn)
                .await?
                .into_iter()
                .map(|r| r.enterprise_id),
        );
        let revenues = enterprise_figures::Entity::find()
            .filter(enterprise_figures::Column::EnterpriseId.is_in(chunk.iter().copied()))
            .filter(enterprise_figures::Column::Year.eq(year.saturating_sub(1)))
            .all(conn)
            .await?;
        for row in revenues {
            let revenue = Money::from_fen(row.revenue_fen);
            ten_billion += i64::from(revenue >= TEN_BILLION);
            hundred_billion += i64::from(revenue >= HUNDRED_BILLION);
        }
    }
    Ok(Progress {
        year,
        recognised: count_of(of_year.len()),
        baseline_recognised: i64::try_from(baseline).unwrap_or(i64::MAX),
        first_time: count_of(of_year.iter().filter(|id| !earlier.contains(id)).count()),
        ten_billion,
        hundred_billion,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_revenue_classes_are_ten_and_a_hundred_billion_yuan() {
        assert_eq!(TEN_BILLION.format_yuan(), "10,000,000,000.00");
        assert_eq!(HUNDRED_BILLION.format_yuan(), "100,000,000,000.00");
    }

    fn progress(recognised: i64, ten_billion: i64, hundred_billion: i64) -> Progress {
        Progress {
            year: 2025,
            recognised,
            baseline_recognised: 468,
            first_time: 0,
            ten_billion,
            hundred_billion,
        }
    }

    #[test]
    fn an_increase_of_exactly_100_meets_the_target_and_99_does_not() {
        assert!(progress(568, 0, 0).targets()[0].met);
        assert!(!progress(567, 0, 0).targets()[0].met);
        assert_eq!(progress(567, 0, 0).targets()[0].actual, 99);
    }

    #[test]
    fn the_revenue_class_targets_are_met_only_when_exceeded() {
        let at = progress(0, 60, 10).targets();
        assert!(!at[1].met && !at[2].met);
        let above = progress(0, 61, 11).targets();
        assert!(above[1].met && above[2].met);
    }
}
