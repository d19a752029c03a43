//! The demo data set of `hq-api demo-data`.
//!
//! About 700 enterprises across the 13 districts, with a few years of §19 history (moves into
//! and between districts, office purchases, renamings, listings, ...) and yearly figures for
//! 2022–2025: a handful above 100 billion yuan of revenue, about 60 above 10 billion, and some
//! exactly on or just under the thresholds of §3 so that the boundaries show in verdicts.
//!
//! Deterministic: everything comes from a fixed-seed splitmix64 generator and fixed dates, so
//! every database gets the same data. Idempotent: if the demo enterprises are present, nothing
//! is written. The data goes through the same service functions as the API (validation, event
//! fold, audit as `system:demo`), all in one transaction: a failed load leaves nothing behind.

use std::collections::HashSet;

use chrono::{Datelike, Duration, NaiveDate};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter,
    QuerySelect, QueryTrait,
};

use crate::auth::{Actor, Role};
use crate::error::{AppError, AppResult};
use crate::policy::{CreditCode, CreditCodeError, Money};
use crate::services::enterprises::{self, ChangesInput, EventInput, EventKind, RegisterInput};
use crate::services::tx::begin_write;
use entity::{enterprise_events, enterprise_figures, enterprises as enterprise_rows};

/// The token subject the demo data is recorded by.
pub const DEMO_ACTOR: &str = "system:demo";

/// The seed of the generator: change it and every demo enterprise changes.
const SEED: u64 = 0x2023_0003_4851_0001;

/// How many enterprises the demo registers.
pub const DEMO_ENTERPRISES: usize = 700;

/// The years the demo records figures for.
const FIGURE_YEARS: std::ops::RangeInclusive<i32> = 2022..=2025;

/// splitmix64: tiny, fast, and good enough to spread demo data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n` > 0).
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    /// Uniform in `lo..=hi`.
    fn between(&mut self, lo: i64, hi: i64) -> i64 {
        let span = u64::try_from(hi.saturating_sub(lo))
            .unwrap_or(0)
            .saturating_add(1);
        lo.saturating_add(i64::try_from(self.below(span)).unwrap_or(0))
    }

    /// True with probability `per_mille` / 1000.
    fn chance(&mut self, per_mille: u64) -> bool {
        self.below(1000) < per_mille
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        let index = usize::try_from(self.below(items.len() as u64)).unwrap_or(0);
        items[index.min(items.len().saturating_sub(1))]
    }

    fn weighted<'a, T>(&mut self, items: &'a [(T, u64)]) -> &'a T {
        let total: u64 = items.iter().map(|(_, w)| w).sum();
        let mut roll = self.below(total);
        for (item, weight) in items {
            if roll < *weight {
                return item;
            }
            roll -= weight;
        }
        &items[items.len() - 1].0
    }

    fn date_between(&mut self, from: NaiveDate, to: NaiveDate) -> NaiveDate {
        let days = (to - from).num_days().max(0);
        from + Duration::days(self.between(0, days))
    }

    fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = usize::try_from(self.below(i as u64 + 1)).unwrap_or(0);
            items.swap(i, j);
        }
    }
}

fn date(y: i32, m: u32, d: u32) -> AppResult<NaiveDate> {
    NaiveDate::from_ymd_opt(y, m, d).ok_or_else(|| AppError::internal("invalid demo date"))
}

/// Districts and how many demo enterprises end up in each (700 in all).
const DISTRICT_WEIGHTS: [(&str, usize); 13] = [
    ("330102", 90),
    ("330105", 70),
    ("330106", 90),
    ("330108", 110),
    ("330109", 90),
    ("330110", 100),
    ("330111", 30),
    ("330112", 25),
    ("330113", 35),
    ("330114", 35),
    ("330122", 10),
    ("330127", 5),
    ("330182", 10),
];

/// GB/T 4754-2017 classes with the word the demo names use; a few are excluded (banks, real
/// estate, tobacco, power, telecom operators) or flagged for review (holding, payment, financial
/// information) by the default parameters.
const INDUSTRIES: [((&str, &str), u64); 30] = [
    (("6513", "软件科技"), 80),
    (("6512", "数据科技"), 20),
    (("6520", "集成电路"), 18),
    (("6531", "信息系统"), 20),
    (("6432", "网络科技"), 40),
    (("6431", "数字科技"), 25),
    (("6422", "互动娱乐"), 10),
    (("6429", "信息服务"), 12),
    (("7211", "实业"), 70),
    (("7212", "投资管理"), 18),
    (("2720", "医药"), 25),
    (("2761", "生物科技"), 20),
    (("7340", "医疗科技"), 10),
    (("3612", "新能源汽车"), 6),
    (("3670", "汽车零部件"), 15),
    (("3841", "新能源科技"), 10),
    (("3911", "电子科技"), 15),
    (("3921", "通信技术"), 15),
    (("1712", "纺织"), 18),
    (("1819", "服饰"), 14),
    (("4710", "建设"), 22),
    (("5292", "电子商务"), 35),
    (("5821", "供应链管理"), 24),
    (("7320", "工程技术"), 10),
    (("6621", "银行"), 3),
    (("7010", "置业"), 6),
    (("4420", "能源"), 2),
    (("6920", "控股"), 6),
    (("6930", "支付服务"), 4),
    (("6940", "金融信息"), 4),
];

const OWNERSHIPS: [(&str, u64); 9] = [
    ("PRIVATE", 700),
    ("FOREIGN", 80),
    ("COLLECTIVE", 10),
    ("CENTRAL_SOE", 50),
    ("PROVINCIAL_SOE", 40),
    ("MUNICIPAL_SOE", 50),
    ("DISTRICT_SOE", 30),
    ("OTHER_SOE", 20),
    ("OTHER", 20),
];

/// `SGX` is not among the accepted exchanges by default.
const EXCHANGES: [(&str, u64); 7] = [
    ("SSE", 35),
    ("SZSE", 30),
    ("HKEX", 20),
    ("NASDAQ", 6),
    ("NYSE", 4),
    ("BSE", 3),
    ("SGX", 2),
];

const NAME_WORDS: [&str; 60] = [
    "华创", "恒远", "中拓", "新禾", "博瑞", "联创", "远航", "天成", "启明", "鼎盛", "安和", "明德",
    "嘉禾", "瑞丰", "宏图", "金桥", "云帆", "智源", "润泽", "泰和", "锦程", "晨光", "盛世", "广源",
    "德信", "汇通", "正元", "同创", "协力", "长风", "青山", "碧水", "之江", "钱潮", "西溪", "湖畔",
    "运河", "良渚", "富春", "新安", "云栖", "九溪", "龙井", "虎跑", "紫金", "天目", "千岛", "严州",
    "临江", "观潮", "凤起", "武林", "湖滨", "文三", "翠苑", "三墩", "闻堰", "星桥", "义蓬", "白马",
];

/// Issuing-authority areas of enterprises that moved in from elsewhere.
const OUTSIDE_AREAS: [&str; 4] = ["310000", "110000", "440300", "320500"];

/// Revenue tiers in million yuan: bucket edges, so that sizes spread roughly log-uniformly.
const GIANT: &[i64] = &[120_000, 150_000, 200_000, 300_000, 450_000];
const BIG: &[i64] = &[
    10_500, 13_000, 18_000, 25_000, 35_000, 50_000, 62_000, 75_000,
];
const MID: &[i64] = &[1_000, 1_500, 2_000, 3_000, 4_500, 7_000];
const LOWER_MID: &[i64] = &[500, 600, 700, 800, 900, 990];
const SMALL: &[i64] = &[50, 80, 120, 200, 300, 480];

const FEN_PER_MILLION: i64 = 100_000_000;

fn revenue_in_tier(rng: &mut Rng, edges: &[i64]) -> i64 {
    let bucket = usize::try_from(rng.below(edges.len() as u64 - 1)).unwrap_or(0);
    let millions = rng.between(edges[bucket], edges[bucket + 1] - 1);
    millions * FEN_PER_MILLION + rng.between(0, FEN_PER_MILLION - 1)
}

/// Scales `fen` by `(1000 + per_mille) / 1000`, exactly in integers.
fn grow(fen: i64, per_mille: i64) -> i64 {
    let scaled = i128::from(fen) * i128::from(1000 + per_mille) / 1000;
    i64::try_from(scaled).unwrap_or(i64::MAX)
}

/// Completes 17 characters with the check character the `CreditCode` rules require.
fn complete_code(first17: &str) -> AppResult<CreditCode> {
    match CreditCode::parse(&format!("{first17}0")) {
        Ok(code) => Ok(code),
        Err(CreditCodeError::WrongCheckCharacter { expected, .. }) => {
            CreditCode::parse(&format!("{first17}{expected}")).map_err(AppError::internal)
        }
        Err(other) => Err(AppError::internal(other)),
    }
}

/// A fresh valid credit code issued in `area`; with `wrong_org_check`, its GB 11714 check digit
/// is deliberately wrong (a warning, not a refusal).
fn credit_code(
    rng: &mut Rng,
    area: &str,
    used: &mut HashSet<String>,
    wrong_org_check: bool,
) -> AppResult<String> {
    for _ in 0..1000 {
        let body: String = (0..8)
            .map(|_| char::from(b'0' + u8::try_from(rng.below(10)).unwrap_or(0)))
            .collect();
        let mut chosen = None;
        for check in "0123456789X".chars() {
            let code = complete_code(&format!("91{area}{body}{check}"))?;
            if code.organization_code_warning().is_none() != wrong_org_check {
                chosen = Some(code);
                break;
            }
        }
        if let Some(code) = chosen
            && used.insert(code.as_str().to_string())
        {
            return Ok(code.as_str().to_string());
        }
    }
    Err(AppError::internal(
        "could not generate a fresh demo credit code",
    ))
}

fn unique_name(rng: &mut Rng, word: &str, suffix: &str, used: &mut HashSet<String>) -> String {
    let start = usize::try_from(rng.below(NAME_WORDS.len() as u64)).unwrap_or(0);
    for step in 0..NAME_WORDS.len() {
        let name = format!(
            "杭州{}{word}{suffix}",
            NAME_WORDS[(start + step) % NAME_WORDS.len()]
        );
        if used.insert(name.clone()) {
            return name;
        }
    }
    for step in 0..NAME_WORDS.len() * NAME_WORDS.len() {
        let first = NAME_WORDS[(start + step / NAME_WORDS.len()) % NAME_WORDS.len()];
        let second = NAME_WORDS[step % NAME_WORDS.len()];
        let name = format!("杭州{first}{second}{word}{suffix}");
        if used.insert(name.clone()) {
            return name;
        }
    }
    format!("杭州{word}{suffix}{}", used.len())
}

/// One planned event.
struct PlannedEvent {
    on: NaiveDate,
    kind: EventKind,
    changes: ChangesInput,
}

/// One planned enterprise.
struct Plan {
    register: RegisterInput,
    events: Vec<PlannedEvent>,
    figures: Vec<(i32, i64, i64)>,
}

/// Figures that sit exactly on, or just under, a threshold of §3 or §1, for the years 2023 and
/// 2024 (decided in the 2024 and 2025 rounds). `(revenue fen, R&D fen, new enterprise)`.
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

/// Loads the demo data; returns a one-line summary.
///
/// # Errors
/// Database errors; an internal error if the generated data fails validation (a bug).
pub async fn load(db: &DatabaseConnection) -> AppResult<String> {
    let existing = demo_enterprise_count(db).await?;
    if existing > 0 {
        return summary(db, "demo data already present").await;
    }
    let plans = plan()?;
    let actor = Actor {
        sub: DEMO_ACTOR.into(),
        role: Role::HqOffice,
        district: None,
    };
    let txn = begin_write(db).await?;
    for plan in plans {
        let code = plan.register.credit_code.clone();
        enterprises::register_in(&txn, &actor, plan.register)
            .await
            .map_err(|e| demo_error(&code, e))?;
        for event in plan.events {
            let input = EventInput {
                credit_code: code.clone(),
                kind: event.kind,
                effective_date: event.on,
                changes: event.changes,
                note: Some("demo data".into()),
            };
            enterprises::record_event_in(&txn, &actor, input)
                .await
                .map_err(|e| demo_error(&code, e))?;
        }
        for (year, revenue, rd) in plan.figures {
            let revenue = Money::from_fen(revenue).to_decimal();
            let rd = Money::from_fen(rd).to_decimal();
            enterprises::record_figures_in(&txn, &actor, &code, year, revenue, rd)
                .await
                .map_err(|e| demo_error(&code, e))?;
        }
    }
    txn.commit().await?;
    summary(db, "demo data loaded").await
}

fn demo_error(code: &str, err: AppError) -> AppError {
    match err {
        AppError::Unavailable(_) => err,
        other => AppError::internal(format!("demo enterprise {code}: {other:?}")),
    }
}

async fn demo_enterprise_count<C: ConnectionTrait>(conn: &C) -> AppResult<u64> {
    Ok(enterprise_rows::Entity::find()
        .filter(enterprise_rows::Column::CreatedBy.eq(DEMO_ACTOR))
        .count(conn)
        .await?)
}

async fn summary<C: ConnectionTrait>(conn: &C, what: &str) -> AppResult<String> {
    let enterprises = demo_enterprise_count(conn).await?;
    let ids = enterprise_rows::Entity::find()
        .select_only()
        .column(enterprise_rows::Column::Id)
        .filter(enterprise_rows::Column::CreatedBy.eq(DEMO_ACTOR))
        .as_query()
        .to_owned();
    let events = enterprise_events::Entity::find()
        .filter(enterprise_events::Column::EnterpriseId.in_subquery(ids.clone()))
        .count(conn)
        .await?;
    let figures = enterprise_figures::Entity::find()
        .filter(enterprise_figures::Column::EnterpriseId.in_subquery(ids))
        .count(conn)
        .await?;
    Ok(format!(
        "{what}: {enterprises} enterprises, {events} events, {figures} yearly figures ({}-{})",
        FIGURE_YEARS.start(),
        FIGURE_YEARS.end()
    ))
}

/// The whole data set, computed before anything is written.
fn plan() -> AppResult<Vec<Plan>> {
    let mut rng = Rng(SEED);
    let mut districts: Vec<&'static str> = DISTRICT_WEIGHTS
        .iter()
        .flat_map(|(code, n)| std::iter::repeat_n(*code, *n))
        .collect();
    rng.shuffle(&mut districts);
    // Size ranks: rank 0..12 are the giants, and so on down.
    let mut ranks: Vec<usize> = (0..districts.len()).collect();
    rng.shuffle(&mut ranks);

    let mut codes = HashSet::new();
    let mut names = HashSet::new();
    let mut plans = Vec::with_capacity(districts.len());
    for (index, district) in districts.iter().enumerate() {
        plans.push(plan_one(
            &mut rng,
            index,
            district,
            ranks[index],
            &mut codes,
            &mut names,
        )?);
    }
    Ok(plans)
}

#[allow(clippy::too_many_lines)]
fn plan_one(
    rng: &mut Rng,
    index: usize,
    district: &'static str,
    rank: usize,
    codes: &mut HashSet<String>,
    names: &mut HashSet<String>,
) -> AppResult<Plan> {
    let cutoff = date(2022, 1, 1)?;
    let events_to = date(2025, 9, 30)?;
    // Ranks 300.. are the boundary cases; ranks 0 and 11 sit at 100 billion, 12 and 13 at 10.
    let boundary = rank
        .checked_sub(300)
        .and_then(|k| BOUNDARY_CASES.get(k).copied());
    let plain = boundary.is_none() && rank > 13;

    let (mut industry_code, mut industry_word) = *rng.weighted(&INDUSTRIES);
    let mut ownership = *rng.weighted(&OWNERSHIPS);
    if !plain {
        // The boundary cases and the largest enterprises pass every basic rule.
        ownership = "PRIVATE";
        if boundary.is_some() {
            (industry_code, industry_word) = ("6513", "软件科技");
        }
    }
    let listed_chance = match rank {
        0..12 => 700,
        12..62 => 450,
        62..300 => 150,
        _ => 40,
    };
    let listing_exchange = rng
        .chance(listed_chance)
        .then(|| rng.weighted(&EXCHANGES).to_string());
    let listed_entity_in_hangzhou = listing_exchange.is_some() && rng.chance(850);
    let suffix = if listing_exchange.is_some() || industry_code == "6621" {
        "股份有限公司"
    } else if industry_code == "7211" || rank < 62 {
        "集团有限公司"
    } else {
        "有限公司"
    };
    let name = unique_name(rng, industry_word, suffix, names);

    // Where, and since when.
    let moved_in = plain && rng.chance(25);
    let back_and_forth = plain && !moved_in && rng.chance(6);
    let new_enterprise = match boundary {
        Some((_, _, new)) => new,
        None => plain && rng.chance(200),
    };
    let mut hangzhou_since = match (new_enterprise, boundary.is_some()) {
        // Boundary cases need figures for 2023: in Hangzhou during 2022.
        (true, true) => rng.date_between(cutoff, date(2022, 12, 31)?),
        (true, false) => rng.date_between(cutoff, date(2024, 12, 31)?),
        (false, _) => rng.date_between(date(1995, 1, 1)?, date(2021, 12, 31)?),
    };
    // A few exactly on the §3.2 cutoff, on both sides.
    if plain && index.is_multiple_of(97) {
        hangzhou_since = if new_enterprise {
            cutoff
        } else {
            date(2021, 12, 31)?
        };
    }
    let mut events: Vec<PlannedEvent> = Vec::new();
    let into_district = || ChangesInput {
        district_code: Some(Some(district.to_string())),
        ..ChangesInput::default()
    };
    let (registered_on, mut initial_district, initial_since, area) = if moved_in {
        let moved_on = rng.date_between(date(2022, 2, 1)?, date(2024, 9, 30)?);
        events.push(PlannedEvent {
            on: moved_on,
            kind: EventKind::MovedIntoHangzhou,
            changes: into_district(),
        });
        hangzhou_since = moved_on;
        let registered = rng.date_between(date(2006, 1, 1)?, date(2020, 12, 31)?);
        (registered, None, None, rng.pick(&OUTSIDE_AREAS))
    } else if back_and_forth {
        let registered = rng.date_between(date(2003, 1, 1)?, date(2012, 12, 31)?);
        let out = rng.date_between(date(2018, 1, 1)?, date(2020, 12, 31)?);
        let back = rng.date_between(date(2022, 6, 1)?, date(2023, 6, 30)?);
        events.push(PlannedEvent {
            on: out,
            kind: EventKind::MovedOutOfHangzhou,
            changes: ChangesInput::default(),
        });
        events.push(PlannedEvent {
            on: back,
            kind: EventKind::MovedIntoHangzhou,
            changes: into_district(),
        });
        hangzhou_since = back;
        (registered, Some(district), Some(registered), district)
    } else {
        let area = if rng.chance(300) { "330100" } else { district };
        (hangzhou_since, Some(district), Some(hangzhou_since), area)
    };
    let wrong_org_check = plain && index % 151 == 7;
    let credit_code = credit_code(rng, area, codes, wrong_org_check)?;

    // Flags.
    let vehicle_unit = industry_code.starts_with("361") && rng.chance(400);
    let independent_legal_person = !vehicle_unit && (!plain || rng.chance(970));
    let industrial_guidance = !plain || rng.chance(880);
    let unified_accounting = !plain || rng.chance(920);
    let rd_facilities = boundary.is_some() || rng.chance(500);
    let rd_stable_funding = boundary.is_some() || (rd_facilities && rng.chance(780));
    let outside_units = if plain {
        let base: i32 = *rng.weighted(&[(0, 80), (1, 70), (2, 250), (4, 200), (8, 250), (20, 150)]);
        if base >= 2 {
            base + i32::try_from(rng.below(3)).unwrap_or(0)
        } else {
            base
        }
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
    let mut dishonest = plain && rng.chance(8);

    // Later history (2023 to 2025) for ordinary enterprises already in Hangzhou.
    let window_start = (registered_on + Duration::days(1)).max(date(2023, 1, 1)?);
    if plain && !moved_in && !back_and_forth && window_start < events_to {
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
                changes: ChangesInput::default(),
            });
        } else if owns_office && rng.chance(25) {
            events.push(PlannedEvent {
                on: rng.date_between(window_start, events_to),
                kind: EventKind::OfficeDisposed,
                changes: ChangesInput::default(),
            });
        }
        if rng.chance(15) {
            initial_name = unique_name(rng, "实业", "有限公司", names);
            events.push(PlannedEvent {
                on: rng.date_between(window_start, events_to),
                kind: EventKind::Renamed,
                changes: ChangesInput {
                    name: Some(name.clone()),
                    ..ChangesInput::default()
                },
            });
        }
        if rng.chance(20) {
            let capital = Money::from_fen(registered_capital_fen * 2).to_decimal();
            events.push(PlannedEvent {
                on: rng.date_between(window_start, events_to),
                kind: EventKind::CapitalChanged,
                changes: ChangesInput {
                    registered_capital: Some(Some(capital)),
                    ..ChangesInput::default()
                },
            });
        }
        if listing_exchange.is_none() && rng.chance(20) {
            let exchange = rng.weighted(&EXCHANGES[..6]).to_string();
            events.push(PlannedEvent {
                on: rng.date_between(window_start, events_to),
                kind: EventKind::FactsUpdated,
                changes: ChangesInput {
                    listing_exchange: Some(Some(exchange)),
                    listed_entity_in_hangzhou: Some(true),
                    ..ChangesInput::default()
                },
            });
        }
        if ownership == "PRIVATE" && rng.chance(10) {
            let new_kind = rng.pick(&["CENTRAL_SOE", "OTHER_SOE", "FOREIGN"]);
            initial_ownership = "PRIVATE";
            events.push(PlannedEvent {
                on: rng.date_between(window_start, events_to),
                kind: EventKind::EquityTransferred,
                changes: ChangesInput {
                    ownership: Some(new_kind.to_string()),
                    ..ChangesInput::default()
                },
            });
        }
        if !industrial_guidance && rng.chance(150) {
            events.push(PlannedEvent {
                on: rng.date_between(window_start, events_to),
                kind: EventKind::FactsUpdated,
                changes: ChangesInput {
                    industrial_guidance: Some(true),
                    ..ChangesInput::default()
                },
            });
        }
        if !dishonest && rng.chance(12) {
            events.push(PlannedEvent {
                on: rng.date_between(window_start, events_to),
                kind: EventKind::FactsUpdated,
                changes: ChangesInput {
                    dishonest: Some(true),
                    ..ChangesInput::default()
                },
            });
        }
        if rng.chance(5) {
            // After every other event (those end on 2025-09-30).
            events.push(PlannedEvent {
                on: rng.date_between(date(2025, 10, 1)?, date(2025, 11, 30)?),
                kind: EventKind::Dissolved,
                changes: ChangesInput::default(),
            });
        }
    } else {
        dishonest = dishonest && !moved_in;
    }
    // Stable: events of one day keep the order they were planned in.
    events.sort_by_key(|e| e.on);

    let register = RegisterInput {
        credit_code,
        registered_on: Some(registered_on),
        name: initial_name,
        district_code: initial_district.map(str::to_string),
        hangzhou_since: initial_since,
        industry_code: industry_code.to_string(),
        ownership: initial_ownership.to_string(),
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
        registered_capital: Some(Money::from_fen(registered_capital_fen).to_decimal()),
        note: Some("demo data".into()),
    };
    Ok(Plan {
        figures: figures(rng, rank, boundary, hangzhou_since, rd_facilities),
        register,
        events,
    })
}

fn district_other_than(rng: &mut Rng, district: &str) -> &'static str {
    let others: Vec<&'static str> = DISTRICT_WEIGHTS
        .iter()
        .map(|(code, _)| *code)
        .filter(|code| *code != district)
        .collect();
    rng.pick(&others)
}

/// Yearly figures from the year the enterprise is in Hangzhou, 2022 to 2025.
fn figures(
    rng: &mut Rng,
    rank: usize,
    boundary: Option<(i64, i64, bool)>,
    in_hangzhou_from: NaiveDate,
    rd_facilities: bool,
) -> Vec<(i32, i64, i64)> {
    let tier = match rank {
        0..12 => GIANT,
        12..62 => BIG,
        62..300 => MID,
        300..450 => LOWER_MID,
        _ => SMALL,
    };
    let mut revenue = revenue_in_tier(rng, tier);
    let rd_heavy = rd_facilities && rng.chance(300);
    let base_ratio = if rd_heavy {
        rng.between(100, 280)
    } else {
        rng.between(3, 80)
    };
    let mut result = Vec::new();
    for year in FIGURE_YEARS {
        if year > *FIGURE_YEARS.start() {
            // The largest grow more slowly, so the tiers stay apart from year to year.
            let growth = match rank {
                0..62 => rng.between(-40, 80),
                62..300 => rng.between(-40, 100),
                _ => rng.between(-60, 180),
            };
            revenue = grow(revenue, growth);
        }
        let ratio = (base_ratio + rng.between(-10, 10)).max(1);
        let mut rd = grow(revenue, ratio - 1000);
        let mut year_revenue = revenue;
        // The boundary cases hold their figures in the years that matter (2023 and 2024).
        if (2023..=2024).contains(&year) {
            match (boundary, rank) {
                (Some((r, d, _)), _) => {
                    year_revenue = r;
                    rd = d;
                }
                (None, 0) => year_revenue = 10_000_000_000_000,
                (None, 11) => year_revenue = 9_999_999_999_999,
                (None, 12) => year_revenue = 1_000_000_000_000,
                (None, 13) => year_revenue = 999_999_999_999,
                _ => {}
            }
            if boundary.is_none() && rank <= 13 {
                rd = grow(year_revenue, 30 - 1000);
            }
        }
        if year >= in_hangzhou_from.year() {
            result.push((year, year_revenue, rd));
        }
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_plan_is_the_same_every_time() {
        let a = plan().unwrap();
        let b = plan().unwrap();
        assert_eq!(a.len(), DEMO_ENTERPRISES);
        let codes = |plans: &[Plan]| -> Vec<String> {
            plans
                .iter()
                .map(|p| p.register.credit_code.clone())
                .collect()
        };
        assert_eq!(codes(&a), codes(&b));
        let unique: HashSet<String> = codes(&a).into_iter().collect();
        assert_eq!(unique.len(), DEMO_ENTERPRISES);
    }

    #[test]
    fn every_planned_credit_code_is_valid() {
        for plan in plan().unwrap() {
            assert!(CreditCode::parse(&plan.register.credit_code).is_ok());
        }
    }

    #[test]
    fn the_revenue_spread_has_giants_and_ten_billion_enterprises() {
        let plans = plan().unwrap();
        let revenue_2023: Vec<i64> = plans
            .iter()
            .filter_map(|p| p.figures.iter().find(|f| f.0 == 2023).map(|f| f.1))
            .collect();
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
                .filter_map(|p| p.figures.iter().find(|f| f.0 == year))
                .filter(|f| f.1 >= 10_000_000_000_000)
                .count();
            assert!((8..=14).contains(&giants), "{year}: {giants}");
        }
    }

    #[test]
    fn splitmix_is_deterministic() {
        let mut a = Rng(1);
        let mut b = Rng(1);
        for _ in 0..100 {
            assert_eq!(a.next(), b.next());
        }
    }
}
