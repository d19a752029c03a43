//! The demo's yearly figures: revenue tiers, the revenue of each year as an enterprise's fate needs
//! it, and the R&D spend beside it.

use chrono::{Datelike, NaiveDate};

use super::FIGURE_YEARS;
use super::generator::Rng;
use super::planner::{Failure, Fate, LARGEST, Path};

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

pub(super) const FEN_PER_MILLION: i64 = 100_000_000;

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

/// 1,000,000,000.00 yuan in fen: the §3.2 threshold for enterprises in Hangzhou before 2022.
pub(super) const BILLION: i64 = 100_000_000_000;

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
pub(super) fn figures(
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
