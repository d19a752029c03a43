//! The yearly round (§3, §4): the verdict of every enterprise in the registry on the decision
//! date, for a recognition year, in credit-code order, each equal to what
//! [`super::recognize::evaluate`] answers for it. Nothing is stored: the HQ office reviews the
//! round, then recognises the eligible ones one by one.
//!
//! The round is read a chunk at a time (one statement per chunk, whatever its size: the
//! enterprises with their facts, figures and revocations) and decided in memory
//! under the policy of [`PolicyCache`], so a caller can stream it without holding it; the next
//! chunk is read while one is decided.

use chrono::NaiveDate;
use sea_orm::{ConnectionTrait, TransactionTrait};

use super::inputs::{self, PageBounds, PolicyCache, PolicySnapshot};
use super::recognize::{Evaluation, decide};
use crate::auth::Actor;
use crate::error::{AppError, AppResult};
use crate::services::keyset::{Direction, KeyPart, Page, PageRequest};

/// Enterprises per chunk of [`Round::next_chunk`].
pub const CHUNK: u64 = 2_000;

/// The inputs of one chunk as read, with the policy generation they were read under.
type ChunkInputs = (Vec<inputs::Inputs>, Option<inputs::Generation>);

/// A round being read. The next chunk's inputs are read while the current one is decided (a
/// spawned task on its own pooled connection), so the database and the rules work side by side.
pub struct Round<C: ConnectionTrait + TransactionTrait + Clone + Send + Sync + 'static> {
    conn: C,
    policy: PolicyCache,
    district: Option<String>,
    year: i32,
    decided_on: NaiveDate,
    next: Option<tokio::task::JoinHandle<AppResult<ChunkInputs>>>,
}

impl<C: ConnectionTrait + TransactionTrait + Clone + Send + Sync + 'static> Round<C> {
    /// Starts the round of `year` decided on `decided_on`, as `actor` may see it: a `DISTRICT`
    /// actor gets the enterprises registered in its district today, as `evaluateRecognition`
    /// lets it ask about.
    ///
    /// # Errors
    /// `POLICY_VIOLATION` (`§final`) for a year outside the policy's rounds or a decision date no
    /// rule set is in force on, before anything is read; database errors.
    pub async fn start(
        conn: C,
        policy: PolicyCache,
        actor: &Actor,
        year: i32,
        decided_on: NaiveDate,
    ) -> AppResult<Round<C>> {
        check(&*current(&conn, &policy).await?, year, decided_on)?;
        let mut round = Round {
            conn,
            policy,
            district: actor.district_scope().map(str::to_owned),
            year,
            decided_on,
            next: None,
        };
        round.next = Some(round.read_after(None));
        Ok(round)
    }

    /// Starts reading the chunk after `after`.
    fn read_after(&self, after: Option<String>) -> tokio::task::JoinHandle<AppResult<ChunkInputs>> {
        let conn = self.conn.clone();
        let district = self.district.clone();
        let (year, decided_on) = (self.year, self.decided_on);
        tokio::spawn(async move {
            let bounds = PageBounds {
                after,
                before: None,
                backward: false,
                limit: CHUNK,
            };
            inputs::of_chunk(&conn, year, decided_on, district.as_deref(), &bounds).await
        })
    }

    /// The verdicts of the next enterprises (at most [`CHUNK`]); `None` once the round is over.
    ///
    /// # Errors
    /// Database errors; a verdict's policy error.
    pub async fn next_chunk(&mut self) -> AppResult<Option<Vec<Evaluation>>> {
        let Some(reading) = self.next.take() else {
            return Ok(None);
        };
        let (rows, generation) = reading.await.map_err(AppError::internal)??;
        let (Some(last), Some(generation)) = (rows.last(), generation) else {
            return Ok(None);
        };
        if rows.len() as u64 == CHUNK {
            self.next = Some(self.read_after(Some(last.credit_code.clone())));
        }
        decide_all(
            &self.conn,
            &self.policy,
            rows,
            generation,
            self.year,
            self.decided_on,
        )
        .await
        .map(Some)
    }
}

impl<C: ConnectionTrait + TransactionTrait + Clone + Send + Sync + 'static> Drop for Round<C> {
    /// A round dropped before its end (a client gone mid-download) stops its read ahead.
    fn drop(&mut self) {
        if let Some(reading) = self.next.take() {
            reading.abort();
        }
    }
}

/// One page of the round (a Relay connection's page), as [`Round::start`] scopes it.
///
/// # Errors
/// As [`Round::start`] and [`Round::next_chunk`].
pub async fn page<C: ConnectionTrait>(
    conn: &C,
    policy: &PolicyCache,
    actor: &Actor,
    year: i32,
    decided_on: NaiveDate,
    request: &PageRequest,
) -> AppResult<Page<Evaluation>> {
    check(&*current(conn, policy).await?, year, decided_on)?;
    let text = |key: &Option<Vec<KeyPart>>| match key.as_deref() {
        Some([KeyPart::Text(code)]) => Ok(Some(code.clone())),
        Some(_) => Err(AppError::internal("a round cursor is one credit code")),
        None => Ok(None),
    };
    let bounds = PageBounds {
        after: text(&request.after)?,
        before: text(&request.before)?,
        backward: request.direction == Direction::Backward,
        limit: request.size.saturating_add(1),
    };
    let rows = decided_page(
        conn,
        policy,
        year,
        decided_on,
        actor.district_scope(),
        &bounds,
    )
    .await?;
    Ok(crate::services::keyset::finish(rows, request, |e| {
        vec![KeyPart::Text(e.credit_code.clone())]
    }))
}

/// How many enterprises the round of `decided_on` holds for `actor`: those in the registry on
/// that date (a `DISTRICT` actor: registered in its district today).
///
/// # Errors
/// Database errors.
pub async fn count<C: ConnectionTrait>(
    conn: &C,
    actor: &Actor,
    decided_on: NaiveDate,
) -> AppResult<u64> {
    inputs::count_members(conn, decided_on, actor.district_scope()).await
}

/// The policy as the database holds it now.
async fn current<C: ConnectionTrait>(
    conn: &C,
    policy: &PolicyCache,
) -> AppResult<std::sync::Arc<PolicySnapshot>> {
    let generation = inputs::generation(conn).await?;
    policy.snapshot(conn, generation).await
}

/// The refusals of a whole round, before any enterprise is read: no rule set in force on the
/// decision date, unreadable parameters, or a year outside the policy's rounds.
fn check(policy: &PolicySnapshot, year: i32, decided_on: NaiveDate) -> AppResult<()> {
    Ok(policy
        .on(decided_on)?
        .policy
        .params()
        .ensure_round_year(year)?)
}

/// The verdicts of the enterprises `bounds` selects, in the order read.
async fn decided_page<C: ConnectionTrait>(
    conn: &C,
    policy: &PolicyCache,
    year: i32,
    decided_on: NaiveDate,
    district: Option<&str>,
    bounds: &PageBounds,
) -> AppResult<Vec<Evaluation>> {
    let (rows, generation) = inputs::of_page(conn, year, decided_on, district, bounds).await?;
    let Some(generation) = generation else {
        return Ok(Vec::new());
    };
    decide_all(conn, policy, rows, generation, year, decided_on).await
}

/// The verdicts on `rows`, read under `generation`, in their order.
async fn decide_all<C: ConnectionTrait>(
    conn: &C,
    policy: &PolicyCache,
    rows: Vec<inputs::Inputs>,
    generation: inputs::Generation,
    year: i32,
    decided_on: NaiveDate,
) -> AppResult<Vec<Evaluation>> {
    let snapshot = policy.snapshot(conn, generation).await?;
    // Deciding is CPU work (about 4 µs a verdict in the rules, mostly writing the texts of
    // their figures), done while the database reads the next chunk: split over the machine's
    // cores, it is not the round's bottleneck on one core while the others wait.
    let threads = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    map_in_parts(rows, threads, |inputs| {
        decide(&snapshot, inputs, year, decided_on)
    })
}

/// `f` of each of `items`, in their order: up to `threads` consecutive parts at once, this
/// thread taking the first and one scoped thread each of the others. Fewer than
/// [`PARALLEL_MIN`] items are done on this thread alone. The first error (in item order among
/// the parts' first errors) is returned.
fn map_in_parts<T: Send, U: Send>(
    items: Vec<T>,
    threads: usize,
    f: impl Fn(T) -> AppResult<U> + Sync,
) -> AppResult<Vec<U>> {
    let run = |part: Vec<T>| -> AppResult<Vec<U>> { part.into_iter().map(&f).collect() };
    if threads < 2 || items.len() < PARALLEL_MIN {
        return run(items);
    }
    let per_part = items.len().div_ceil(threads);
    let mut parts = crate::services::owned_chunks(items, per_part);
    let first = parts.next().unwrap_or_default();
    let done: Vec<AppResult<Vec<U>>> =
        std::thread::scope(|scope| {
            let others: Vec<_> = parts.map(|part| scope.spawn(|| run(part))).collect();
            let mut done = vec![run(first)];
            for other in others {
                done.push(other.join().unwrap_or_else(|_| {
                    Err(AppError::internal("a round's decision thread panicked"))
                }));
            }
            done
        });
    let mut all = Vec::new();
    for part in done {
        all.extend(part?);
    }
    Ok(all)
}

/// Chunks smaller than this are decided on one thread: a thread costs more than it saves.
const PARALLEL_MIN: usize = 256;

/// The columns of the round's CSV export, one row per enterprise.
pub const CSV_HEADER: [&str; 12] = [
    "credit_code",
    "name",
    "district_code",
    "year",
    "decided_on",
    "rule_set",
    "eligible",
    "route",
    "needs_review",
    "ban_until",
    "failed_rules",
    "reasons",
];

/// Rows of the round's CSV export, in the conventions of every CSV export (README, "CSV
/// exports"): CRLF line ends, the credit code after a tab so a spreadsheet keeps it as text, a
/// name that a spreadsheet would read as a formula behind an apostrophe. With `header`, the
/// byte-order mark and the header row come first. `failed_rules` lists the rule ids that did
/// not pass, in table order; `reasons` each of them with its clause and figures.
///
/// # Errors
/// Internal error if writing fails.
pub fn csv_rows(rows: &[Evaluation], header: bool) -> AppResult<Vec<u8>> {
    let start = if header {
        b"\xEF\xBB\xBF".to_vec()
    } else {
        Vec::new()
    };
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(start);
    if header {
        writer
            .write_record(CSV_HEADER)
            .map_err(AppError::internal)?;
    }
    for row in rows {
        let verdict = &row.verdict;
        let failed = verdict
            .failed
            .iter()
            .map(|rule| rule.as_str())
            .collect::<Vec<_>>()
            .join(" ");
        let reasons = verdict
            .rules
            .iter()
            .filter(|r| !r.passed)
            .map(|r| format!("{} {}: {}", r.clause.as_str(), r.rule.as_str(), r.detail))
            .collect::<Vec<_>>()
            .join("; ");
        writer
            .write_record([
                format!("\t{}", row.credit_code),
                crate::services::export::text_cell(&row.name),
                row.district_code.clone().unwrap_or_default(),
                verdict.year.to_string(),
                verdict.decided_on.to_string(),
                row.rule_set.rule_set.code.clone(),
                verdict.eligible.to_string(),
                verdict
                    .route
                    .map(|r| r.as_str().to_owned())
                    .unwrap_or_default(),
                verdict.needs_review.to_string(),
                verdict.ban_until.map(|d| d.to_string()).unwrap_or_default(),
                failed,
                crate::services::export::text_cell(&reasons),
            ])
            .map_err(AppError::internal)?;
    }
    writer.into_inner().map_err(AppError::internal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_keep_the_items_order_whatever_the_threads() {
        for len in [0, 1, PARALLEL_MIN - 1, PARALLEL_MIN, 1_000, 2_001] {
            let items: Vec<usize> = (0..len).collect();
            for threads in [1, 2, 3, 7] {
                let done = map_in_parts(items.clone(), threads, |i| Ok(i * 2)).unwrap();
                assert_eq!(done, items.iter().map(|i| i * 2).collect::<Vec<_>>());
            }
        }
    }

    #[test]
    fn the_first_failing_item_in_order_is_the_error() {
        let items: Vec<usize> = (0..1_000).collect();
        for threads in [1, 2, 4] {
            let error = map_in_parts(items.clone(), threads, |i| {
                if i == 700 || i == 900 {
                    Err(AppError::bad_input("item", format!("{i}")))
                } else {
                    Ok(i)
                }
            })
            .unwrap_err();
            assert!(error.to_string().contains("700"), "{threads}: {error}");
        }
    }
}
