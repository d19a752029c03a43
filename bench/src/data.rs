//! The deterministic data set of the benchmark: districts, enterprises with their registration
//! event, fact period, figures, recognition and star rating, the payment lines of one fiscal year
//! and the districts' submitted claims.
//!
//! Generation is the set-up, not what is measured: rows go straight into the tables with
//! multi-row inserts, after the real migrations and seed. The rows are what the services would
//! have written: recognitions carry the verdict the policy gives on the generated facts and
//! figures, claims carry the content hash of their lines (`payments::content_hash`), and the
//! registration event folds to the stored fact period (checked after generation).
//!
//! Every attribute is a function of the row's index, so two runs at the same scale produce the
//! same data. The mix exercises the reconciliation rules: unrecognised subsidy years, ratings
//! below 3 stars, enterprises owning offices, purchases next to rents, duplicates, lines reported
//! by the wrong district and groups over the district ratio.

use std::io::Write;
use std::time::Instant;

use chrono::{DateTime, NaiveDate, Utc};
use migration::{Migrator, MigratorTrait};
use sea_orm::{
    ActiveModelTrait,
    ActiveValue::{NotSet, Set},
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, Iterable,
    QueryFilter, QueryOrder, TransactionTrait,
};

use super::BenchError;
use super::measure::{secs, thousands};
use entity::{
    claim_events, claims, districts, enterprise_events, enterprise_facts, enterprise_figures,
    enterprises, payment_lines, recognitions, star_ratings,
};
use hq_api::services::registry::{self, EventKind, FactChanges, Facts, FoldEvent, Period};
use hq_api::services::seed::{self, DISTRICTS};
use hq_api::services::{parameters, payments, rule_sets};
use policy::credit_code::{CreditCode, CreditCodeError};
use policy::reconciliation::PaymentKind;
use policy::settlement::ClaimStatus;
use policy::{Figures, Money, Ownership, RecognitionParams, RecognitionPolicy};

/// The fiscal year whose claims are reconciled and settled.
pub const FISCAL_YEAR: i32 = 2024;
/// The fiscal year the CSV import reports into (no claim yet, so it takes lines).
pub const IMPORT_YEAR: i32 = 2025;
/// The district the CSV file is imported for (西湖区).
pub const IMPORT_DISTRICT: &str = "330106";
/// The recognition year of the generated recognitions and ratings.
pub const RECOGNITION_YEAR: i32 = 2024;

/// The decision date of the generated recognitions and of the evaluations.
pub fn decided_on() -> NaiveDate {
    date(RECOGNITION_YEAR, 4, 15)
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap_or(NaiveDate::MIN)
}

/// The fixed time every generated row is recorded at.
fn recorded_at() -> DateTime<Utc> {
    DateTime::from_timestamp(1_704_067_200, 0).unwrap_or_default()
}

/// Who generated rows are recorded by.
const BY: &str = "bench:generator";

/// The scales of the data set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Scale {
    /// For the smoke test: 13 districts, 52 enterprises, 208 lines.
    Tiny,
    /// Hangzhou today: 13 districts, 2,000 enterprises, 2,000 lines a year.
    City,
    /// The same service for the whole country: 400 districts, 200,000 enterprises, 1,000,000
    /// lines in one fiscal year.
    National,
}

/// What a scale generates and how it is measured.
#[derive(Debug, Clone, Copy)]
pub struct Size {
    /// Districts, the 13 seeded ones included.
    pub districts: usize,
    /// Enterprises.
    pub enterprises: u64,
    /// Payment lines of [`FISCAL_YEAR`].
    pub lines: u64,
    /// Lines of the imported CSV file.
    pub csv_lines: usize,
    /// `evaluate` calls.
    pub evaluations: usize,
    /// Audit entries appended to the chain before it is verified.
    pub audit_entries: i64,
    /// Seconds of HTTP load per measurement.
    pub http_seconds: f64,
    /// Untimed warm-up runs.
    pub warmup: usize,
    /// Timed runs.
    pub runs: usize,
}

impl Scale {
    /// The name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Scale::Tiny => "tiny",
            Scale::City => "city",
            Scale::National => "national",
        }
    }

    /// What this scale generates and how it is measured.
    pub fn size(self) -> Size {
        match self {
            Scale::Tiny => Size {
                districts: DISTRICTS.len(),
                enterprises: 52,
                lines: 208,
                csv_lines: 100,
                evaluations: 50,
                audit_entries: 2_000,
                http_seconds: 2.0,
                warmup: 1,
                runs: 3,
            },
            Scale::City => Size {
                districts: DISTRICTS.len(),
                enterprises: 2_000,
                lines: 2_000,
                csv_lines: 10_000,
                evaluations: 10_000,
                audit_entries: 100_000,
                http_seconds: 20.0,
                warmup: 1,
                runs: 5,
            },
            Scale::National => Size {
                districts: 400,
                enterprises: 200_000,
                lines: 1_000_000,
                csv_lines: 100_000,
                evaluations: 10_000,
                audit_entries: 1_000_000,
                http_seconds: 20.0,
                warmup: 1,
                runs: 2,
            },
        }
    }
}

/// What was generated.
#[derive(Debug, Clone)]
pub struct DataSet {
    /// Every district code, seeded ones first.
    pub districts: Vec<String>,
    /// The districts with a submitted claim for [`FISCAL_YEAR`], in code order.
    pub claim_districts: Vec<String>,
    /// Credit code of enterprise id `i + 1`.
    pub codes: Vec<String>,
    /// Payment lines of [`FISCAL_YEAR`].
    pub lines: u64,
    /// Enterprises recognised for [`RECOGNITION_YEAR`].
    pub recognised: u64,
    /// Of those, rated 3 stars or more.
    pub rated_3_plus: u64,
    /// PURCHASE lines.
    pub purchase_lines: u64,
    /// Lines repeating the previous line of their district with another voucher.
    pub duplicate_lines: u64,
    /// Lines reported by a district the enterprise is not registered in.
    pub wrong_district_lines: u64,
}

/// A 64-bit mix of `i` and `salt` (SplitMix64): the generator's only source of variety.
fn mix(i: u64, salt: u64) -> u64 {
    let mut z = i
        .wrapping_add(salt.wrapping_mul(0xD1B5_4A32_D192_ED03))
        .wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// `mix(i, salt) % n`.
fn pick(i: u64, salt: u64, n: u64) -> u64 {
    mix(i, salt) % n.max(1)
}

/// A valid credit code for enterprise `id`: issued in Hangzhou (330100), organisation code from
/// the id with a correct GB 11714 check digit, and the GB 32100 check character.
pub fn credit_code(id: u64) -> Result<String, BenchError> {
    const WEIGHTS: [u32; 8] = [3, 7, 9, 10, 5, 8, 4, 2];
    let body = format!("{:08}", id % 100_000_000);
    let sum: u32 = body
        .chars()
        .zip(WEIGHTS)
        .map(|(c, w)| c.to_digit(10).unwrap_or(0) * w)
        .sum();
    let org_check = match 11 - sum % 11 {
        10 => 'X',
        11 => '0',
        digit => char::from_digit(digit, 10).unwrap_or('0'),
    };
    let first17 = format!("91330100{body}{org_check}");
    match CreditCode::parse(&format!("{first17}0")) {
        Ok(code) => Ok(code.as_str().to_string()),
        Err(CreditCodeError::WrongCheckCharacter { expected, .. }) => {
            Ok(format!("{first17}{expected}"))
        }
        Err(other) => Err(BenchError::new(format!("credit code of {id}: {other}"))),
    }
}

/// Synthetic district `n` (after the 13 seeded ones): codes `900001`, `900002`, …
fn synthetic_district(n: usize) -> String {
    format!("9{:05}", n + 1)
}

const INDUSTRIES: [&str; 8] = [
    "7211", "6513", "3511", "5191", "7240", "3990", "6421", "2710",
];

/// The facts of enterprise `id`, registered in `district`.
fn facts_of(id: u64, district: &str) -> Facts {
    let hangzhou_since = date(2010, 1, 1) + chrono::Days::new(pick(id, 1, 4_700));
    let industry = match pick(id, 2, 100) {
        0 | 1 => "6612", // excluded: financial institution
        2 => "6920",     // holding company: needs review
        n => INDUSTRIES[(n % 8) as usize],
    };
    let ownership = match pick(id, 3, 100) {
        0..=79 => Ownership::Private,
        80..=89 => Ownership::Foreign,
        90..=94 => Ownership::CentralSoe,
        95..=97 => Ownership::MunicipalSoe, // excluded
        _ => Ownership::Other,
    };
    let listed = pick(id, 4, 10) == 0;
    let rd = pick(id, 5, 10) < 3;
    Facts {
        name: format!("杭州基准{id:06}科技有限公司"),
        district_code: Some(district.to_string()),
        hangzhou_since: Some(hangzhou_since),
        industry_code: industry.to_string(),
        ownership,
        industrial_guidance: pick(id, 6, 100) < 95,
        independent_legal_person: pick(id, 7, 100) < 97,
        deemed_legal_person: false,
        operating: pick(id, 8, 100) < 99,
        unified_accounting: pick(id, 9, 100) < 97,
        rd_facilities: rd,
        rd_stable_funding: rd,
        outside_units: u32::try_from(pick(id, 10, 13)).unwrap_or(0),
        listing_exchange: listed.then(|| "SSE".to_string()),
        listed_entity_in_hangzhou: listed,
        dishonest: pick(id, 11, 200) == 0,
        owns_office: pick(id, 12, 25) == 0,
        registered_capital: None,
    }
}

/// The figures of enterprise `id` for the year before [`RECOGNITION_YEAR`].
fn figures_of(id: u64) -> Figures {
    let revenue_yuan = 400_000_000 + pick(id, 20, 29_600_000_000);
    let revenue = i64::try_from(revenue_yuan * 100).unwrap_or(i64::MAX);
    let rd_percent = i64::try_from(1 + pick(id, 21, 15)).unwrap_or(1);
    Figures {
        revenue: Money::from_fen(revenue),
        rd_spend: Money::from_fen(revenue / 100 * rd_percent),
    }
}

fn facts_row(id: i64, facts: &Facts) -> enterprise_facts::ActiveModel {
    enterprise_facts::ActiveModel {
        id: NotSet,
        enterprise_id: Set(id),
        valid_from: Set(facts.hangzhou_since.unwrap_or(NaiveDate::MIN)),
        valid_to: Set(None),
        name: Set(facts.name.clone()),
        district_code: Set(facts.district_code.clone()),
        hangzhou_since: Set(facts.hangzhou_since),
        industry_code: Set(facts.industry_code.clone()),
        ownership: Set(facts.ownership.as_str().to_owned()),
        industrial_guidance: Set(facts.industrial_guidance),
        independent_legal_person: Set(facts.independent_legal_person),
        deemed_legal_person: Set(facts.deemed_legal_person),
        operating: Set(facts.operating),
        unified_accounting: Set(facts.unified_accounting),
        rd_facilities: Set(facts.rd_facilities),
        rd_stable_funding: Set(facts.rd_stable_funding),
        outside_units: Set(i32::try_from(facts.outside_units).unwrap_or(i32::MAX)),
        listing_exchange: Set(facts.listing_exchange.clone()),
        listed_entity_in_hangzhou: Set(facts.listed_entity_in_hangzhou),
        dishonest: Set(facts.dishonest),
        owns_office: Set(facts.owns_office),
        registered_capital_fen: Set(None),
    }
}

/// Inserts `rows` with multi-row `INSERT`s of at most ~30,000 bound values (SQLite's limit is
/// 32,766).
async fn insert_all<A, C>(conn: &C, rows: Vec<A>) -> Result<(), BenchError>
where
    A: ActiveModelTrait + Send,
    C: ConnectionTrait,
{
    let columns = <<A as ActiveModelTrait>::Entity as EntityTrait>::Column::iter().count();
    let per_statement = (30_000 / columns.max(1)).max(1);
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<A> = rows.by_ref().take(per_statement).collect();
        <A as ActiveModelTrait>::Entity::insert_many(chunk)
            .exec_without_returning(conn)
            .await?;
    }
    Ok(())
}

/// Empties the database through the real migrations — every `down` (children first), then every
/// `up` — and seeds it. (`Migrator::fresh` drops tables in name order, which SQLite's foreign
/// keys refuse on a populated database.)
///
/// # Errors
/// Database errors.
pub async fn reset(db: &DatabaseConnection) -> Result<(), BenchError> {
    db.execute_unprepared("DROP TABLE IF EXISTS bench_floor_verdicts")
        .await?;
    Migrator::down(db, None).await?;
    Migrator::up(db, None).await?;
    seed::run(db).await?;
    Ok(())
}

/// Generates the data set of `scale` into a freshly reset database.
///
/// # Errors
/// Database errors; an internal inconsistency of the generated rows.
pub async fn generate(
    db: &DatabaseConnection,
    scale: Scale,
    out: &mut (dyn Write + Send),
) -> Result<DataSet, BenchError> {
    let size = scale.size();
    let started = Instant::now();
    let at = recorded_at();

    // Districts: the 13 seeded ones, then synthetic ones up to the scale's count.
    let mut district_codes: Vec<String> = DISTRICTS.iter().map(|d| d.code.to_string()).collect();
    let extra: Vec<districts::ActiveModel> = (0..size.districts.saturating_sub(DISTRICTS.len()))
        .map(|n| districts::ActiveModel {
            code: Set(synthetic_district(n)),
            name: Set(format!("基准区{:03}", n + 1)),
            kind: Set("DISTRICT".into()),
            sort_order: Set(i32::try_from(DISTRICTS.len() + n).unwrap_or(i32::MAX)),
        })
        .collect();
    district_codes.extend((0..extra.len()).map(synthetic_district));
    insert_all(db, extra).await?;
    let district_count = district_codes.len() as u64;
    let district_of = |id: u64| district_codes[((id - 1) % district_count) as usize].clone();

    // Enterprises with their registration, facts, figures, recognition and rating.
    let set = parameters::load_set(db).await?;
    let params = RecognitionParams::from_set(&set, decided_on())?;
    let rule_set = rule_sets::in_force_on(db, decided_on()).await?.rule_set;
    let policy = RecognitionPolicy::new(rule_set.clone(), params.clone());
    let versions_json = serde_json::to_string(&params.parameter_versions)
        .map_err(|e| BenchError::new(e.to_string()))?;
    let mut codes = Vec::with_capacity(usize::try_from(size.enterprises).unwrap_or(0));
    let mut recognised = 0u64;
    let mut rated_3_plus = 0u64;
    let mut next_recognition: i64 = 1;
    const CHUNK: u64 = 10_000;
    let mut first = 1u64;
    while first <= size.enterprises {
        let last = (first + CHUNK - 1).min(size.enterprises);
        let mut ents = Vec::new();
        let mut events = Vec::new();
        let mut facts_rows = Vec::new();
        let mut figures_rows = Vec::new();
        let mut recognition_rows = Vec::new();
        let mut rating_rows = Vec::new();
        for id in first..=last {
            let eid = i64::try_from(id).map_err(BenchError::new)?;
            let code = credit_code(id)?;
            let facts = facts_of(id, &district_of(id));
            let figures = figures_of(id);
            ents.push(enterprises::ActiveModel {
                id: Set(eid),
                credit_code: Set(code.clone()),
                created_at: Set(at),
                created_by: Set(BY.into()),
            });
            events.push(enterprise_events::ActiveModel {
                id: NotSet,
                enterprise_id: Set(eid),
                kind: Set(EventKind::Registered.as_str().to_owned()),
                effective_date: Set(facts.hangzhou_since.unwrap_or(NaiveDate::MIN)),
                changes: Set(serde_json::to_string(&facts).map_err(BenchError::new)?),
                note: Set(None),
                recorded_at: Set(at),
                recorded_by: Set(BY.into()),
            });
            facts_rows.push(facts_row(eid, &facts));
            figures_rows.push(enterprise_figures::ActiveModel {
                id: NotSet,
                enterprise_id: Set(eid),
                year: Set(RECOGNITION_YEAR - 1),
                revenue_fen: Set(figures.revenue.fen()),
                rd_spend_fen: Set(figures.rd_spend.fen()),
                recorded_at: Set(at),
                recorded_by: Set(BY.into()),
            });
            let verdict =
                policy.decide(&facts, Some(&figures), &[], RECOGNITION_YEAR, decided_on())?;
            if let (true, Some(route)) = (verdict.eligible, verdict.route) {
                recognised += 1;
                recognition_rows.push(recognitions::ActiveModel {
                    id: Set(next_recognition),
                    enterprise_id: Set(eid),
                    year: Set(RECOGNITION_YEAR),
                    decided_on: Set(decided_on()),
                    route: Set(route.as_str().into()),
                    rule_set: Set(rule_set.code.clone()),
                    verdict: Set(serde_json::to_string(&verdict).map_err(BenchError::new)?),
                    parameter_versions: Set(versions_json.clone()),
                    needs_review: Set(verdict.needs_review),
                    decided_by: Set(BY.into()),
                    created_at: Set(at),
                });
                // 1★ 10%, 2★ 20%, 3★ 30%, 4★ 25%, 5★ 15%.
                let stars = match pick(id, 30, 20) {
                    0 | 1 => 1,
                    2..=5 => 2,
                    6..=11 => 3,
                    12..=16 => 4,
                    _ => 5,
                };
                if stars >= 3 {
                    rated_3_plus += 1;
                }
                rating_rows.push(star_ratings::ActiveModel {
                    id: NotSet,
                    enterprise_id: Set(eid),
                    recognition_id: Set(next_recognition),
                    year: Set(RECOGNITION_YEAR),
                    stars: Set(stars),
                    rated_by: Set(BY.into()),
                    rated_at: Set(at),
                });
                next_recognition += 1;
            }
            codes.push(code);
        }
        let txn = db.begin().await?;
        insert_all(&txn, ents).await?;
        insert_all(&txn, events).await?;
        insert_all(&txn, facts_rows).await?;
        insert_all(&txn, figures_rows).await?;
        insert_all(&txn, recognition_rows).await?;
        insert_all(&txn, rating_rows).await?;
        txn.commit().await?;
        first = last + 1;
    }

    // Payment lines of the fiscal year, district by district in report order, and the claims.
    let mut seq: i64 = 0;
    let mut stats = LineStats::default();
    let mut claim_rows = Vec::new();
    let mut claim_districts = Vec::new();
    let mut txn = db.begin().await?;
    let mut pending_lines = 0usize;
    for (index, district) in district_codes.iter().enumerate() {
        let lines = district_lines(
            index as u64,
            district,
            &size,
            district_count,
            &codes,
            &mut seq,
            &mut stats,
        );
        if lines.is_empty() {
            continue;
        }
        let claim_id = i64::try_from(claim_rows.len() + 1).map_err(BenchError::new)?;
        let paid: i64 = lines.iter().map(|l| l.amount_fen).sum();
        let hash = payments::content_hash(&lines);
        claim_rows.push((
            claims::ActiveModel {
                id: Set(claim_id),
                district_code: Set(district.clone()),
                fiscal_year: Set(FISCAL_YEAR),
                status: Set(ClaimStatus::Submitted.as_str().to_owned()),
                content_hash: Set(Some(hash.clone())),
                line_count: Set(i32::try_from(lines.len()).map_err(BenchError::new)?),
                paid_total_fen: Set(paid),
                submitted_at: Set(Some(at)),
                submitted_by: Set(Some(format!("bench:{district}"))),
                updated_at: Set(at),
            },
            hash,
            district.clone(),
        ));
        claim_districts.push(district.clone());
        pending_lines += lines.len();
        let rows: Vec<payment_lines::ActiveModel> = lines
            .into_iter()
            .map(|l| {
                let mut row: payment_lines::ActiveModel = l.into();
                row.id = NotSet;
                row
            })
            .collect();
        insert_all(&txn, rows).await?;
        if pending_lines >= 100_000 {
            txn.commit().await?;
            txn = db.begin().await?;
            pending_lines = 0;
        }
    }
    let mut events = Vec::new();
    let mut rows = Vec::new();
    for (claim, hash, district) in claim_rows {
        events.push(claim_events::ActiveModel {
            id: NotSet,
            claim_id: claim.id.clone(),
            action: Set(ClaimStatus::Submitted.as_str().to_owned()),
            reason: Set(None),
            content_hash: Set(Some(hash)),
            actor: Set(format!("bench:{district}")),
            at: Set(at),
        });
        rows.push(claim);
    }
    insert_all(&txn, rows).await?;
    insert_all(&txn, events).await?;
    txn.commit().await?;

    if db.get_database_backend() == DbBackend::Postgres {
        // Rows were inserted with explicit ids: move the sequences past them, and give the
        // planner statistics as autovacuum would.
        for table in ["enterprises", "recognitions", "claims"] {
            db.execute_unprepared(&format!(
                "SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM {table}))"
            ))
            .await?;
        }
        db.execute_unprepared("ANALYZE").await?;
    }
    check_registration_folds(db).await?;
    claim_districts.sort();

    let set = DataSet {
        districts: district_codes,
        claim_districts,
        codes,
        lines: stats.lines,
        recognised,
        rated_3_plus,
        purchase_lines: stats.purchases,
        duplicate_lines: stats.duplicates,
        wrong_district_lines: stats.wrong_district,
    };
    writeln!(
        out,
        "data set ({}): {} districts, {} enterprises ({} recognised for {RECOGNITION_YEAR}, {} rated ≥ 3★), \
         {} payment lines of {FISCAL_YEAR} ({} PURCHASE, {} duplicates, {} from the wrong district), \
         {} submitted claims; generated in {}",
        scale.name(),
        set.districts.len(),
        thousands(size.enterprises),
        thousands(set.recognised),
        thousands(set.rated_3_plus),
        thousands(set.lines),
        thousands(set.purchase_lines),
        thousands(set.duplicate_lines),
        thousands(set.wrong_district_lines),
        set.claim_districts.len(),
        secs(started.elapsed())
    )?;
    Ok(set)
}

#[derive(Debug, Default)]
struct LineStats {
    lines: u64,
    purchases: u64,
    duplicates: u64,
    wrong_district: u64,
}

/// The lines district number `index` reports, in report order; `seq` is the global report order.
fn district_lines(
    index: u64,
    district: &str,
    size: &Size,
    district_count: u64,
    codes: &[String],
    seq: &mut i64,
    stats: &mut LineStats,
) -> Vec<payment_lines::Model> {
    let enterprises = size.enterprises;
    let base = size.lines / enterprises.max(1);
    let extra = size.lines % enterprises.max(1);
    let at = recorded_at();
    let mut lines: Vec<payment_lines::Model> = Vec::new();
    let mut id = index + 1;
    while id <= enterprises {
        let count = base + u64::from(id <= extra);
        for j in 0..count {
            *seq += 1;
            let n = u64::try_from(*seq).unwrap_or(0);
            // 1% repeat the district's previous line under a new voucher (DUPLICATE_PAYMENT).
            if pick(n, 40, 100) == 0
                && let Some(previous) = lines.last()
            {
                let mut line = previous.clone();
                line.seq = *seq;
                line.voucher_no = format!("V{n:08}");
                stats.duplicates += 1;
                stats.lines += 1;
                lines.push(line);
                continue;
            }
            // 1% name an enterprise registered in the next district (WRONG_DISTRICT).
            let enterprise = if pick(n, 41, 100) == 0 && district_count > 1 {
                stats.wrong_district += 1;
                id % enterprises + 1
            } else {
                id
            };
            let purchaser = pick(enterprise, 42, 25) == 0;
            let (kind, contract, subsidy_year, basis, transaction_date, amount, paid_on) =
                if purchaser && j == 0 {
                    // The enterprise's first purchase: 5% of the price, capped at 10,000,000.00.
                    stats.purchases += 1;
                    let price = i64::try_from(10_000_000 + pick(enterprise, 43, 70_000_000))
                        .unwrap_or(0)
                        * 100;
                    let month = 1 + u32::try_from(pick(enterprise, 44, 6)).unwrap_or(0);
                    let day = 1 + u32::try_from(pick(enterprise, 45, 28)).unwrap_or(0);
                    let over = pick(n, 46, 10) == 0;
                    let amount = (price / 100 * if over { 6 } else { 5 }).min(1_200_000_000);
                    (
                        PaymentKind::Purchase,
                        format!("P-{enterprise}"),
                        FISCAL_YEAR,
                        price,
                        Some(date(FISCAL_YEAR, month, day)),
                        amount,
                        date(FISCAL_YEAR, month + 1 + (j as u32 % 5), day),
                    )
                } else {
                    // Rent: 30% of the rent paid (10% of lines ask 35%), capped per year.
                    let rent = i64::try_from(200_000 + pick(n, 47, 1_800_000)).unwrap_or(0) * 100;
                    let share = if pick(n, 48, 10) == 0 { 35 } else { 30 };
                    let year = if pick(n, 49, 33) == 0 {
                        FISCAL_YEAR - 1 // no recognition for it: NOT_RECOGNIZED
                    } else {
                        FISCAL_YEAR
                    };
                    let month = 1 + u32::try_from((j * 2 + pick(n, 50, 2)) % 12).unwrap_or(0);
                    let day = 1 + u32::try_from(pick(n, 51, 28)).unwrap_or(0);
                    (
                        PaymentKind::Rent,
                        format!("L-{enterprise}"),
                        year,
                        rent,
                        None,
                        rent / 100 * share,
                        date(FISCAL_YEAR, month, day),
                    )
                };
            let code = &codes[usize::try_from(enterprise - 1).unwrap_or(0)];
            stats.lines += 1;
            lines.push(payment_lines::Model {
                id: 0,
                seq: *seq,
                district_code: district.to_string(),
                fiscal_year: FISCAL_YEAR,
                enterprise_id: i64::try_from(enterprise).unwrap_or(0),
                credit_code: code.clone(),
                kind: kind.as_str().to_owned(),
                subsidy_year,
                contract_no: contract,
                basis_fen: basis,
                transaction_date,
                amount_fen: amount,
                payment_date: paid_on,
                voucher_no: format!("V{n:08}"),
                reported_at: at,
                reported_by: format!("bench:{district}"),
            });
        }
        id += district_count;
    }
    lines
}

/// Checks that the generated registration event folds to the stored fact period, as the
/// registry would have written it: reads the first enterprise's events and fact rows, folds the
/// events with the registry's own `services::registry::fold`, and compares. Nothing is
/// written.
async fn check_registration_folds(db: &DatabaseConnection) -> Result<(), BenchError> {
    let events = registry::read::events_of(db, 1)
        .await?
        .iter()
        .map(|row| {
            Ok(FoldEvent {
                kind: row.kind.parse::<EventKind>().map_err(BenchError::new)?,
                effective_date: row.effective_date,
                changes: serde_json::from_str::<FactChanges>(&row.changes)
                    .map_err(|e| BenchError::new(format!("event changes: {e}")))?,
            })
        })
        .collect::<Result<Vec<_>, BenchError>>()?;
    let folded = registry::fold(&events)
        .map_err(|e| BenchError::new(format!("the generated events do not fold: {e:?}")))?;
    let stored: Vec<Period> = enterprise_facts::Entity::find()
        .filter(enterprise_facts::Column::EnterpriseId.eq(1))
        .order_by_asc(enterprise_facts::Column::ValidFrom)
        .all(db)
        .await?
        .iter()
        .map(registry::period_from_row)
        .collect::<Result<_, _>>()?;
    if stored.is_empty() || stored != folded {
        return Err(BenchError::new(format!(
            "generated facts do not match their registration event: {stored:?} vs {folded:?}"
        )));
    }
    Ok(())
}

/// The CSV file the import scenario reads: `lines` rows for [`IMPORT_DISTRICT`] and
/// [`IMPORT_YEAR`], English headers, 5% PURCHASE lines each with its own new contract.
pub fn import_csv(set: &DataSet, lines: usize) -> Vec<u8> {
    let mut text = String::with_capacity(lines * 110 + 100);
    text.push_str(
        "creditCode,kind,subsidyYear,contractNo,basis,transactionDate,amount,paymentDate,voucherNo\n",
    );
    let enterprises = set.codes.len().max(1);
    for i in 0..lines {
        let code = &set.codes[(i * 7_919) % enterprises];
        let month = 1 + i % 12;
        let day = 1 + i % 28;
        if i % 20 == 19 {
            text.push_str(&format!(
                "{code},PURCHASE,{IMPORT_YEAR},CP-{i:07},20000000.00,{IMPORT_YEAR}-03-01,1000000.00,{IMPORT_YEAR}-04-01,CSV{i:07}\n"
            ));
        } else {
            // The rent with thousands separators, as spreadsheets export it.
            let rent = 100_000 + (i % 900) as u64 * 1_000;
            text.push_str(&format!(
                "{code},RENT,{IMPORT_YEAR},CL-{i:07},\"{}.00\",,{}.00,{IMPORT_YEAR}-{month:02}-{day:02},CSV{i:07}\n",
                thousands(rent),
                rent * 3 / 10,
            ));
        }
    }
    text.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_credit_codes_are_valid_and_distinct() {
        let codes: Vec<String> = (1..=2_000).map(|id| credit_code(id).unwrap()).collect();
        for code in &codes {
            let parsed = CreditCode::parse(code).unwrap();
            assert!(parsed.organization_code_warning().is_none(), "{code}");
        }
        let distinct: std::collections::HashSet<&String> = codes.iter().collect();
        assert_eq!(distinct.len(), codes.len());
    }

    #[test]
    fn the_generator_is_deterministic() {
        assert_eq!(mix(42, 7), mix(42, 7));
        assert_ne!(mix(42, 7), mix(43, 7));
        assert_eq!(facts_of(5, "330106"), facts_of(5, "330106"));
    }

    #[test]
    fn every_csv_line_parses() {
        let set = DataSet {
            districts: vec![],
            claim_districts: vec![],
            codes: (1..=10).map(|id| credit_code(id).unwrap()).collect(),
            lines: 0,
            recognised: 0,
            rated_3_plus: 0,
            purchase_lines: 0,
            duplicate_lines: 0,
            wrong_district_lines: 0,
        };
        let lines = hq_api::services::csv_import::parse(&import_csv(&set, 100)).unwrap();
        assert_eq!(lines.len(), 100);
    }
}
