//! §20 in the demo: the districts' §7 office subsidies for 2023–2025 and the yearly cycle.
//!
//! Each district (`system:demo:<code>`) reports what it paid its HQs rated three stars or more
//! that own no office premises: the rent in two to six instalments (about 20–35 % of it, so some
//! groups go over the 30 % ratio or the cap), and a few office purchases. On purpose, some lines
//! trip every reason code of the reconciliation (see [`payment_plan`]). Then:
//! - 2023: every claim submitted, reconciled, settled and approved (the year is locked), and an
//!   audit finding on an approved line, carried into 2024 as an adjustment;
//! - 2024: every claim submitted, for the finance bureau to reconcile;
//! - 2025: the lines reported, no claim submitted yet.

use std::collections::{BTreeMap, HashMap};

use chrono::{Datelike, Duration, NaiveDate};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder,
};

use super::figures::{BILLION, FEN_PER_MILLION};
use super::generator::{Rng, SEED, mix};
use super::planner::{Failure, Fate, Path, Plan};
use super::rounds::{Cast, Recognised, YEARS, revocation};
use super::{DEMO_ACTOR, date, demo_actor};
use crate::auth::{Actor, Role};
use crate::error::{AppError, AppResult};
use crate::policy::Money;
use crate::policy::reconciliation::PaymentKind;
use crate::policy::settlement::ClaimStatus;
use crate::services::claim_feed::ClaimFeed;
use crate::services::payments::{self, LineInput};
use crate::services::{findings as finding_service, locks, reconciliation, settlement};
use entity::{claims, findings, payment_lines, recognitions, star_ratings};

/// 1 yuan in fen.
const YUAN: i64 = 100;

/// The default `rent_subsidy.cap_per_year` (2,000,000.00), which most districts keep to.
const RENT_CAP: i64 = 2 * FEN_PER_MILLION;

/// The last day the demo pays on.
fn last_payment_day() -> AppResult<NaiveDate> {
    date(2025, 12, 20)
}

/// The district's actor: `system:demo:<code>`.
fn district_actor(code: &str) -> Actor {
    Actor {
        sub: format!("{DEMO_ACTOR}:{code}"),
        role: Role::District,
        district: Some(code.to_string()),
    }
}

/// Rounds `fen` down to whole hundreds of yuan, as districts pay.
fn round_down_hundreds(fen: i64) -> i64 {
    fen / (100 * YUAN) * (100 * YUAN)
}

/// One planned payment, before the district numbers its voucher.
#[derive(Debug, Clone)]
struct Payment {
    district: String,
    credit_code: String,
    kind: PaymentKind,
    subsidy_year: i32,
    contract_no: String,
    basis: i64,
    transaction_date: Option<NaiveDate>,
    amount: i64,
    paid: NaiveDate,
    /// A regular rent subsidy, with nothing to cut but the ratio or cap.
    regular: bool,
    /// The same payment entered a second time (after the first).
    duplicate: bool,
}

/// One rent instalment: `(paid on, basis fen, amount fen)`.
type Instalment = (NaiveDate, i64, i64);

/// The lease contract of an enterprise (one lease over the years).
fn lease_of(plan: &Plan) -> String {
    format!("ZL-{}", &plan.code()[8..17])
}

/// The rent subsidy a district would pay for `year`: the year's rent (1.2 to 6 million yuan, up
/// to 8 million above 10 billion of revenue) in 2, 4 or 6 instalments from July. The district
/// pays 20–30 % of the rent, sometimes up to 35 %, and mostly keeps within its cap of 2 million a
/// year; a quarter of them pay the last instalment in the first quarter of the next year.
fn rent_schedule(plan: &Plan, index: usize, year: i32) -> AppResult<Vec<Instalment>> {
    let mut rng = Rng(mix(SEED
        ^ 0x5245_4E54
        ^ ((index as u64) << 20)
        ^ u64::from(year.unsigned_abs())));
    // Larger HQs rent more: up to 8 million above 10 billion of revenue.
    let large = plan.revenue(year - 1).unwrap_or(0) >= 10 * BILLION;
    let annual = rng.between(1_200, if large { 8_000 } else { 6_000 }) * 1_000 * YUAN;
    let months: &[u32] = match rng.pick(&[2, 4, 4, 6]) {
        2 => &[7, 12],
        4 => &[7, 9, 11, 12],
        _ => &[7, 8, 9, 10, 11, 12],
    };
    let share = if rng.chance(200) {
        rng.between(301, 350)
    } else {
        rng.between(200, 300)
    };
    let mut total = annual * share / 1000;
    if !rng.chance(150) {
        total = total.min(RENT_CAP);
    }
    let slips = year < *YEARS.last().unwrap_or(&year) && rng.chance(250);
    let k = i64::try_from(months.len()).unwrap_or(1);
    let each = annual / k / YUAN * YUAN;
    let mut schedule = Vec::with_capacity(months.len());
    for (n, &month) in months.iter().enumerate() {
        let last = n + 1 == months.len();
        let basis = if last { annual - each * (k - 1) } else { each };
        let paid = if last && slips {
            date(
                year + 1,
                u32::try_from(rng.between(1, 3)).unwrap_or(1),
                u32::try_from(rng.between(5, 25)).unwrap_or(5),
            )?
        } else {
            let until = if month == 12 { 20 } else { 25 };
            date(
                year,
                month,
                u32::try_from(rng.between(5, until)).unwrap_or(5),
            )?
        };
        let amount = round_down_hundreds(
            i64::try_from(i128::from(total) * i128::from(basis) / i128::from(annual.max(1)))
                .unwrap_or(0),
        );
        schedule.push((paid, basis, amount));
    }
    Ok(schedule)
}

/// The rent lines of `schedule`, each paid by the district the enterprise is registered in on
/// the day.
fn rent_lines(plan: &Plan, year: i32, schedule: &[Instalment]) -> Vec<Payment> {
    schedule
        .iter()
        .filter_map(|&(paid, basis, amount)| {
            Some(Payment {
                district: plan.district_on(paid)?.to_string(),
                credit_code: plan.code().to_string(),
                kind: PaymentKind::Rent,
                subsidy_year: year,
                contract_no: lease_of(plan),
                basis,
                transaction_date: None,
                amount,
                paid,
                regular: false,
                duplicate: false,
            })
        })
        .collect()
}

/// A purchase line (the district registered in on the payment day pays).
fn purchase_line(
    plan: &Plan,
    contract: usize,
    price: i64,
    transaction: NaiveDate,
    amount: i64,
    paid: NaiveDate,
) -> Option<Payment> {
    Some(Payment {
        district: plan.district_on(paid)?.to_string(),
        credit_code: plan.code().to_string(),
        kind: PaymentKind::Purchase,
        subsidy_year: transaction.year(),
        contract_no: format!("GF-{}-{contract}", &plan.code()[8..17]),
        basis: price,
        transaction_date: Some(transaction),
        amount,
        paid,
        regular: false,
        duplicate: false,
    })
}

/// A price of `per_mille` ‰ of last year's revenue, within `lo..=hi` million yuan, in tens of
/// thousands of yuan.
fn price_of(plan: &Plan, year: i32, per_mille: i64, lo: i64, hi: i64) -> i64 {
    let revenue = plan.revenue(year - 1).unwrap_or(BILLION);
    (revenue / 1000 * per_mille).clamp(lo * FEN_PER_MILLION, hi * FEN_PER_MILLION) / (10_000 * YUAN)
        * (10_000 * YUAN)
}

/// Stars by `(year, plan index)`.
type Stars = BTreeMap<(i32, usize), i32>;

/// Every payment of the demo, by `(fiscal year, district)`, in voucher order.
///
/// Besides the regular rent and purchase subsidies of HQs rated three stars or more without
/// office premises, lines made to be cut, so that every reason code shows:
/// `OUTSIDE_POLICY_PERIOD` (paid on 2023-02-10, before the policy took effect), `NOT_RECOGNIZED`
/// (paid ahead of a recognition that came a year later; paid to an excluded SOE),
/// `STARS_BELOW_3` (HQs rated 1 or 2 stars), `OWNS_OFFICE` (an HQ with office premises),
/// `RENT_AND_PURCHASE` (rent paid to an HQ that bought office premises off-plan in 2024),
/// `PURCHASE_NOT_FIRST` (the second purchase of an HQ whose first one, off-plan in 2023, is paid
/// over 2023 and 2024), `WRONG_DISTRICT` (paid by the district an HQ had just left),
/// `TITLE_REVOKED` (paid after a revocation), `DUPLICATE_PAYMENT` (a payment entered twice) and
/// `OVER_DISTRICT_RATIO` (shares above 30 %, rents above the cap, a purchase paid beyond 5 %).
#[allow(clippy::too_many_lines)]
fn payment_plan(
    plans: &[Plan],
    recognised: &Recognised,
    stars: &Stars,
    cast: &Cast,
) -> AppResult<BTreeMap<(i32, String), Vec<LineInput>>> {
    let mut lines: Vec<Payment> = Vec::new();
    let rated = |year: i32, i: usize| stars.get(&(year, i)).copied().unwrap_or(0);
    let mut regular_renters: BTreeMap<i32, Vec<usize>> = BTreeMap::new();
    for (&year, set) in recognised {
        let first = date(year, 1, 1)?;
        let last = date(year, 12, 31)?;
        for &i in set {
            let plan = &plans[i];
            if rated(year, i) < 3 || plan.owns_office_during(first, last) {
                continue;
            }
            if cast.second_purchase == Some(i) || (cast.rent_and_purchase == Some(i) && year > 2024)
            {
                continue;
            }
            let mut schedule = rent_schedule(plan, i, year)?;
            if cast.revoked.get(&year) == Some(&i)
                && let Some((revoked_on, _, _)) = revocation(year)?
            {
                // Paid until the revocation, and once more after it.
                let after = schedule
                    .iter()
                    .find(|s| s.0 >= revoked_on)
                    .or(schedule.last())
                    .copied();
                schedule.retain(|s| s.0 < revoked_on);
                if let Some((_, basis, amount)) = after {
                    let paid = (revoked_on + Duration::days(18)).min(date(year, 12, 28)?);
                    schedule.push((paid, basis, amount));
                }
                lines.extend(rent_lines(plan, year, &schedule));
            } else if cast.revoked.values().all(|&r| r != i)
                && cast.rent_and_purchase != Some(i)
                && cast.mover.as_ref().is_none_or(|m| m.1 != i)
            {
                regular_renters.entry(year).or_default().push(i);
                lines.extend(
                    rent_lines(plan, year, &schedule)
                        .into_iter()
                        .map(|line| Payment {
                            regular: true,
                            ..line
                        }),
                );
            } else {
                lines.extend(rent_lines(plan, year, &schedule));
            }
        }

        // Office purchases: the first one, when the HQ is rated three stars or more that year.
        for &i in set {
            let plan = &plans[i];
            if rated(year, i) < 3 {
                continue;
            }
            for bought in plan.office_acquisitions().filter(|d| d.year() == year) {
                if plan.owns_office_on(bought.pred_opt().unwrap_or(bought)) {
                    continue;
                }
                let mut rng = Rng(mix(SEED ^ 0x4746 ^ ((i as u64) << 20)));
                let price = price_of(plan, year, rng.between(10, 40), 30, 260);
                let amount = round_down_hundreds(price / 1000 * rng.between(40, 55));
                let paid = (bought + Duration::days(rng.between(40, 120))).min(last_payment_day()?);
                lines.extend(purchase_line(plan, 1, price, bought, amount, paid));
            }
        }
    }

    // The second purchase: the first contract off-plan on 2023-09-12, paid 3 % in 2023 and
    // 2.5 % in 2024 (over the 5 % of its price); the second on 2024-05-20.
    if let Some(i) = cast.second_purchase {
        let plan = &plans[i];
        let first = date(2023, 9, 12)?;
        let price = price_of(plan, 2023, 30, 60, 150);
        lines.extend(purchase_line(
            plan,
            1,
            price,
            first,
            round_down_hundreds(price / 1000 * 30),
            date(2023, 12, 8)?,
        ));
        lines.extend(purchase_line(
            plan,
            1,
            price,
            first,
            round_down_hundreds(price / 1000 * 25),
            date(2024, 4, 16)?,
        ));
        let second = price / 10 * 4 / (10_000 * YUAN) * (10_000 * YUAN);
        lines.extend(purchase_line(
            plan,
            2,
            second,
            date(2024, 5, 20)?,
            round_down_hundreds(second / 1000 * 50),
            date(2024, 8, 15)?,
        ));
    }
    // Rent and purchase: off-plan on 2024-10-18, while the 2024 rent is paid.
    if let Some(i) = cast.rent_and_purchase {
        let plan = &plans[i];
        let price = price_of(plan, 2024, 30, 40, 120);
        lines.extend(purchase_line(
            plan,
            1,
            price,
            date(2024, 10, 18)?,
            round_down_hundreds(price / 1000 * 45),
            date(2024, 12, 10)?,
        ));
    }
    // Owns office premises, and its district pays its rent anyway.
    for (&year, &i) in &cast.owner {
        let plan = &plans[i];
        let schedule = rent_schedule(plan, i, year)?;
        lines.extend(rent_lines(plan, year, &schedule[..1]));
    }
    // Paid by the district it had just left.
    if let Some((year, i, moved_on, from)) = &cast.mover {
        let plan = &plans[*i];
        let schedule = rent_schedule(plan, *i, *year)?;
        if let Some(&(_, basis, amount)) = schedule.first() {
            let paid = (*moved_on + Duration::days(20)).min(date(*year, 12, 20)?);
            lines.push(Payment {
                district: from.clone(),
                credit_code: plan.code().to_string(),
                kind: PaymentKind::Rent,
                subsidy_year: *year,
                contract_no: lease_of(plan),
                basis,
                transaction_date: None,
                amount,
                paid,
                regular: false,
                duplicate: false,
            });
        }
    }
    // Before the policy took effect.
    if let Some(&i) = regular_renters.get(&2023).and_then(|r| {
        r.iter().find(|&&i| {
            let p = &plans[i];
            date(2023, 2, 10).is_ok_and(|d| p.stays_put(d, date(2023, 7, 1).unwrap_or(d)))
        })
    }) {
        let plan = &plans[i];
        let schedule = rent_schedule(plan, i, 2023)?;
        if let Some(&(_, basis, amount)) = schedule.first() {
            lines.extend(rent_lines(
                plan,
                2023,
                &[(date(2023, 2, 10)?, basis, amount)],
            ));
        }
    }
    // Rated below three stars, paid anyway.
    for year in [2023, 2024] {
        let Some(set) = recognised.get(&year) else {
            continue;
        };
        let (first, last) = (date(year, 1, 1)?, date(year, 12, 31)?);
        let below: Vec<usize> = set
            .iter()
            .copied()
            .filter(|&i| {
                let p = &plans[i];
                rated(year, i) < 3
                    && p.steady()
                    && !p.owns_office_during(first, last)
                    && p.stays_put(date(year, 6, 1).unwrap_or(first), last)
            })
            .take(2)
            .collect();
        for i in below {
            let plan = &plans[i];
            let schedule = rent_schedule(plan, i, year)?;
            let early: Vec<Instalment> = schedule
                .iter()
                .copied()
                .filter(|s| s.0.year() == year)
                .take(2)
                .collect();
            lines.extend(rent_lines(plan, year, &early));
        }
    }
    // Not recognised: paid ahead of a recognition that came a year later, and paid to an
    // excluded SOE.
    let unrecognised = |year: i32, wanted: &dyn Fn(Fate) -> bool| -> Option<usize> {
        let (first, last) = (date(year, 1, 1).ok()?, date(year, 12, 31).ok()?);
        plans.iter().position(|p| {
            wanted(p.fate) && !p.owns_office_during(first, last) && p.stays_put(first, last)
        })
    };
    let ahead = unrecognised(2023, &|f| {
        matches!(
            f,
            Fate::Eligible {
                from: 2024,
                path: Path::Revenue | Path::Guidance | Path::OutsideUnits
            }
        )
    });
    let excluded = unrecognised(2024, &|f| f == Fate::Never(Failure::ExcludedOwnership));
    for (year, found, paid, basis) in [
        (
            2023,
            ahead,
            date(2023, 10, 20)?,
            150 * FEN_PER_MILLION / 100,
        ),
        (
            2024,
            excluded,
            date(2024, 11, 12)?,
            200 * FEN_PER_MILLION / 100,
        ),
    ] {
        if let Some(i) = found {
            let amount = round_down_hundreds(basis / 1000 * 250);
            lines.extend(rent_lines(&plans[i], year, &[(paid, basis, amount)]));
        }
    }

    // Number the vouchers district by district, in payment order, with one payment per year
    // entered twice (in the district with the most lines).
    let mut batches: BTreeMap<(i32, String), Vec<Payment>> = BTreeMap::new();
    for line in lines {
        if line.paid > last_payment_day()? {
            continue;
        }
        batches
            .entry((line.paid.year(), line.district.clone()))
            .or_default()
            .push(line);
    }
    for fiscal in YEARS {
        let largest = batches
            .iter()
            .filter(|((year, _), _)| *year == fiscal)
            .max_by_key(|((_, district), lines)| (lines.len(), std::cmp::Reverse(district.clone())))
            .map(|(key, _)| key.clone());
        if let Some(key) = largest
            && let Some(batch) = batches.get_mut(&key)
            && let Some(twice) = batch
                .iter()
                .filter(|l| l.regular && l.subsidy_year == fiscal)
                .min_by_key(|l| (l.paid, l.credit_code.clone()))
                .cloned()
        {
            batch.push(Payment {
                duplicate: true,
                ..twice
            });
        }
    }
    let mut numbered = BTreeMap::new();
    for ((fiscal, district), mut batch) in batches {
        batch.sort_by(|a, b| {
            (
                a.paid,
                &a.credit_code,
                a.kind,
                &a.contract_no,
                a.subsidy_year,
                a.duplicate,
            )
                .cmp(&(
                    b.paid,
                    &b.credit_code,
                    b.kind,
                    &b.contract_no,
                    b.subsidy_year,
                    b.duplicate,
                ))
        });
        let inputs: Vec<LineInput> = batch
            .into_iter()
            .enumerate()
            .map(|(n, p)| LineInput {
                credit_code: p.credit_code,
                kind: p.kind,
                subsidy_year: p.subsidy_year,
                contract_no: p.contract_no,
                basis: Money::from_fen(p.basis).to_decimal(),
                transaction_date: p.transaction_date,
                amount: Money::from_fen(p.amount).to_decimal(),
                payment_date: p.paid,
                voucher_no: format!("{district}-{fiscal}-{:04}", n + 1),
            })
            .collect();
        numbered.insert((fiscal, district), inputs);
    }
    Ok(numbered)
}

/// The recognitions and ratings the rounds stored, by plan index.
async fn rounds_of<C: ConnectionTrait>(
    conn: &C,
    index: &HashMap<i64, usize>,
) -> AppResult<(Recognised, Stars)> {
    let mut recognised = Recognised::new();
    for row in recognitions::Entity::find()
        .filter(recognitions::Column::DecidedBy.eq(DEMO_ACTOR))
        .all(conn)
        .await?
    {
        if let Some(&i) = index.get(&row.enterprise_id) {
            recognised.entry(row.year).or_default().insert(i);
        }
    }
    let mut stars = Stars::new();
    for row in star_ratings::Entity::find()
        .filter(star_ratings::Column::RatedBy.eq(DEMO_ACTOR))
        .all(conn)
        .await?
    {
        if let Some(&i) = index.get(&row.enterprise_id) {
            stars.insert((row.year, i), row.stars);
        }
    }
    Ok((recognised, stars))
}

fn step_error(what: &str, err: AppError) -> AppError {
    match err {
        AppError::Unavailable(_) => err,
        other => AppError::internal(format!("demo {what}: {other:?}")),
    }
}

/// Reports, submits, reconciles, settles and approves what the demo plans, skipping every step
/// already done.
///
/// # Errors
/// Database errors; an internal error if a service refuses what the demo planned (a bug).
pub(super) async fn run(
    db: &DatabaseConnection,
    plans: &[Plan],
    index: &HashMap<i64, usize>,
) -> AppResult<bool> {
    let (recognised, stars) = rounds_of(db, index).await?;
    if recognised.is_empty() {
        return Ok(false);
    }
    let cast = Cast::choose(plans, &recognised)?;
    let batches = payment_plan(plans, &recognised, &stars, &cast)?;
    let finance = demo_actor(Role::CityFinance);
    // The demo loads in a process of its own, with no subscriber here; on PostgreSQL its claim
    // events still reach running instances through the NOTIFY of each transaction.
    let feed = ClaimFeed::new(1);
    let mut wrote = false;
    for fiscal in YEARS {
        let locked = locks::is_locked(db, fiscal).await?;
        let districts: Vec<&String> = batches
            .keys()
            .filter(|(year, _)| *year == fiscal)
            .map(|(_, district)| district)
            .collect();
        for district in &districts {
            if locked || payments::find_claim(db, district, fiscal).await?.is_some() {
                continue;
            }
            let lines = batches[&(fiscal, (*district).clone())].clone();
            let outcome = payments::report(db, &district_actor(district), district, fiscal, lines)
                .await
                .map_err(|e| step_error(&format!("report {district}/{fiscal}"), e))?;
            wrote |= !outcome.created.is_empty();
        }
        // 2025's claims are left for the districts to submit.
        if fiscal == *YEARS.last().unwrap_or(&fiscal) || locked {
            continue;
        }
        for district in &districts {
            if payments::find_claim(db, district, fiscal).await?.is_none() {
                payments::submit_claim(db, &feed, &district_actor(district), district, fiscal)
                    .await
                    .map_err(|e| step_error(&format!("claim {district}/{fiscal}"), e))?;
                wrote = true;
            }
        }
        // 2024's claims are left for the finance bureau to reconcile.
        if fiscal != YEARS[0] {
            continue;
        }
        for district in &districts {
            let submitted = match payments::find_claim(db, district, fiscal).await? {
                Some(claim) => payments::claim_status(&claim)? == ClaimStatus::Submitted,
                None => false,
            };
            if submitted {
                reconciliation::reconcile_claim(db, &feed, &finance, district, fiscal)
                    .await
                    .map_err(|e| step_error(&format!("reconcile {district}/{fiscal}"), e))?;
            }
        }
        settlement::draft(db, &finance, fiscal, None, None)
            .await
            .map_err(|e| step_error(&format!("draft {fiscal}"), e))?;
        settlement::approve(db, &feed, &finance, fiscal)
            .await
            .map_err(|e| step_error(&format!("approve {fiscal}"), e))?;
        wrote = true;
    }
    wrote |= audit_finding(db, &finance).await?;
    Ok(wrote)
}

/// An audit finding on an approved 2023 rent line (the rent invoice did not match what was
/// paid), which becomes an adjustment of the district's 2024 settlement.
async fn audit_finding(db: &DatabaseConnection, finance: &Actor) -> AppResult<bool> {
    let done = findings::Entity::find()
        .filter(findings::Column::RecordedBy.eq(DEMO_ACTOR))
        .count(db)
        .await?;
    if done > 0 || !locks::is_locked(db, YEARS[0]).await? {
        return Ok(false);
    }
    let lines = payment_lines::Entity::find()
        .filter(payment_lines::Column::FiscalYear.eq(YEARS[0]))
        .filter(payment_lines::Column::Kind.eq(PaymentKind::Rent.as_str()))
        .order_by_asc(payment_lines::Column::Seq)
        .all(db)
        .await?;
    let ids: Vec<i64> = lines.iter().map(|l| l.id).collect();
    let verdicts = reconciliation::verdicts_for(db, &ids).await?;
    let Some(line) = lines.iter().find(|l| {
        verdicts
            .get(&l.id)
            .is_some_and(|v| v.eligible_fen > 0 && v.primary_reason.is_none())
    }) else {
        return Ok(false);
    };
    finding_service::record_finding(
        db,
        finance,
        &[line.id],
        "审计发现：租金发票金额与实际支付不符，补助不予认可（demo）",
    )
    .await
    .map_err(|e| step_error("audit finding", e))?;
    Ok(true)
}

/// Counts for the summary line.
pub(super) async fn summary<C: ConnectionTrait>(conn: &C) -> AppResult<String> {
    let mut lines = Vec::new();
    let mut claim_counts = Vec::new();
    for year in YEARS {
        let n = payment_lines::Entity::find()
            .filter(payment_lines::Column::FiscalYear.eq(year))
            .filter(payment_lines::Column::ReportedBy.starts_with(format!("{DEMO_ACTOR}:")))
            .count(conn)
            .await?;
        lines.push(format!("{n} ({year})"));
        let mut by_status: BTreeMap<String, usize> = BTreeMap::new();
        for claim in claims::Entity::find()
            .filter(claims::Column::FiscalYear.eq(year))
            .filter(claims::Column::SubmittedBy.starts_with(format!("{DEMO_ACTOR}:")))
            .all(conn)
            .await?
        {
            let status = payments::claim_status(&claim)?;
            *by_status.entry(status.as_str().to_lowercase()).or_default() += 1;
        }
        for (status, n) in by_status {
            claim_counts.push(format!("{n} {status} ({year})"));
        }
    }
    let claims = if claim_counts.is_empty() {
        "no claims".to_string()
    } else {
        format!("claims {}", claim_counts.join(", "))
    };
    Ok(format!("payment lines {}; {claims}", lines.join(", ")))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::demo::plan;
    use crate::demo::rounds::tests::as_planned;

    #[test]
    fn every_planned_line_passes_the_report_checks() {
        let plans = plan().unwrap();
        let recognised = as_planned(&plans);
        let cast = Cast::choose(&plans, &recognised).unwrap();
        // Everyone at 3 stars: the most lines the plan can make.
        let stars: Stars = recognised
            .iter()
            .flat_map(|(&year, set)| set.iter().map(move |&i| ((year, i), 3)))
            .collect();
        let batches = payment_plan(&plans, &recognised, &stars, &cast).unwrap();
        for ((fiscal, district), lines) in &batches {
            let vouchers: BTreeSet<&str> = lines.iter().map(|l| l.voucher_no.as_str()).collect();
            assert_eq!(vouchers.len(), lines.len(), "{district}/{fiscal}");
            for line in lines {
                assert_eq!(line.payment_date.year(), *fiscal, "{line:?}");
                assert!(line.amount > rust_decimal::Decimal::ZERO, "{line:?}");
                assert!(line.amount <= line.basis, "{line:?}");
                assert_eq!(line.amount.scale().min(2), line.amount.scale(), "{line:?}");
                match line.kind {
                    PaymentKind::Rent => assert!(line.transaction_date.is_none()),
                    PaymentKind::Purchase => assert_eq!(
                        line.transaction_date.map(|d| d.year()),
                        Some(line.subsidy_year)
                    ),
                }
            }
        }
        for fiscal in YEARS {
            assert!(batches.keys().any(|(year, _)| *year == fiscal), "{fiscal}");
        }
    }
}
