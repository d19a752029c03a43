//! Timing, statement counting and memory readings of the benchmark harness.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sea_orm::DatabaseConnection;

/// Statements and their time, by kind (`INSERT line_verdicts`).
pub type ByKind = HashMap<String, (u64, Duration)>;

/// Counts the SQL statements a connection runs and the time spent in them, in all and by kind,
/// through sea-orm's metric callback (every statement, also inside transactions and streams).
#[derive(Debug, Default)]
pub struct Counter {
    statements: AtomicU64,
    nanos: AtomicU64,
    kinds: Mutex<ByKind>,
}

/// The kind of a statement: its verb and first table (`SELECT enterprise_facts`).
fn statement_kind(sql: &str) -> String {
    let words: Vec<&str> = sql.split_whitespace().take(64).collect();
    let verb = words.first().map_or(String::new(), |w| w.to_uppercase());
    // The first table named after `keyword`, looking through sub-queries (`FROM (SELECT …`).
    let after = |keyword: &str| {
        words
            .iter()
            .enumerate()
            .filter(|(_, w)| w.eq_ignore_ascii_case(keyword))
            .filter_map(|(i, _)| words.get(i + 1))
            .find(|w| !w.starts_with('('))
            .copied()
    };
    let table = match verb.as_str() {
        "INSERT" => after("INTO"),
        "UPDATE" | "LOCK" => words
            .get(1)
            .copied()
            .filter(|w| !w.eq_ignore_ascii_case("TABLE"))
            .or_else(|| words.get(2).copied()),
        "DELETE" | "SELECT" => after("FROM"),
        _ => None,
    };
    let table = table
        .unwrap_or("")
        .trim_matches(|c| c == '"' || c == '`' || c == '(');
    if table.is_empty() {
        verb
    } else {
        format!("{verb} {table}")
    }
}

impl Counter {
    /// Attaches a fresh counter to `db` (before it is cloned: clones share the callback),
    /// keeping the service's log of slow statements.
    pub fn attach(db: &mut DatabaseConnection) -> Arc<Counter> {
        let counter = Arc::new(Counter::default());
        let inner = Arc::clone(&counter);
        let slow = hq_api::config::Settings::default().db_slow_statement;
        hq_api::db::watch_statements(db, slow, move |info| {
            inner.statements.fetch_add(1, Ordering::Relaxed);
            let nanos = u64::try_from(info.elapsed.as_nanos()).unwrap_or(u64::MAX);
            inner.nanos.fetch_add(nanos, Ordering::Relaxed);
            if let Ok(mut kinds) = inner.kinds.lock() {
                let entry = kinds
                    .entry(statement_kind(&info.statement.sql))
                    .or_default();
                entry.0 += 1;
                entry.1 += info.elapsed;
            }
        });
        counter
    }

    /// Statements so far by kind.
    pub fn by_kind(&self) -> ByKind {
        self.kinds.lock().map(|k| k.clone()).unwrap_or_default()
    }

    /// Statements so far and the time spent in them.
    pub fn read(&self) -> (u64, Duration) {
        (
            self.statements.load(Ordering::Relaxed),
            Duration::from_nanos(self.nanos.load(Ordering::Relaxed)),
        )
    }
}

/// One timed run: wall time, and the statements it ran with their time.
#[derive(Debug, Clone, Copy)]
pub struct Run {
    /// Wall-clock time.
    pub wall: Duration,
    /// SQL statements run.
    pub statements: u64,
    /// Time spent inside those statements (as seen by the driver).
    pub sql: Duration,
}

/// A run being timed.
pub struct Probe<'a> {
    counter: &'a Counter,
    start: Instant,
    statements: u64,
    sql: Duration,
}

impl<'a> Probe<'a> {
    /// Starts timing.
    pub fn start(counter: &'a Counter) -> Self {
        let (statements, sql) = counter.read();
        Probe {
            counter,
            start: Instant::now(),
            statements,
            sql,
        }
    }

    /// Stops timing.
    pub fn stop(self) -> Run {
        let wall = self.start.elapsed();
        let (statements, sql) = self.counter.read();
        Run {
            wall,
            statements: statements - self.statements,
            sql: sql.saturating_sub(self.sql),
        }
    }
}

/// The timed runs of one measurement (warm-ups excluded).
#[derive(Debug, Clone, Default)]
pub struct Series {
    runs: Vec<Run>,
}

impl Series {
    /// Adds a run.
    pub fn push(&mut self, run: Run) {
        self.runs.push(run);
    }

    /// How many runs.
    pub fn count(&self) -> usize {
        self.runs.len()
    }

    fn sorted(&self) -> Vec<Run> {
        let mut runs = self.runs.clone();
        runs.sort_by_key(|r| r.wall);
        runs
    }

    /// The median wall time (mean of the two middle runs for an even count).
    pub fn median(&self) -> Duration {
        let runs = self.sorted();
        match runs.len() {
            0 => Duration::ZERO,
            n if n % 2 == 1 => runs[n / 2].wall,
            n => (runs[n / 2 - 1].wall + runs[n / 2].wall) / 2,
        }
    }

    /// The fastest and slowest runs.
    pub fn min_max(&self) -> (Duration, Duration) {
        let runs = self.sorted();
        (
            runs.first().map_or(Duration::ZERO, |r| r.wall),
            runs.last().map_or(Duration::ZERO, |r| r.wall),
        )
    }

    /// The run at the median (the slower middle one for an even count): its statement figures.
    pub fn median_run(&self) -> Option<Run> {
        let runs = self.sorted();
        runs.get(runs.len() / 2).copied()
    }

    /// `median 1.23 s (1.20–1.31 s, n=5)`.
    pub fn describe(&self) -> String {
        let (min, max) = self.min_max();
        format!(
            "median {} ({}–{}, n={})",
            secs(self.median()),
            secs(min),
            secs(max),
            self.count()
        )
    }

    /// `12,345 statements, 0.81 s in SQL` of the median run.
    pub fn describe_sql(&self) -> String {
        match self.median_run() {
            Some(run) => format!(
                "{} SQL statements, {} inside them ({:.0}% of the run)",
                thousands(run.statements),
                secs(run.sql),
                percent(run.sql, run.wall)
            ),
            None => "no run".into(),
        }
    }
}

/// The `n` kinds that took the most time between two [`Counter::by_kind`] readings, per run:
/// `INSERT line_verdicts 2,000× 160.2 ms; …`.
pub fn top_kinds(before: &ByKind, after: &ByKind, runs: usize, n: usize) -> String {
    let runs = u32::try_from(runs.max(1)).unwrap_or(1);
    let mut delta: Vec<(&String, u64, Duration)> = after
        .iter()
        .map(|(kind, (count, time))| {
            let (c0, t0) = before.get(kind).copied().unwrap_or_default();
            (kind, count - c0, time.saturating_sub(t0))
        })
        .filter(|(_, count, _)| *count > 0)
        .collect();
    delta.sort_by_key(|d| std::cmp::Reverse(d.2));
    delta
        .into_iter()
        .take(n)
        .map(|(kind, count, time)| {
            format!(
                "{kind} {}× {}",
                thousands(count / u64::from(runs)),
                secs(time / runs)
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// `a / b` in percent (0 when `b` is zero).
pub fn percent(a: Duration, b: Duration) -> f64 {
    if b.is_zero() {
        0.0
    } else {
        100.0 * a.as_secs_f64() / b.as_secs_f64()
    }
}

/// `a / b` as a ratio (infinite when `b` is zero).
pub fn ratio(a: Duration, b: Duration) -> f64 {
    if b.is_zero() {
        f64::INFINITY
    } else {
        a.as_secs_f64() / b.as_secs_f64()
    }
}

/// A duration for people: `1.234 s`, `12.3 ms`, `456 µs`.
pub fn secs(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s >= 1.0 {
        format!("{s:.3} s")
    } else if s >= 0.001 {
        format!("{:.1} ms", s * 1e3)
    } else {
        format!("{:.0} µs", s * 1e6)
    }
}

/// `1234567` as `1,234,567`.
pub fn thousands(n: u64) -> String {
    let text = n.to_string();
    let mut out = String::with_capacity(text.len() + text.len() / 3);
    for (i, c) in text.chars().enumerate() {
        if i > 0 && (text.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// KiB as `123.4 MiB`.
pub fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

/// A field of `/proc/<pid>/status` in KiB (`VmRSS`, `VmHWM`), for this process when `pid` is
/// `None`. `None` where `/proc` is not available.
pub fn status_kib(pid: Option<u32>, field: &str) -> Option<u64> {
    let path = match pid {
        Some(pid) => format!("/proc/{pid}/status"),
        None => "/proc/self/status".to_string(),
    };
    let text = std::fs::read_to_string(path).ok()?;
    text.lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
}

/// Resets this process's peak resident set size (`VmHWM`) to the current one (Linux ≥ 4.0:
/// `echo 5 > /proc/self/clear_refs`). Returns whether it worked.
pub fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// Peak memory over a scenario: reset at the start, read at the end.
pub struct Memory {
    start_kib: Option<u64>,
    reset: bool,
}

impl Memory {
    /// Resets the peak and notes the current resident size.
    pub fn start() -> Self {
        let reset = reset_peak_rss();
        Memory {
            start_kib: status_kib(None, "VmRSS"),
            reset,
        }
    }

    /// The peak since [`Memory::start`] in KiB (since process start if the reset failed).
    pub fn peak_kib(&self) -> Option<u64> {
        status_kib(None, "VmHWM")
    }

    /// `peak RSS 123.4 MiB (at start 80.0 MiB)`.
    pub fn describe(&self) -> String {
        let peak = self.peak_kib().map_or_else(|| "n/a".into(), mib);
        let start = self.start_kib.map_or_else(|| "n/a".into(), mib);
        let note = if self.reset {
            ""
        } else {
            " [peak since process start: /proc/self/clear_refs not writable]"
        };
        format!("peak RSS {peak} (at start {start}){note}")
    }
}

/// Percentile `p` (0..=100) of sorted durations.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = (p / 100.0 * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(ms: u64) -> Run {
        Run {
            wall: Duration::from_millis(ms),
            statements: ms,
            sql: Duration::ZERO,
        }
    }

    #[test]
    fn the_median_of_an_odd_series_is_its_middle_run() {
        let mut s = Series::default();
        for ms in [30, 10, 20] {
            s.push(run(ms));
        }
        assert_eq!(s.median(), Duration::from_millis(20));
        assert_eq!(
            s.min_max(),
            (Duration::from_millis(10), Duration::from_millis(30))
        );
    }

    #[test]
    fn the_median_of_an_even_series_is_the_mean_of_the_middle_runs() {
        let mut s = Series::default();
        for ms in [40, 10, 20, 30] {
            s.push(run(ms));
        }
        assert_eq!(s.median(), Duration::from_millis(25));
    }

    #[test]
    fn statements_are_grouped_by_verb_and_first_table() {
        assert_eq!(
            statement_kind(r#"INSERT INTO "line_verdicts" ("line_id") VALUES ($1) RETURNING "id""#),
            "INSERT line_verdicts"
        );
        assert_eq!(
            statement_kind(r#"SELECT "a"."id" FROM "enterprise_facts" AS "a" WHERE 1"#),
            "SELECT enterprise_facts"
        );
        assert_eq!(
            statement_kind("LOCK TABLE payment_lines IN SHARE ROW EXCLUSIVE MODE"),
            "LOCK payment_lines"
        );
        assert_eq!(
            statement_kind(r#"UPDATE "claims" SET x = 1"#),
            "UPDATE claims"
        );
        assert_eq!(statement_kind("BEGIN"), "BEGIN");
    }

    #[test]
    fn thousands_are_separated_by_commas() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }
}
