//! The benefits of HQs for a year (§6, §7, §8, §10, §12): loads, for a set of enterprises at
//! once, what [`crate::policy::benefits::decide_benefits`] reads — their dated facts, ratings and
//! recognitions, revocations, granted star rewards, reported §7 lines with their verdicts, the
//! parameter versions — and calls it for each. Nothing is stored.
//!
//! A set of enterprises costs the same statements whatever its size (up to 500 at a time), so a
//! page of `benefitsOfYear` or a page of enterprises selecting `benefits` reads set-based.

use std::collections::HashMap;

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};

use crate::auth::Actor;
use crate::error::{AppError, AppResult};
use crate::policy::Money;
use crate::policy::benefits::{
    Benefits, BenefitsInput, FIRST_YEAR, GrantedReward, LAST_YEAR, ReportedLine, decide_benefits,
};
use crate::services::keyset::{Page, PageRequest};
use crate::services::reconciliation::{
    contexts, lines_of_enterprises, to_policy_line, verdicts_of,
};
use crate::services::registry::read::{self, ListFilter, ListOrder};
use crate::services::{parameters, registry};
use entity::{enterprises, star_rewards};

/// The benefits of one enterprise for one year, with what the list shows beside them.
#[derive(Debug, Clone)]
pub struct BenefitsRow {
    /// The enterprise's id.
    pub enterprise_id: i64,
    /// Its unified social credit code.
    pub credit_code: String,
    /// Its name today.
    pub name: String,
    /// The district it is registered in today (`None` outside Hangzhou).
    pub district_today: Option<String>,
    /// The benefits.
    pub benefits: Benefits,
}

/// Checks a benefits year: a recognition year of the policy.
///
/// # Errors
/// `BAD_USER_INPUT` on `field` outside 2023..=2027.
pub fn check_year(field: &str, year: i32) -> AppResult<()> {
    if (FIRST_YEAR..=LAST_YEAR).contains(&year) {
        Ok(())
    } else {
        Err(AppError::bad_input(
            field,
            format!(
                "benefits are for a recognition year of the policy, {FIRST_YEAR} to {LAST_YEAR} \
                 (§final)"
            ),
        ))
    }
}

/// `FORBIDDEN` unless `actor` may see the confidential data of an enterprise registered in
/// `district` today — the rule of the enterprise's yearly figures.
///
/// # Errors
/// `FORBIDDEN` naming the enterprise.
pub fn ensure_sees(actor: &Actor, district: Option<&str>, credit_code: &str) -> AppResult<()> {
    if actor.sees_confidential_of(district) {
        Ok(())
    } else {
        Err(AppError::Forbidden(format!(
            "role {} may not read the benefits of {credit_code}: a district actor sees only the \
             enterprises registered in its own district, a viewer none",
            actor.role
        )))
    }
}

/// The benefits of the enterprise with `credit_code` for `year`, for `actor`.
///
/// # Errors
/// `BAD_USER_INPUT` for a malformed credit code or a year outside 2023..=2027; `NOT_FOUND` for
/// an unknown credit code; `FORBIDDEN` as [`ensure_sees`]; database errors; a missing
/// parameter is internal.
pub async fn of_enterprise<C: ConnectionTrait>(
    conn: &C,
    actor: &Actor,
    credit_code: &str,
    year: i32,
) -> AppResult<BenefitsRow> {
    check_year("year", year)?;
    let enterprise = read::find_by_credit_code(conn, credit_code)
        .await?
        .ok_or_else(|| {
            AppError::NotFound(format!("no enterprise with credit code {credit_code}"))
        })?;
    let today = registry::today();
    let facts = read::facts_as_of_many(conn, &[enterprise.id], today).await?;
    let district = facts
        .get(&enterprise.id)
        .and_then(|f| f.district_code.as_deref());
    ensure_sees(actor, district, &enterprise.credit_code)?;
    let mut rows = of_enterprises(conn, actor.district_scope(), &[enterprise], year).await?;
    rows.pop()
        .ok_or_else(|| AppError::internal("benefits of one enterprise came back empty"))
}

/// The benefits of `list` for `year`, in the order given, read set-based. The caller has
/// checked that the reader may see each enterprise; `own_district` confines the totals of §7 to
/// a district reader's own lines.
///
/// # Errors
/// Database errors; a missing parameter or stored data breaking an invariant is internal.
pub async fn of_enterprises<C: ConnectionTrait>(
    conn: &C,
    own_district: Option<&str>,
    list: &[enterprises::Model],
    year: i32,
) -> AppResult<Vec<BenefitsRow>> {
    check_year("year", year)?;
    if list.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<i64> = list.iter().map(|e| e.id).collect();
    let today = registry::today();
    let facts_today = read::facts_as_of_many(conn, &ids, today).await?;
    let contexts: HashMap<i64, _> = contexts(conn, &ids)
        .await?
        .into_iter()
        .map(|c| (c.enterprise_id, c))
        .collect();
    let mut rewards: HashMap<i64, Vec<GrantedReward>> = HashMap::new();
    for chunk in ids.chunks(500) {
        for row in star_rewards::Entity::find()
            .filter(star_rewards::Column::EnterpriseId.is_in(chunk.iter().copied()))
            .order_by_asc(star_rewards::Column::Id)
            .all(conn)
            .await?
        {
            let parameter_versions =
                serde_json::from_str(&row.parameter_versions).map_err(|e| {
                    AppError::internal(format!(
                        "star reward {} has unreadable versions: {e}",
                        row.id
                    ))
                })?;
            rewards
                .entry(row.enterprise_id)
                .or_default()
                .push(GrantedReward {
                    year: row.year,
                    tier: Money::from_fen(row.tier_fen),
                    previously_granted: Money::from_fen(row.previously_granted_fen),
                    amount: Money::from_fen(row.amount_fen),
                    city_share: Money::from_fen(row.city_share_fen),
                    district_share: Money::from_fen(row.district_share_fen),
                    granted_on: row.granted_on,
                    parameter_versions,
                });
        }
    }
    let line_rows = lines_of_enterprises(conn, &ids).await?;
    let verdicts = verdicts_of(conn, &line_rows.iter().map(|l| l.id).collect::<Vec<_>>()).await?;
    let mut lines: HashMap<i64, Vec<ReportedLine>> = HashMap::new();
    for row in &line_rows {
        lines
            .entry(row.enterprise_id)
            .or_default()
            .push(ReportedLine {
                line: to_policy_line(row)?,
                eligible: verdicts
                    .get(&row.id)
                    .map(|v| Money::from_fen(v.eligible_fen)),
            });
    }
    let set = parameters::load_set(conn).await?;

    list.iter()
        .map(|enterprise| {
            let id = enterprise.id;
            let context = contexts
                .get(&id)
                .ok_or_else(|| AppError::internal(format!("no facts read for enterprise {id}")))?;
            let input = BenefitsInput {
                year,
                today,
                context,
                rewards: rewards.get(&id).map(Vec::as_slice).unwrap_or_default(),
                lines: lines.get(&id).map(Vec::as_slice).unwrap_or_default(),
                totals_of_district: own_district,
            };
            let benefits = decide_benefits(&input, &set)?;
            let facts = facts_today.get(&id);
            Ok(BenefitsRow {
                enterprise_id: id,
                credit_code: enterprise.credit_code.clone(),
                name: facts.map(|f| f.name.clone()).unwrap_or_default(),
                district_today: facts.and_then(|f| f.district_code.clone()),
                benefits,
            })
        })
        .collect()
}

/// The benefits of the enterprises with `ids` for `year`, by id (the API's data loader: the
/// enterprises of a page selecting `benefits` are read together). The caller has checked access.
///
/// # Errors
/// As [`of_enterprises`].
pub async fn of_ids<C: ConnectionTrait>(
    conn: &C,
    own_district: Option<&str>,
    ids: &[i64],
    year: i32,
) -> AppResult<HashMap<i64, BenefitsRow>> {
    let mut models: Vec<enterprises::Model> =
        read::by_ids(conn, ids).await?.into_values().collect();
    models.sort_by_key(|e| e.id);
    Ok(of_enterprises(conn, own_district, &models, year)
        .await?
        .into_iter()
        .map(|row| (row.enterprise_id, row))
        .collect())
}

/// The list of a year: the HQs recognised for `year`, by credit code, optionally only those
/// registered in `district_code` today and those rated `stars` for the year.
#[derive(Debug, Clone)]
pub struct YearFilter {
    /// The year Y.
    pub year: i32,
    /// Registered in this district today.
    pub district_code: Option<String>,
    /// Rated this many stars for Y.
    pub stars: Option<i32>,
}

/// The registry filter of the list, confined to a district reader's own district.
///
/// # Errors
/// `BAD_USER_INPUT` for a year outside 2023..=2027, a malformed district code or stars outside
/// 1..=5; `FORBIDDEN` for a district reader naming another district.
fn list_filter(actor: &Actor, filter: &YearFilter) -> AppResult<ListFilter> {
    check_year("year", filter.year)?;
    let mut district = filter.district_code.clone();
    if let Some(own) = actor.district_scope() {
        match &district {
            Some(named) if named.trim() != own => {
                return Err(AppError::Forbidden(format!(
                    "a district actor reads only its own district's benefits ({own})"
                )));
            }
            _ => district = Some(own.to_string()),
        }
    } else if !actor.sees_confidential_of(None) {
        return Err(AppError::Forbidden(format!(
            "role {} may not read benefits",
            actor.role
        )));
    }
    let mut list = ListFilter::on(registry::today());
    list.district_code = district;
    list.recognized_in = Some(filter.year);
    list.rated_in = filter.stars.map(|_| filter.year);
    list.stars = filter.stars;
    // The arguments are checked here to name them as the caller wrote them (`districtCode`,
    // `stars`), then the registry's own check runs on what it reads.
    if let Some(code) = &list.district_code
        && (code.trim().len() != 6 || !code.trim().bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(AppError::bad_input(
            "districtCode",
            "a district code is 6 digits (GB/T 2260)",
        ));
    }
    if let Some(stars) = list.stars
        && !(1..=5).contains(&stars)
    {
        return Err(AppError::bad_input("stars", "a rating is 1 to 5 stars"));
    }
    read::validate_filter(&mut list)?;
    Ok(list)
}

/// One page of the list of a year (by credit code, one statement for the page's enterprises,
/// then the set-based reads of [`of_enterprises`]).
///
/// # Errors
/// As [`list_filter`] and [`of_enterprises`].
pub async fn page<C: ConnectionTrait>(
    conn: &C,
    actor: &Actor,
    filter: &YearFilter,
    request: &PageRequest,
) -> AppResult<Page<BenefitsRow>> {
    let list = list_filter(actor, filter)?;
    let (page, _) = read::page(conn, &list, ListOrder::CreditCode, request, None).await?;
    let page = page.map(|(e, _)| e);
    let models: Vec<enterprises::Model> = page.items.iter().map(|(_, e)| e.clone()).collect();
    let rows = of_enterprises(conn, actor.district_scope(), &models, filter.year).await?;
    Ok(Page {
        items: page
            .items
            .into_iter()
            .map(|(key, _)| key)
            .zip(rows)
            .collect(),
        has_previous: page.has_previous,
        has_next: page.has_next,
    })
}

/// How many HQs the list of a year holds.
///
/// # Errors
/// As [`list_filter`]; database errors.
pub async fn count<C: ConnectionTrait>(
    conn: &C,
    actor: &Actor,
    filter: &YearFilter,
) -> AppResult<u64> {
    let list = list_filter(actor, filter)?;
    read::count(conn, &list).await
}

/// Every HQ of the list of a year, for the export (by credit code).
///
/// # Errors
/// As [`page`].
pub async fn all_of_year<C: ConnectionTrait>(
    conn: &C,
    actor: &Actor,
    filter: &YearFilter,
) -> AppResult<Vec<BenefitsRow>> {
    let list = list_filter(actor, filter)?;
    let mut rows = Vec::new();
    let mut after = None;
    loop {
        let request = PageRequest {
            after: after.clone(),
            before: None,
            size: 500,
            direction: crate::services::keyset::Direction::Forward,
        };
        let (page, _) = read::page(conn, &list, ListOrder::CreditCode, &request, None).await?;
        let page = page.map(|(e, _)| e);
        after = page.items.last().map(|(key, _)| key.clone());
        let models: Vec<enterprises::Model> = page.items.into_iter().map(|(_, e)| e).collect();
        rows.extend(of_enterprises(conn, actor.district_scope(), &models, filter.year).await?);
        if !page.has_next {
            break;
        }
    }
    Ok(rows)
}
