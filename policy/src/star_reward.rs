//! §6 star reward (星级培育奖励).
//!
//! 对首次评为"三星级"及以上的总部企业，予以梯度资金奖励。星级评定等次提升的，按照标准予以差额奖励。
//! §20: the reward is borne by the city and the districts 按现行财政体制, modelled as
//! `star_reward.city_share`.

use std::fmt;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::money::Money;
use super::params::ParameterSet;
use super::{Clause, PolicyError};

/// A star rating, 1 to 5 (§5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub struct Stars(u8);

impl Stars {
    /// A rating of `stars` stars.
    ///
    /// # Errors
    ///
    /// [`PolicyError::InvalidStars`] outside 1..=5.
    pub fn new(stars: u8) -> Result<Stars, PolicyError> {
        if (1..=5).contains(&stars) {
            Ok(Stars(stars))
        } else {
            Err(PolicyError::InvalidStars(stars))
        }
    }

    /// The number of stars.
    #[must_use]
    pub const fn get(self) -> u8 {
        self.0
    }
}

impl TryFrom<u8> for Stars {
    type Error = PolicyError;

    fn try_from(value: u8) -> Result<Self, Self::Error> {
        Stars::new(value)
    }
}

impl From<Stars> for u8 {
    fn from(stars: Stars) -> u8 {
        stars.0
    }
}

impl fmt::Display for Stars {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}★", self.0)
    }
}

/// The reward amounts of the three rewarded tiers (`star_reward.3`, `.4`, `.5`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StarTiers {
    /// The amount for 3 stars.
    pub three: Money,
    /// The amount for 4 stars.
    pub four: Money,
    /// The amount for 5 stars.
    pub five: Money,
}

impl StarTiers {
    /// `tier(stars)`: the amount of the tier, 0 below 3 stars.
    #[must_use]
    pub fn amount(&self, stars: Stars) -> Money {
        match stars.get() {
            3 => self.three,
            4 => self.four,
            5 => self.five,
            _ => Money::ZERO,
        }
    }
}

/// The parameters of the §6 reward for a rating of year Y.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StarRewardParams {
    /// The tier amounts in force on 1 January of Y.
    pub tiers: StarTiers,
    /// `star_reward.city_share`: the city's share of each reward.
    pub city_share: Decimal,
    /// The ids of the parameter versions used.
    pub parameter_versions: Vec<i64>,
}

impl StarRewardParams {
    /// Reads the general versions in force on 1 January of `year`.
    ///
    /// `tier(stars)` is the amount in force on 1 January of Y (§6). The text gives no date
    /// for the city share; INTERPRETATION(§6): it is read on the same day, so one rating's reward
    /// and its split come from one set of parameters, whenever the grant is run.
    ///
    /// # Errors
    ///
    /// [`PolicyError::MissingParameter`] / [`PolicyError::WrongParameterType`] /
    /// [`PolicyError::InvalidParameter`]; [`PolicyError::OutsidePolicyPeriod`] for a year without a
    /// 1 January in the calendar.
    pub fn for_year(set: &ParameterSet, year: i32) -> Result<StarRewardParams, PolicyError> {
        let january_first =
            NaiveDate::from_ymd_opt(year, 1, 1).ok_or(PolicyError::OutsidePolicyPeriod {
                year,
                first: year,
                last: year,
            })?;
        let mut read = set.reader(january_first, None);
        let tiers = StarTiers {
            three: read.money("star_reward.3")?,
            four: read.money("star_reward.4")?,
            five: read.money("star_reward.5")?,
        };
        let city_share = read.ratio("star_reward.city_share")?;
        Ok(StarRewardParams {
            tiers,
            city_share,
            parameter_versions: read.used_version_ids(),
        })
    }
}

/// The reward due for a rating: `max(0, tier(stars) − already_granted)`.
///
/// INTERPRETATION(§6): "星级评定等次提升的，按照标准予以差额奖励" pays the difference to what was
/// already paid; so a fall and a rise back pays nothing, and a raised tier amount tops up.
/// `already_granted` is the sum of the star rewards granted to the enterprise in earlier years;
/// a sum of grants is never negative, and a negative value is taken as zero.
#[must_use]
pub fn reward_due(stars: Stars, tiers: &StarTiers, already_granted: Money) -> Money {
    let tier = tiers.amount(stars);
    let granted = already_granted.max(Money::ZERO);
    // 0 ≤ granted < tier here, so the subtraction cannot overflow.
    if granted >= tier {
        Money::ZERO
    } else {
        tier.checked_sub(granted).unwrap_or(Money::ZERO)
    }
}

/// The revocation that cancels the reward for a rating, if any.
///
/// No reward is due for a rating of year Y if the title was revoked on a date R on or before the
/// grant day and the recognition for Y was decided before R (as for `TITLE_REVOKED`, §22). The
/// earliest such R is returned.
#[must_use]
pub fn revocation_before_grant(
    revocations: &[NaiveDate],
    recognition_decided_on: NaiveDate,
    grant_day: NaiveDate,
) -> Option<NaiveDate> {
    revocations
        .iter()
        .copied()
        .filter(|&revoked_on| recognition_decided_on < revoked_on && revoked_on <= grant_day)
        .min()
}

/// The §6 decision for one rating.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RewardDecision {
    /// The rating.
    pub stars: Stars,
    /// `tier(stars)`.
    pub tier: Money,
    /// Σ star rewards granted to the enterprise before.
    pub already_granted: Money,
    /// The reward due now (0 when revoked).
    pub due: Money,
    /// The revocation that cancelled the reward, if any.
    pub revoked_on: Option<NaiveDate>,
    /// `§6`, or `§22` when a revocation cancelled it.
    pub clause: Clause,
    /// Human text with the figures.
    pub detail: String,
}

/// Decides the §6 reward for a rating whose recognition was decided on `recognition_decided_on`,
/// granted on `grant_day`.
#[must_use]
pub fn decide_reward(
    stars: Stars,
    tiers: &StarTiers,
    already_granted: Money,
    recognition_decided_on: NaiveDate,
    revocations: &[NaiveDate],
    grant_day: NaiveDate,
) -> RewardDecision {
    let tier = tiers.amount(stars);
    if let Some(revoked_on) =
        revocation_before_grant(revocations, recognition_decided_on, grant_day)
    {
        return RewardDecision {
            stars,
            tier,
            already_granted,
            due: Money::ZERO,
            revoked_on: Some(revoked_on),
            clause: Clause::S22,
            detail: format!(
                "no reward: title revoked on {revoked_on}, after the recognition decided on \
                 {recognition_decided_on} and on or before the grant day {grant_day}"
            ),
        };
    }
    let due = reward_due(stars, tiers, already_granted);
    let detail = if tier.is_zero() {
        format!("no reward below 3 stars ({stars})")
    } else {
        format!(
            "{stars} tier {} − already granted {} = due {}",
            tier.format_yuan(),
            already_granted.format_yuan(),
            due.format_yuan()
        )
    };
    RewardDecision {
        stars,
        tier,
        already_granted,
        due,
        revoked_on: None,
        clause: Clause::S6,
        detail,
    }
}

/// A reward split between the city and the district (§20: 按现行财政体制).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RewardSplit {
    /// `floor_to_fen(amount × city_share)`.
    pub city: Money,
    /// The rest: `amount − city`.
    pub district: Money,
}

/// Splits `amount` into the city's share, floored to the fen, and the district's, the rest.
///
/// # Errors
///
/// [`PolicyError::InvalidAmount`] for a negative amount or a share outside 0..=1.
pub fn split(amount: Money, city_share: Decimal) -> Result<RewardSplit, PolicyError> {
    if amount.is_negative() {
        return Err(PolicyError::InvalidAmount(format!(
            "a reward of {amount} cannot be split"
        )));
    }
    if city_share < Decimal::ZERO || city_share > Decimal::ONE {
        return Err(PolicyError::InvalidAmount(format!(
            "city share {city_share} is not between 0 and 1"
        )));
    }
    let city = amount.floor_mul(city_share)?;
    let district = amount
        .checked_sub(city)
        .ok_or(PolicyError::InvalidAmount(format!("{amount} − {city}")))?;
    Ok(RewardSplit { city, district })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(s: &str) -> NaiveDate {
        s.parse().expect("test date")
    }

    fn yuan(s: &str) -> Money {
        s.parse().expect("test amount")
    }

    fn stars(n: u8) -> Stars {
        Stars::new(n).expect("1 to 5")
    }

    fn shipped_tiers() -> StarTiers {
        StarRewardParams::for_year(&ParameterSet::shipped_defaults(), 2024)
            .expect("shipped defaults")
            .tiers
    }

    /// Grants a sequence of ratings year after year, accumulating what was granted.
    fn grant_sequence(ratings: &[(u8, StarTiers)]) -> Vec<Money> {
        let mut granted = Money::ZERO;
        ratings
            .iter()
            .map(|(n, tiers)| {
                let due = reward_due(stars(*n), tiers, granted);
                granted = granted.checked_add(due).expect("no overflow");
                due
            })
            .collect()
    }

    #[test]
    fn the_shipped_tiers_are_three_five_and_ten_million() {
        let tiers = shipped_tiers();
        assert_eq!(tiers.amount(stars(1)), Money::ZERO);
        assert_eq!(tiers.amount(stars(2)), Money::ZERO);
        assert_eq!(tiers.amount(stars(3)), yuan("3000000.00"));
        assert_eq!(tiers.amount(stars(4)), yuan("5000000.00"));
        assert_eq!(tiers.amount(stars(5)), yuan("10000000.00"));
    }

    #[test]
    fn rising_three_four_five_pays_three_two_and_five_million() {
        let t = shipped_tiers();
        assert_eq!(
            grant_sequence(&[(3, t), (4, t), (5, t)]),
            [yuan("3000000.00"), yuan("2000000.00"), yuan("5000000.00")]
        );
    }

    #[test]
    fn falling_and_rising_back_pays_nothing_more() {
        let t = shipped_tiers();
        assert_eq!(
            grant_sequence(&[(4, t), (3, t), (4, t)]),
            [yuan("5000000.00"), Money::ZERO, Money::ZERO]
        );
    }

    #[test]
    fn below_three_stars_pays_nothing_until_three_stars() {
        let t = shipped_tiers();
        assert_eq!(
            grant_sequence(&[(2, t), (3, t)]),
            [Money::ZERO, yuan("3000000.00")]
        );
        assert_eq!(grant_sequence(&[(1, t)]), [Money::ZERO]);
    }

    #[test]
    fn a_first_rating_of_five_stars_pays_the_full_tier() {
        let t = shipped_tiers();
        assert_eq!(grant_sequence(&[(5, t)]), [yuan("10000000.00")]);
    }

    #[test]
    fn a_raised_tier_amount_tops_up_the_difference() {
        let before = shipped_tiers();
        let raised = StarTiers {
            three: yuan("3500000.00"),
            ..before
        };
        assert_eq!(
            grant_sequence(&[(3, before), (3, raised), (3, raised)]),
            [yuan("3000000.00"), yuan("500000.00"), Money::ZERO]
        );
    }

    #[test]
    fn the_tiers_are_those_in_force_on_1_january_of_the_year() {
        let mut set = ParameterSet::shipped_defaults();
        set.push(crate::params::ParameterVersion {
            id: 1000,
            name: "star_reward.3".to_owned(),
            district: None,
            valid_from: date("2025-01-02"),
            valid_to: None,
            value: crate::params::ParamValue::Decimal(yuan("3500000.00").to_decimal()),
            reference: "placeholder (§6)".to_owned(),
            placeholder: true,
        });
        let params_2025 = StarRewardParams::for_year(&set, 2025).expect("complete");
        let params_2026 = StarRewardParams::for_year(&set, 2026).expect("complete");
        assert_eq!(params_2025.tiers.three, yuan("3000000.00"));
        assert_eq!(params_2026.tiers.three, yuan("3500000.00"));
        assert!(params_2026.parameter_versions.contains(&1000));
        assert!(!params_2025.parameter_versions.contains(&1000));
    }

    #[test]
    fn a_revoked_enterprise_gets_nothing() {
        let t = shipped_tiers();
        let decided = date("2024-04-01");
        let grant = date("2024-09-01");
        let cases = [
            // (revocations, reward due)
            (vec![], yuan("3000000.00")),
            (vec![date("2024-06-01")], Money::ZERO),
            (vec![date("2024-09-01")], Money::ZERO),
            (vec![date("2024-09-02")], yuan("3000000.00")),
            // Revoked before the recognition was decided: that ban is the recognition's business.
            (vec![date("2024-04-01")], yuan("3000000.00")),
        ];
        for (revocations, due) in cases {
            let decision = decide_reward(stars(3), &t, Money::ZERO, decided, &revocations, grant);
            assert_eq!(decision.due, due, "{revocations:?}");
            assert_eq!(
                decision.clause,
                if due.is_zero() {
                    Clause::S22
                } else {
                    Clause::S6
                }
            );
        }
    }

    #[test]
    fn a_reward_decision_explains_the_difference() {
        let decision = decide_reward(
            stars(4),
            &shipped_tiers(),
            yuan("3000000.00"),
            date("2024-04-01"),
            &[],
            date("2024-09-01"),
        );
        assert_eq!(decision.due, yuan("2000000.00"));
        assert_eq!(
            decision.detail,
            "4★ tier 5,000,000.00 − already granted 3,000,000.00 = due 2,000,000.00"
        );
    }

    #[test]
    fn an_odd_fen_amount_splits_with_the_extra_fen_to_the_district() {
        let cases = [
            // (amount fen, share, city fen, district fen)
            (1, "0.50", 0, 1),
            (300_000_001, "0.50", 150_000_000, 150_000_001),
            (300_000_000, "0.50", 150_000_000, 150_000_000),
            (1_000, "0.333", 333, 667),
            (999, "1", 999, 0),
            (999, "0", 0, 999),
            (0, "0.50", 0, 0),
        ];
        for (amount, share, city, district) in cases {
            let split = split(
                Money::from_fen(amount),
                Decimal::from_str_exact(share).expect("decimal"),
            )
            .expect("valid");
            assert_eq!(
                split,
                RewardSplit {
                    city: Money::from_fen(city),
                    district: Money::from_fen(district)
                },
                "{amount} × {share}"
            );
        }
    }

    #[test]
    fn a_negative_amount_or_a_share_above_one_is_refused() {
        assert!(split(Money::from_fen(-1), Decimal::new(5, 1)).is_err());
        assert!(split(Money::from_fen(100), Decimal::new(11, 1)).is_err());
        assert!(split(Money::from_fen(100), Decimal::new(-1, 1)).is_err());
    }

    #[test]
    fn star_ratings_are_one_to_five() {
        for n in 1..=5 {
            assert_eq!(Stars::new(n).map(Stars::get), Ok(n));
        }
        assert_eq!(Stars::new(0), Err(PolicyError::InvalidStars(0)));
        assert_eq!(Stars::new(6), Err(PolicyError::InvalidStars(6)));
        assert!(serde_json::from_str::<Stars>("6").is_err());
        assert_eq!(serde_json::from_str::<Stars>("4").ok(), Some(stars(4)));
    }
}
