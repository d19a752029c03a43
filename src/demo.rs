//! The demo data set of `hq-api demo-data`: a newcomer sees real answers at once.
//!
//! - **Registry**: 700 enterprises across the 13 districts, with a few years of §19 history
//!   (moves into and between districts, office purchases, renamings, listings, ...) and yearly
//!   figures for 2022–2025: 11 above 100 billion yuan of revenue, about 60 above 10 billion, and
//!   some exactly on or just under the thresholds of §3 so that the boundaries show in verdicts.
//! - **Recognition** (`demo/rounds.rs`): the rounds of 2023, 2024 and 2025, decided on 2023-06-30,
//!   2024-06-28 and 2025-06-27 by the real rules; the facts are planned so that they recognise
//!   the published numbers, 468 HQs for 2023 and 643 for 2024 (175 more), with 20 five-star,
//!   30 four-star and 50 three-star HQs in 2024. Three titles are revoked, star rewards are
//!   granted for 2023 and 2024, and some enterprises stay ineligible on purpose (a little under
//!   the revenue threshold, an excluded industry or ownership, dishonest, ...).
//! - **§20** (`demo/settlement.rs`): the districts' rent and purchase subsidies for 2023–2025, with
//!   lines that trip every reason code of the reconciliation; the 2023 claims reconciled, settled
//!   and approved (with an audit finding carried into 2024), the 2024 claims submitted and
//!   waiting for the finance bureau, the 2025 lines reported.
//!
//! Deterministic: everything comes from a fixed-seed splitmix64 generator and fixed dates, and
//! every write is recorded by a fixed subject ([`DEMO_ACTOR`](crate::demo::DEMO_ACTOR),
//! `system:demo:<district>` for the districts), so every database gets the same data.
//! Idempotent: each step notices what is already there, so a second run adds nothing (and a run
//! that stopped half-way is completed).
//! Everything goes through the same service functions as the API (validation, rules, hashes,
//! audit). The registry is written in one transaction, the recognition rounds in another; the
//! §20 steps use the services' own transactions.

mod rounds;
mod settlement;

use std::collections::{HashMap, HashSet};

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

/// The token subject the demo data is recorded by (districts: `system:demo:<code>`).
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

/// splitmix64's finaliser: a well-spread number for a key, without a generator's state (so a
/// part of the demo can draw its own numbers in any order).
fn mix(key: u64) -> u64 {
    let mut z = key.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
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
/// Above the 1 billion of §3.2 with room to shrink a little from year to year.
const MID: &[i64] = &[1_200, 1_500, 2_000, 3_000, 4_500, 7_000];
/// New enterprises (in Hangzhou since 2022 or later) pass at 500 million.
const NEW_MID: &[i64] = &[600, 700, 800, 900, 990];
/// R&D-intensive enterprises under 1 billion (the RD route).
const RD_MID: &[i64] = &[550, 650, 750, 850, 950];
/// Listed enterprises under 1 billion (the LISTED route).
const LISTED_MID: &[i64] = &[350, 500, 650, 800, 950];

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

/// Industry classes the default `recognition.excluded_industries` excludes (of [`INDUSTRIES`]).
const EXCLUDED_INDUSTRIES: [&str; 3] = ["6621", "7010", "4420"];

/// Ownership kinds the default `recognition.excluded_ownership` excludes.
const EXCLUDED_OWNERSHIP: [&str; 3] = ["PROVINCIAL_SOE", "MUNICIPAL_SOE", "DISTRICT_SOE"];

/// How an enterprise fares in the demo's recognition rounds. The plan draws its facts to match,
/// so that the real rules recognise the published numbers (see [`FATES`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
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
enum Path {
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
enum Failure {
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
const LARGEST: usize = 62;

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
    /// `(year, revenue fen, R&D fen)`.
    figures: Vec<(i32, i64, i64)>,
    fate: Fate,
}

impl Plan {
    fn code(&self) -> &str {
        &self.register.credit_code
    }

    fn registered_on(&self) -> NaiveDate {
        self.register
            .registered_on
            .or(self.register.hangzhou_since)
            .unwrap_or(NaiveDate::MIN)
    }

    /// The district registered in on `day` (`None` before registration or outside Hangzhou).
    fn district_on(&self, day: NaiveDate) -> Option<&str> {
        if day < self.registered_on() {
            return None;
        }
        let mut district = self.register.district_code.as_deref();
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
    fn stays_put(&self, first: NaiveDate, last: NaiveDate) -> bool {
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
    fn owns_office_on(&self, day: NaiveDate) -> bool {
        let mut owns = self.register.owns_office && day >= self.registered_on();
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
    fn owns_office_during(&self, first: NaiveDate, last: NaiveDate) -> bool {
        self.owns_office_on(first)
            || self
                .events
                .iter()
                .any(|e| e.kind == EventKind::OfficeAcquired && first <= e.on && e.on <= last)
    }

    /// The days it acquired office premises on.
    fn office_acquisitions(&self) -> impl Iterator<Item = NaiveDate> + '_ {
        self.events
            .iter()
            .filter(|e| e.kind == EventKind::OfficeAcquired)
            .map(|e| e.on)
    }

    /// Whether any office event (acquisition or disposal) is planned.
    fn has_office_events(&self) -> bool {
        self.events.iter().any(|e| {
            matches!(
                e.kind,
                EventKind::OfficeAcquired | EventKind::OfficeDisposed
            )
        })
    }

    /// The district move on a day of `first..=last`, if any: `(day, from, to)`.
    fn move_between(&self, first: NaiveDate, last: NaiveDate) -> Option<(NaiveDate, &str, &str)> {
        let event = self
            .events
            .iter()
            .find(|e| e.kind == EventKind::MovedDistrict && first <= e.on && e.on <= last)?;
        let from = self.district_on(event.on.pred_opt()?)?;
        let to = self.district_on(event.on)?;
        Some((event.on, from, to))
    }

    /// Revenue of `year` in fen, if recorded.
    fn revenue(&self, year: i32) -> Option<i64> {
        self.figures.iter().find(|f| f.0 == year).map(|f| f.1)
    }

    /// Eligible in every round from 2023 on (unless the demo revokes its title).
    fn steady(&self) -> bool {
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

/// Enterprises of the demo worth looking at first, by credit code.
#[derive(Debug, Clone)]
pub struct Notable {
    /// In Hangzhou before 2022 with a revenue of 999,999,999.99 in 2022–2024: fails
    /// `REVENUE_THRESHOLD` (§3.2) by one fen, and every other route.
    pub one_fen_short: String,
    /// Exactly 1,000,000,000.00: passes `REVENUE_THRESHOLD` (（含）).
    pub exactly_at_threshold: String,
    /// Never eligible, with a revenue a little under 1 billion (the gap shows in the verdict).
    pub below_revenue_threshold: Vec<String>,
    /// A provincial, municipal or district SOE (`NOT_EXCLUDED_SOE` fails).
    pub excluded_soe: Vec<String>,
    /// An excluded industry (`INDUSTRY_NOT_EXCLUDED` fails).
    pub excluded_industry: Vec<String>,
    /// On the serious dishonesty list (`NOT_DISHONEST` fails).
    pub dishonest: Vec<String>,
}

/// Notable demo enterprises (computed from the plan; no database needed).
///
/// # Errors
/// An internal error if the plan cannot be computed (a bug).
pub fn notable() -> AppResult<Notable> {
    let plans = plan()?;
    let codes = |wanted: Failure| -> Vec<String> {
        plans
            .iter()
            .filter(|p| p.fate == Fate::Never(wanted))
            .map(|p| p.code().to_string())
            .collect()
    };
    let boundary = |revenue: i64, new: bool| -> AppResult<String> {
        plans
            .iter()
            .find(|p| {
                p.fate == Fate::Boundary
                    && p.revenue(2023) == Some(revenue)
                    && p.register.hangzhou_since.is_some_and(|d| d.year() >= 2022) == new
            })
            .map(|p| p.code().to_string())
            .ok_or_else(|| AppError::internal("a demo boundary case is missing"))
    };
    Ok(Notable {
        one_fen_short: boundary(99_999_999_999, false)?,
        exactly_at_threshold: boundary(100_000_000_000, false)?,
        below_revenue_threshold: codes(Failure::BelowRevenue),
        excluded_soe: codes(Failure::ExcludedOwnership),
        excluded_industry: codes(Failure::ExcludedIndustry),
        dishonest: codes(Failure::Dishonest),
    })
}

/// The actor of the HQ office's and the finance bureau's demo decisions.
fn demo_actor(role: Role) -> Actor {
    Actor {
        sub: DEMO_ACTOR.into(),
        role,
        district: None,
    }
}

/// Loads the demo data (or completes a partial load); returns a one-line summary with counts.
///
/// # Errors
/// Database errors; an internal error if the generated data fails validation (a bug).
pub async fn load(db: &DatabaseConnection) -> AppResult<String> {
    let started = std::time::Instant::now();
    let plans = plan()?;
    let mut wrote = load_registry(db, &plans).await?;
    tracing::info!(elapsed = ?started.elapsed(), "demo: registry");
    let index = plan_index(db, &plans).await?;
    wrote |= rounds::run(db, &plans).await?;
    tracing::info!(elapsed = ?started.elapsed(), "demo: recognition rounds");
    wrote |= settlement::run(db, &plans, &index).await?;
    tracing::info!(elapsed = ?started.elapsed(), "demo: payments, claims and settlement");
    let what = if wrote {
        "demo data loaded"
    } else {
        "demo data already present"
    };
    summary(db, what).await
}

/// The registry, in one transaction; nothing if the demo enterprises are there already.
async fn load_registry(db: &DatabaseConnection, plans: &[Plan]) -> AppResult<bool> {
    if demo_enterprise_count(db).await? > 0 {
        return Ok(false);
    }
    let actor = demo_actor(Role::HqOffice);
    let txn = begin_write(db).await?;
    for plan in plans {
        let code = plan.code().to_string();
        enterprises::register_in(&txn, &actor, plan.register.clone())
            .await
            .map_err(|e| demo_error(&code, e))?;
        for event in &plan.events {
            let input = EventInput {
                credit_code: code.clone(),
                kind: event.kind,
                effective_date: event.on,
                changes: event.changes.clone(),
                note: Some("demo data".into()),
            };
            enterprises::record_event_in(&txn, &actor, input)
                .await
                .map_err(|e| demo_error(&code, e))?;
        }
        for &(year, revenue, rd) in &plan.figures {
            let revenue = Money::from_fen(revenue).to_decimal();
            let rd = Money::from_fen(rd).to_decimal();
            enterprises::record_figures_in(&txn, &actor, &code, year, revenue, rd)
                .await
                .map_err(|e| demo_error(&code, e))?;
        }
    }
    txn.commit().await?;
    Ok(true)
}

/// Enterprise id → index of its plan.
async fn plan_index<C: ConnectionTrait>(
    conn: &C,
    plans: &[Plan],
) -> AppResult<HashMap<i64, usize>> {
    let by_code: HashMap<&str, usize> = plans
        .iter()
        .enumerate()
        .map(|(i, p)| (p.code(), i))
        .collect();
    Ok(enterprise_rows::Entity::find()
        .filter(enterprise_rows::Column::CreatedBy.eq(DEMO_ACTOR))
        .all(conn)
        .await?
        .into_iter()
        .filter_map(|e| by_code.get(e.credit_code.as_str()).map(|&i| (e.id, i)))
        .collect())
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
    let rounds = rounds::summary(conn).await?;
    let money = settlement::summary(conn).await?;
    Ok(format!(
        "{what}: {enterprises} enterprises, {events} events, {figures} yearly figures ({}-{}); \
         {rounds}; {money}",
        FIGURE_YEARS.start(),
        FIGURE_YEARS.end()
    ))
}

/// The whole registry, computed before anything is written.
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
        let into_district = || ChangesInput {
            district_code: Some(Some(district.to_string())),
            ..ChangesInput::default()
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
                    changes: ChangesInput::default(),
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
            i32::try_from(rng.below(2)).unwrap_or(0)
        } else if path == Some(Path::OutsideUnits) {
            1
        } else if plain {
            let base: i32 = *rng.weighted(&[(2, 250), (4, 200), (8, 250), (20, 150)]);
            base + i32::try_from(rng.below(3)).unwrap_or(0)
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
        let turn = |rng: &mut Rng, changes: ChangesInput| -> PlannedEvent {
            PlannedEvent {
                on: rng.date_between(turning.0.max(registered_on + Duration::days(1)), turning.1),
                kind: EventKind::FactsUpdated,
                changes,
            }
        };
        match (fate, path) {
            (_, Some(Path::Guidance)) => events.push(turn(
                rng,
                ChangesInput {
                    industrial_guidance: Some(true),
                    ..ChangesInput::default()
                },
            )),
            (_, Some(Path::OutsideUnits)) => {
                let units = i32::try_from(rng.between(2, 4)).unwrap_or(2);
                events.push(turn(
                    rng,
                    ChangesInput {
                        outside_units: Some(units),
                        ..ChangesInput::default()
                    },
                ));
            }
            (_, Some(Path::Listing)) => {
                let exchange = rng.weighted(&EXCHANGES[..6]).to_string();
                events.push(turn(
                    rng,
                    ChangesInput {
                        listing_exchange: Some(Some(exchange)),
                        listed_entity_in_hangzhou: Some(true),
                        ..ChangesInput::default()
                    },
                ));
            }
            (Fate::TurnsDishonest { from }, _) => events.push(PlannedEvent {
                on: rng.date_between(date(from - 1, 7, 15)?, date(from, 3, 31)?),
                kind: EventKind::FactsUpdated,
                changes: ChangesInput {
                    dishonest: Some(true),
                    ..ChangesInput::default()
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
                initial_name = unique_name(rng, "实业", "有限公司", self.names);
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
            if may_list && listing_exchange.is_none() && rng.chance(20) {
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
                // None of these is excluded: the fate stands.
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
            if rng.chance(5) {
                // After every other event (those end on 2025-09-30) and after every round.
                events.push(PlannedEvent {
                    on: rng.date_between(date(2025, 10, 1)?, date(2025, 11, 30)?),
                    kind: EventKind::Dissolved,
                    changes: ChangesInput::default(),
                });
            }
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

/// 1,000,000,000.00 yuan in fen: the §3.2 threshold for enterprises in Hangzhou before 2022.
const BILLION: i64 = 100_000_000_000;

/// Revenue of every year 2022–2025 (before the R&D), as the fate needs it.
fn revenues(rng: &mut Rng, rank: usize, fate: Fate) -> [i64; 4] {
    let path = match fate {
        Fate::Eligible { path, .. } => Some(path),
        _ => None,
    };
    let tier = match (rank, path) {
        (0..12, _) => GIANT,
        (12..62, _) => BIG,
        (_, Some(Path::Rd)) => RD_MID,
        (_, Some(Path::Listed | Path::Listing)) => LISTED_MID,
        (_, Some(Path::Arrival)) if rng.chance(500) => NEW_MID,
        (_, _) if fate == Fate::Boundary => NEW_MID,
        _ => MID,
    };
    let mut years = [0_i64; 4];
    let mut revenue = revenue_in_tier(rng, tier);
    for (k, slot) in years.iter_mut().enumerate() {
        if k > 0 {
            // The largest grow more slowly, so the tiers stay apart from year to year.
            let growth = if rank < LARGEST {
                rng.between(-40, 80)
            } else {
                rng.between(-30, 120)
            };
            revenue = grow(revenue, growth);
        }
        *slot = revenue;
    }
    match (fate, path) {
        (Fate::Never(Failure::BelowRevenue), _) => {
            // A little under 1 billion every year: the gap shows in the verdict.
            for slot in &mut years {
                *slot = BILLION / 1000 * rng.between(900, 995) + rng.between(0, FEN_PER_MILLION);
            }
        }
        (_, Some(Path::Listed | Path::Listing)) => {
            for slot in &mut years {
                if *slot >= BILLION - 10 * FEN_PER_MILLION {
                    *slot = BILLION - rng.between(20, 120) * FEN_PER_MILLION;
                }
            }
        }
        (Fate::Eligible { from, .. }, Some(Path::Revenue)) => {
            // Over 1 billion in the year before the round `from`, under it before.
            let first_over = usize::try_from(from - 1 - FIGURE_YEARS.start()).unwrap_or(1);
            let mut over = rng.between(1_050, 1_800) * FEN_PER_MILLION;
            for (k, slot) in years.iter_mut().enumerate().skip(first_over) {
                if k > first_over {
                    over = grow(over, rng.between(0, 120));
                }
                *slot = over;
            }
            let mut under = BILLION / 1000 * rng.between(820, 985);
            for slot in years[..first_over].iter_mut().rev() {
                *slot = under;
                under = grow(under, -rng.between(10, 120));
            }
        }
        _ => {}
    }
    years
}

/// Yearly figures from the year the enterprise is in Hangzhou, 2022 to 2025.
fn figures(
    rng: &mut Rng,
    rank: usize,
    fate: Fate,
    boundary: Option<(i64, i64, bool)>,
    in_hangzhou_from: NaiveDate,
    rd_heavy: bool,
) -> Vec<(i32, i64, i64)> {
    let revenues = revenues(rng, rank, fate);
    let base_ratio = if rd_heavy {
        rng.between(130, 250)
    } else {
        rng.between(3, 80)
    };
    let mut result = Vec::new();
    for (year, revenue) in FIGURE_YEARS.zip(revenues) {
        let ratio = (base_ratio + rng.between(-10, 10)).max(1);
        let mut rd = grow(revenue, ratio - 1000);
        let mut year_revenue = revenue;
        // The boundary cases hold their figures in the years that matter (2022 to 2024), the
        // largest theirs in 2023 and 2024 (the §1 revenue classes of the 2024 and 2025 rounds).
        match (boundary, rank) {
            (Some((r, d, _)), _) if year <= 2024 => {
                year_revenue = r;
                rd = d;
            }
            (None, 0) if (2023..=2024).contains(&year) => year_revenue = 10_000_000_000_000,
            (None, 11) if (2023..=2024).contains(&year) => year_revenue = 9_999_999_999_999,
            (None, 12) if (2023..=2024).contains(&year) => year_revenue = 1_000_000_000_000,
            (None, 13) if (2023..=2024).contains(&year) => year_revenue = 999_999_999_999,
            _ => {}
        }
        if boundary.is_none() && rank <= 13 && (2023..=2024).contains(&year) {
            rd = grow(year_revenue, 30 - 1000);
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
            .find(|p| !p.register.owns_office && p.office_acquisitions().next().is_some())
            .unwrap();
        let bought = buyer.office_acquisitions().next().unwrap();
        assert!(!buyer.owns_office_on(bought.pred_opt().unwrap()));
        assert!(buyer.owns_office_on(bought));
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
