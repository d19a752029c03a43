//! Star ratings (§5): rating a recognised enterprise, and what depends on a rating so that it may
//! no longer change.

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait,
    ActiveValue::{NotSet, Set},
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
};
use serde_json::json;

use super::recognize::recognition_of;
use super::{enterprise, lock};
use crate::auth::Actor;
use crate::error::{AppError, AppResult};
use crate::policy::{Money, Stars};
use crate::services::audit::{self, AuditEntry};
use crate::services::tx;
use entity::{star_ratings, star_rewards};

/// A star rating and the rating it replaced, if any.
#[derive(Debug, Clone)]
pub struct Rating {
    /// The enterprise's credit code.
    pub credit_code: String,
    /// The rating as stored now.
    pub row: star_ratings::Model,
    /// The stars before this call (`None` for a first rating).
    pub previous_stars: Option<i32>,
}

/// Rates an enterprise recognised for `year` with 1 to 5 stars (§5); a re-rating replaces the
/// rating while nothing depends on it. Rating again with the same stars changes nothing.
///
/// # Errors
/// `BAD_USER_INPUT` for stars outside 1..=5; `NOT_FOUND` for an unknown enterprise;
/// `POLICY_VIOLATION` (`§5`) when it is not recognised for `year`; `CONFLICT` when a star reward
/// depends on the rating.
#[tracing::instrument(name = "recognition.rate_stars", skip_all, fields(role = %actor.role, credit_code = %credit_code, year))]
pub async fn rate_stars(
    db: &DatabaseConnection,
    actor: &Actor,
    credit_code: &str,
    year: i32,
    stars: i32,
) -> AppResult<Rating> {
    check_stars(stars)?;
    let found = enterprise(db, credit_code).await?;
    let txn = tx::begin_write(db).await?;
    let rating = rate_stars_locked(&txn, actor, found.id, year, stars).await?;
    txn.commit().await?;
    Ok(rating)
}

/// [`rate_stars`] inside the caller's write transaction (used by the demo data loader).
///
/// # Errors
/// As [`rate_stars`].
pub async fn rate_stars_in<C: ConnectionTrait>(
    txn: &C,
    actor: &Actor,
    credit_code: &str,
    year: i32,
    stars: i32,
) -> AppResult<Rating> {
    check_stars(stars)?;
    let found = enterprise(txn, credit_code).await?;
    rate_stars_locked(txn, actor, found.id, year, stars).await
}

fn check_stars(stars: i32) -> AppResult<()> {
    if stars_of(stars).is_none() {
        return Err(AppError::bad_input(
            "stars",
            format!("a rating is 1 to 5 stars, got {stars}"),
        ));
    }
    Ok(())
}

async fn rate_stars_locked<C: ConnectionTrait>(
    txn: &C,
    actor: &Actor,
    enterprise_id: i64,
    year: i32,
    stars: i32,
) -> AppResult<Rating> {
    let enterprise = lock(txn, enterprise_id).await?;
    let Some(recognition) = recognition_of(txn, enterprise.id, year).await? else {
        return Err(AppError::policy(
            "§5",
            format!(
                "{} is not recognised for {year}: only recognised headquarters are rated",
                enterprise.credit_code
            ),
        ));
    };
    let existing = star_ratings::Entity::find()
        .filter(star_ratings::Column::EnterpriseId.eq(enterprise.id))
        .filter(star_ratings::Column::Year.eq(year))
        .one(txn)
        .await?;
    let now = Utc::now();
    let previous_stars = existing.as_ref().map(|r| r.stars);
    // The same stars again is a retry, not a change: it succeeds even when a reward depends on the
    // rating, and writes nothing.
    let row = match existing {
        Some(row) if row.stars == stars => {
            // Nothing changes: no write, no audit entry.
            return Ok(Rating {
                credit_code: enterprise.credit_code,
                row,
                previous_stars,
            });
        }
        Some(row) => {
            if let Some(why) = rating_dependents(txn, &row).await? {
                return Err(AppError::Conflict(format!(
                    "the {year} rating of {} can no longer change: {why}",
                    enterprise.credit_code
                )));
            }
            let mut active: star_ratings::ActiveModel = row.into();
            active.stars = Set(stars);
            active.rated_by = Set(actor.sub.clone());
            active.rated_at = Set(now);
            active.update(txn).await?
        }
        None => {
            star_ratings::ActiveModel {
                id: NotSet,
                enterprise_id: Set(enterprise.id),
                recognition_id: Set(recognition.id),
                year: Set(year),
                stars: Set(stars),
                rated_by: Set(actor.sub.clone()),
                rated_at: Set(now),
            }
            .insert(txn)
            .await?
        }
    };
    audit::record(
        txn,
        actor,
        AuditEntry {
            operation: "rateStars",
            target_type: "star_rating",
            target_id: Some(format!("{}/{year}", enterprise.credit_code)),
            before: previous_stars.map(|s| json!({ "year": year, "stars": s })),
            after: Some(json!({ "year": year, "stars": stars })),
        },
    )
    .await?;
    Ok(Rating {
        credit_code: enterprise.credit_code,
        row,
        previous_stars,
    })
}

/// A stored or requested number of stars as a rating, if it is one (1 to 5).
pub(super) fn stars_of(stars: i32) -> Option<Stars> {
    u8::try_from(stars).ok().and_then(|s| Stars::new(s).ok())
}

/// What depends on a rating, so that it may no longer change (§5: "until a star reward
/// or a reconciled payment depends on it"); `None` when nothing does.
///
/// Today: the star reward granted for the rating's year. The §20 reconciliation adds its check
/// here (a reconciled payment line of the enterprise for the year).
///
/// # Errors
/// Database errors.
pub async fn rating_dependents<C: ConnectionTrait>(
    conn: &C,
    rating: &star_ratings::Model,
) -> AppResult<Option<String>> {
    let reward = star_rewards::Entity::find()
        .filter(star_rewards::Column::EnterpriseId.eq(rating.enterprise_id))
        .filter(star_rewards::Column::Year.eq(rating.year))
        .one(conn)
        .await?;
    if let Some(r) = reward {
        return Ok(Some(format!(
            "a star reward of {} granted on {} depends on it (§6)",
            Money::from_fen(r.amount_fen).format_yuan(),
            r.granted_on
        )));
    }
    // A reconciled payment for the year depends on the rating through STARS_BELOW_3 (§7).
    let reconciled = entity::payment_lines::Entity::find()
        .filter(entity::payment_lines::Column::EnterpriseId.eq(rating.enterprise_id))
        .filter(entity::payment_lines::Column::SubsidyYear.eq(rating.year))
        .inner_join(entity::line_verdicts::Entity)
        .one(conn)
        .await?;
    Ok(reconciled.map(|l| {
        format!(
            "the reconciled payment with voucher {} of district {} depends on it (§7)",
            l.voucher_no, l.district_code
        )
    }))
}
