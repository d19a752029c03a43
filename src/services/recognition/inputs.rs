//! What a recognition verdict reads, in as few statements as the work allows.
//!
//! - The parameter versions and the rule sets are read once per change, not once per verdict:
//!   [`PolicyCache`] keeps them, with the rule set and the §3/§4 parameters of each decision date
//!   already picked. Every change to the tables they come from (by the service or not) raises
//!   the one row of `policy_generation`, by triggers in the changing transaction; every read of
//!   an enterprise returns that [`Generation`], and a cache loaded under another generation is
//!   reloaded before it is used. Instances sharing a database therefore never decide on a stale
//!   set, and no invalidation message is needed.
//! - One enterprise's inputs (its facts today and on the decision date, its figures of Y−1 and
//!   its revocations) are one statement; so is a page of enterprises (each row's revocations
//!   aggregated into one column, so that the page's limit counts enterprises).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, RwLock};

use chrono::NaiveDate;
use sea_orm::{
    ConnectionTrait, DbBackend, IdenStatic, QueryResult, Statement, TransactionSession,
    TransactionTrait, Value,
};

use crate::error::{AppError, AppResult};
use crate::policy::{Figures, Money, ParameterSet, RecognitionParams, RecognitionPolicy, rule_set};
use crate::services::rule_sets::{self, StoredRuleSet};
use crate::services::{parameters, registry};
use entity::enterprise_facts;

/// Which state of the stored policy a read saw: `policy_generation.generation`, which the
/// triggers of migration `m20261204_000001_policy_generation` raise with every change to the
/// parameter versions, the rule sets and their rules. Equal generations mean equal content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Generation(i64);

impl Generation {
    /// The select-list item that reads the generation, aliased `g_generation`: one row read by
    /// its key. The four aggregates over the policy tables it replaced cost 20–25 µs of a single
    /// evaluation's 130–200 µs statement on PostgreSQL (`pgbench -M prepared`).
    const SQL: &'static str =
        "(SELECT generation FROM policy_generation WHERE id = 1) AS g_generation";

    /// # Errors
    /// `INTERNAL` when the row is missing: without it no change to the policy would be seen.
    fn from_row(row: &QueryResult) -> AppResult<Generation> {
        row.try_get::<Option<i64>>("", "g_generation")?
            .map(Generation)
            .ok_or_else(|| AppError::internal("the row of policy_generation is missing"))
    }
}

/// How many times [`PolicySnapshot::load`] reads the policy before giving up on a policy that
/// changes during every read.
pub const LOAD_ATTEMPTS: usize = 3;

/// The rule set in force on a decision date and the §3/§4 parameters read on it.
#[derive(Debug)]
pub struct DateRules {
    /// The rule set in force on the date.
    pub rule_set: Arc<StoredRuleSet>,
    /// The rule set's rules with the parameter versions in force on the date, and what every
    /// verdict of the date reads of them.
    pub policy: RecognitionPolicy,
}

/// The stored parameter versions and rule sets of one generation.
#[derive(Debug)]
pub struct PolicySnapshot {
    generation: Generation,
    parameters: ParameterSet,
    rule_sets: Vec<StoredRuleSet>,
    by_date: Mutex<HashMap<NaiveDate, Arc<DateRules>>>,
}

impl PolicySnapshot {
    /// The parameter versions and rule sets `conn` holds now, of one generation: read between
    /// two reads of the generation (four statements), and read again while those differ. A
    /// change commits its raise of the generation with its rows, so equal reads before and
    /// after mean that no change was committed in between: the content is that generation's,
    /// never parameters of one state with rule sets of another (an amendment writes both).
    ///
    /// # Errors
    /// `SERVICE_UNAVAILABLE` when the policy changed during each of [`LOAD_ATTEMPTS`] reads;
    /// database errors; an unreadable stored parameter or rule set is internal.
    pub async fn load<C: ConnectionTrait>(conn: &C) -> AppResult<PolicySnapshot> {
        let mut before = generation(conn).await?;
        for _ in 0..LOAD_ATTEMPTS {
            let versions = parameters::load_versions(conn).await?;
            let sets = rule_sets::load(conn).await?;
            let after = generation(conn).await?;
            if after == before {
                return Ok(PolicySnapshot {
                    generation: before,
                    parameters: ParameterSet::new(
                        versions.into_iter().map(|v| v.version).collect(),
                    ),
                    rule_sets: sets,
                    by_date: Mutex::new(HashMap::new()),
                });
            }
            before = after;
        }
        Err(AppError::Busy(
            "the policy's parameters and rule sets changed while they were read; try again".into(),
        ))
    }

    /// The rule set in force on `decided_on` and the parameters read on it, computed once per
    /// date.
    ///
    /// # Errors
    /// `POLICY_VIOLATION` (`§final`) when no rule set is in force on the date; the parameter
    /// errors of [`RecognitionParams::from_set`].
    pub fn on(&self, decided_on: NaiveDate) -> AppResult<Arc<DateRules>> {
        if let Some(found) = self.lock().get(&decided_on) {
            return Ok(Arc::clone(found));
        }
        let policy: Vec<_> = self.rule_sets.iter().map(|s| s.rule_set.clone()).collect();
        let code = rule_set::rule_set_on(&policy, decided_on)?.code.clone();
        let rule_set = self
            .rule_sets
            .iter()
            .find(|s| s.rule_set.code == code)
            .cloned()
            .map(Arc::new)
            .ok_or_else(|| AppError::internal("the rule set in force vanished"))?;
        let params = RecognitionParams::from_set(&self.parameters, decided_on)?;
        let policy = RecognitionPolicy::new(rule_set.rule_set.clone(), params);
        let rules = Arc::new(DateRules { rule_set, policy });
        self.lock().insert(decided_on, Arc::clone(&rules));
        Ok(rules)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<NaiveDate, Arc<DateRules>>> {
        // A panic while holding the lock leaves a map of complete entries: still usable.
        self.by_date
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The parameter versions and rule sets of the database, kept between verdicts and reloaded
/// when the database holds another [`Generation`]. One per database: the service keeps one in
/// its state.
#[derive(Debug, Clone, Default)]
pub struct PolicyCache {
    current: Arc<RwLock<Option<Arc<PolicySnapshot>>>>,
}

impl PolicyCache {
    /// An empty cache: the first verdict loads the policy.
    pub fn new() -> PolicyCache {
        PolicyCache::default()
    }

    /// The snapshot of `seen` (the generation a read of the database returned): the cached one
    /// if it is of that generation, otherwise the policy loaded now (four statements or more).
    ///
    /// # Errors
    /// Database errors; an unreadable stored parameter or rule set is internal.
    pub async fn snapshot<C: ConnectionTrait>(
        &self,
        conn: &C,
        seen: Generation,
    ) -> AppResult<Arc<PolicySnapshot>> {
        if let Some(cached) = self
            .current
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .as_ref()
            .filter(|s| s.generation == seen)
        {
            return Ok(Arc::clone(cached));
        }
        // Of the generation loaded, which may be newer than `seen`: the next read that returns
        // it finds the cache current.
        let snapshot = Arc::new(PolicySnapshot::load(conn).await?);
        *self
            .current
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(Arc::clone(&snapshot));
        Ok(snapshot)
    }
}

/// The policy's generation as the database holds it now: one statement.
///
/// # Errors
/// Database errors.
pub async fn generation<C: ConnectionTrait>(conn: &C) -> AppResult<Generation> {
    let backend = conn.get_database_backend();
    let row = conn
        .query_one_raw(Statement::from_string(
            backend,
            format!("SELECT {}", Generation::SQL),
        ))
        .await?
        .ok_or_else(|| AppError::internal("the policy's generation returned no row"))?;
    Generation::from_row(&row)
}

/// What a verdict reads of one enterprise.
#[derive(Debug, Clone)]
pub struct Inputs {
    /// The enterprise's id.
    pub enterprise_id: i64,
    /// Its credit code.
    pub credit_code: String,
    /// The district it is registered in today (`None` outside Hangzhou or not registered
    /// today): who may see it.
    pub district_today: Option<String>,
    /// Its facts on the decision date (`None` when it is not in the registry on that date).
    pub facts: Option<enterprise_facts::Model>,
    /// Its figures of Y−1.
    pub figures: Option<Figures>,
    /// The dates its title was revoked on, ascending.
    pub revocations: Vec<NaiveDate>,
}

/// Placeholders and values of a statement for either backend.
struct Binds {
    backend: DbBackend,
    values: Vec<Value>,
}

impl Binds {
    fn new(backend: DbBackend) -> Binds {
        Binds {
            backend,
            values: Vec::new(),
        }
    }

    /// The placeholder of one more value.
    fn bind(&mut self, value: impl Into<Value>) -> String {
        self.values.push(value.into());
        match self.backend {
            DbBackend::Postgres => format!("${}", self.values.len()),
            _ => "?".to_owned(),
        }
    }
}

/// The facts columns, in the order the statements select them and [`facts_at`] reads them.
const FACTS_COLUMNS: [enterprise_facts::Column; 22] = {
    use enterprise_facts::Column as C;
    [
        C::Id,
        C::EnterpriseId,
        C::ValidFrom,
        C::ValidTo,
        C::Name,
        C::DistrictCode,
        C::HangzhouSince,
        C::IndustryCode,
        C::Ownership,
        C::IndustrialGuidance,
        C::IndependentLegalPerson,
        C::DeemedLegalPerson,
        C::Operating,
        C::UnifiedAccounting,
        C::RdFacilities,
        C::RdStableFunding,
        C::OutsideUnits,
        C::ListingExchange,
        C::ListedEntityInHangzhou,
        C::Dishonest,
        C::OwnsOffice,
        C::RegisteredCapitalFen,
    ]
};

/// `alias.column AS f_column` for every facts column, in [`FACTS_COLUMNS`] order.
fn facts_columns(alias: &str) -> String {
    FACTS_COLUMNS
        .iter()
        .map(|c| format!("{alias}.{0} AS f_{0}", c.as_str()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A row's columns read one after another by position. Every statement of this module starts
/// its select list alike (the enterprise, its district today, its facts, its figures), and
/// reading those by position instead of by name spares each row a formatted `f_` name and a
/// name lookup per column: a sixth of a single evaluation's instructions (callgrind).
struct Columns<'r> {
    row: &'r QueryResult,
    next: usize,
}

impl Columns<'_> {
    fn read<T: sea_orm::TryGetable>(&mut self) -> AppResult<T> {
        let value = self.row.try_get_by_index(self.next)?;
        self.next += 1;
        Ok(value)
    }
}

/// The facts at the cursor ([`FACTS_COLUMNS`], in order); `None` when the join found no row
/// (its id is NULL). The cursor moves past them either way.
fn facts_at(columns: &mut Columns<'_>) -> AppResult<Option<enterprise_facts::Model>> {
    let Some(id) = columns.read::<Option<i64>>()? else {
        columns.next += FACTS_COLUMNS.len() - 1;
        return Ok(None);
    };
    // Fields are evaluated in the order written: that of `FACTS_COLUMNS`.
    Ok(Some(enterprise_facts::Model {
        id,
        enterprise_id: columns.read()?,
        valid_from: columns.read()?,
        valid_to: columns.read()?,
        name: columns.read()?,
        district_code: columns.read()?,
        hangzhou_since: columns.read()?,
        industry_code: columns.read()?,
        ownership: columns.read()?,
        industrial_guidance: columns.read()?,
        independent_legal_person: columns.read()?,
        deemed_legal_person: columns.read()?,
        operating: columns.read()?,
        unified_accounting: columns.read()?,
        rd_facilities: columns.read()?,
        rd_stable_funding: columns.read()?,
        outside_units: columns.read()?,
        listing_exchange: columns.read()?,
        listed_entity_in_hangzhou: columns.read()?,
        dishonest: columns.read()?,
        owns_office: columns.read()?,
        registered_capital_fen: columns.read()?,
    }))
}

/// `alias` joined to the facts row of `e` valid on the day bound by `binds`.
fn facts_on(binds: &mut Binds, alias: &str, day: NaiveDate) -> String {
    let a = binds.bind(day);
    let b = binds.bind(day);
    format!(
        "{alias}.enterprise_id = e.id AND {alias}.valid_from <= {a} \
         AND ({alias}.valid_to IS NULL OR {alias}.valid_to >= {b})"
    )
}

/// The inputs of a row of this module's statements. They start alike, read by position
/// ([`Columns`]): `e_id`, `e_credit_code`, `district_today`, the facts on the decision date
/// ([`FACTS_COLUMNS`]), `revenue_fen` and `rd_spend_fen` of Y−1; `revoked`
/// ([`revocation_list`]) is read by name.
fn inputs_of(row: &QueryResult) -> AppResult<Inputs> {
    let mut columns = Columns { row, next: 0 };
    let enterprise_id = columns.read()?;
    let credit_code = columns.read()?;
    let district_today = columns.read()?;
    let facts = facts_at(&mut columns)?;
    let revenue: Option<i64> = columns.read()?;
    let rd_spend: Option<i64> = columns.read()?;
    Ok(Inputs {
        enterprise_id,
        credit_code,
        district_today,
        facts,
        figures: match (revenue, rd_spend) {
            (Some(revenue), Some(rd_spend)) => Some(Figures {
                revenue: Money::from_fen(revenue),
                rd_spend: Money::from_fen(rd_spend),
            }),
            _ => None,
        },
        revocations: revocation_dates(row.try_get("", "revoked")?)?,
    })
}

/// The statement of [`of_enterprise`], placeholders bound in `binds` in the order of
/// [`enterprise_values`].
fn enterprise_statement(
    binds: &mut Binds,
    credit_code: &str,
    year: i32,
    decided_on: NaiveDate,
) -> String {
    let today = facts_on(binds, "t", registry::today());
    let on_d = facts_on(binds, "f", decided_on);
    let previous = binds.bind(year.saturating_sub(1));
    let code = binds.bind(credit_code.to_owned());
    format!(
        "SELECT e.id AS e_id, e.credit_code AS e_credit_code, t.district_code AS district_today, \
         {facts}, g.revenue_fen AS revenue_fen, g.rd_spend_fen AS rd_spend_fen, \
         {revoked} AS revoked, {generation} \
         FROM enterprises e \
         LEFT JOIN enterprise_facts t ON {today} \
         LEFT JOIN enterprise_facts f ON {on_d} \
         LEFT JOIN enterprise_figures g ON g.enterprise_id = e.id AND g.year = {previous} \
         WHERE e.credit_code = {code}",
        facts = facts_columns("f"),
        revoked = revocation_list(binds.backend),
        generation = Generation::SQL,
    )
}

/// The text of [`enterprise_statement`] on `backend`, built once: it depends on nothing else,
/// and formatting its 24 facts columns on every call was a seventh of a single evaluation's
/// instructions (callgrind).
fn enterprise_sql(backend: DbBackend) -> &'static str {
    static POSTGRES: OnceLock<String> = OnceLock::new();
    static QUESTION_MARKS: OnceLock<String> = OnceLock::new();
    let cell = match backend {
        DbBackend::Postgres => &POSTGRES,
        _ => &QUESTION_MARKS,
    };
    cell.get_or_init(|| enterprise_statement(&mut Binds::new(backend), "", 0, NaiveDate::MIN))
}

/// The values [`enterprise_statement`] binds, in its order.
fn enterprise_values(credit_code: &str, year: i32, decided_on: NaiveDate) -> Vec<Value> {
    let today = registry::today();
    vec![
        today.into(),
        today.into(),
        decided_on.into(),
        decided_on.into(),
        year.saturating_sub(1).into(),
        credit_code.to_owned().into(),
    ]
}

/// The inputs of the enterprise with `credit_code` (normalised) for `year` decided on
/// `decided_on`, and the policy generation, in one statement; `None` for an unknown enterprise.
///
/// # Errors
/// Database errors; an unreadable row is internal.
pub async fn of_enterprise<C: ConnectionTrait>(
    conn: &C,
    credit_code: &str,
    year: i32,
    decided_on: NaiveDate,
) -> AppResult<Option<(Inputs, Generation)>> {
    let backend = conn.get_database_backend();
    let values = enterprise_values(credit_code, year, decided_on);
    let sql = enterprise_sql(backend).to_owned();
    let Some(row) = conn
        .query_one_raw(Statement::from_sql_and_values(backend, sql, values))
        .await?
    else {
        return Ok(None);
    };
    Ok(Some((inputs_of(&row)?, Generation::from_row(&row)?)))
}

/// The joins that make `e` a member of the round of `decided_on`: in the registry on that day
/// (`f`, its facts then), with its facts today (`t`).
fn member_joins(binds: &mut Binds, decided_on: NaiveDate) -> String {
    let on_d = facts_on(binds, "f", decided_on);
    let today = facts_on(binds, "t", registry::today());
    format!("JOIN enterprise_facts f ON {on_d} LEFT JOIN enterprise_facts t ON {today}")
}

/// The `WHERE` clause of `conditions`, and registered in `district` today if given (after
/// [`member_joins`]).
fn member_filter(binds: &mut Binds, district: Option<&str>, mut conditions: Vec<String>) -> String {
    if let Some(district) = district {
        conditions.push(format!(
            "t.district_code = {}",
            binds.bind(district.to_owned())
        ));
    }
    if conditions.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", conditions.join(" AND "))
    }
}

/// How many enterprises the round of `decided_on` holds: those in the registry on that day
/// (only those registered in `district` today, if given). One statement.
///
/// # Errors
/// Database errors.
pub async fn count_members<C: ConnectionTrait>(
    conn: &C,
    decided_on: NaiveDate,
    district: Option<&str>,
) -> AppResult<u64> {
    let backend = conn.get_database_backend();
    let mut binds = Binds::new(backend);
    let joins = member_joins(&mut binds, decided_on);
    let filter = member_filter(&mut binds, district, Vec::new());
    let sql = format!("SELECT COUNT(*) AS n FROM enterprises e {joins} {filter}");
    let row = conn
        .query_one_raw(Statement::from_sql_and_values(backend, sql, binds.values))
        .await?
        .ok_or_else(|| AppError::internal("COUNT(*) returned no row"))?;
    let n: i64 = row.try_get("", "n")?;
    u64::try_from(n).map_err(AppError::internal)
}

/// [`of_page`] for a chunk of the yearly round. On PostgreSQL it runs in a transaction of its
/// own with parallel query off: the planner gathers a chunk of 2,000 from two workers, which
/// `EXPLAIN ANALYZE` puts at 15–22 ms against 7 ms on one process at national scale, and takes
/// the core the rules decide the previous chunk on.
///
/// # Errors
/// As [`of_page`].
pub async fn of_chunk<C: ConnectionTrait + TransactionTrait>(
    conn: &C,
    year: i32,
    decided_on: NaiveDate,
    district: Option<&str>,
    bounds: &PageBounds,
) -> AppResult<(Vec<Inputs>, Option<Generation>)> {
    if conn.get_database_backend() != DbBackend::Postgres {
        return of_page(conn, year, decided_on, district, bounds).await;
    }
    let txn = conn.begin().await?;
    txn.execute_unprepared("SET LOCAL max_parallel_workers_per_gather = 0")
        .await?;
    let read = of_page(&txn, year, decided_on, district, bounds).await?;
    txn.commit().await?;
    Ok(read)
}

/// Which enterprises a page of the round holds, in credit-code order.
#[derive(Debug, Clone, Default)]
pub struct PageBounds {
    /// Only credit codes after this one.
    pub after: Option<String>,
    /// Only credit codes before this one.
    pub before: Option<String>,
    /// From the end of the range backwards (`last`/`before`).
    pub backward: bool,
    /// How many rows at most.
    pub limit: u64,
}

/// The inputs of up to `bounds.limit` enterprises in the registry on `decided_on` (only those
/// registered in `district` today, if given), by credit code (descending for a backward page),
/// with their revocations, and the policy generation: one statement.
///
/// # Errors
/// Database errors; an unreadable row is internal.
pub async fn of_page<C: ConnectionTrait>(
    conn: &C,
    year: i32,
    decided_on: NaiveDate,
    district: Option<&str>,
    bounds: &PageBounds,
) -> AppResult<(Vec<Inputs>, Option<Generation>)> {
    let backend = conn.get_database_backend();
    // Placeholders in the order they stand in the text (SQLite's are positional).
    let mut binds = Binds::new(backend);
    let joins = member_joins(&mut binds, decided_on);
    let previous = binds.bind(year.saturating_sub(1));
    let mut conditions = Vec::new();
    if let Some(after) = &bounds.after {
        conditions.push(format!("e.credit_code > {}", binds.bind(after.clone())));
    }
    if let Some(before) = &bounds.before {
        conditions.push(format!("e.credit_code < {}", binds.bind(before.clone())));
    }
    let filter = member_filter(&mut binds, district, conditions);
    let sql = format!(
        "SELECT e.id AS e_id, e.credit_code AS e_credit_code, t.district_code AS district_today, \
         {facts}, g.revenue_fen AS revenue_fen, g.rd_spend_fen AS rd_spend_fen, {generation}, \
         {revoked} AS revoked \
         FROM enterprises e {joins} \
         LEFT JOIN enterprise_figures g ON g.enterprise_id = e.id AND g.year = {previous} \
         {filter} ORDER BY e.credit_code {order} LIMIT {limit}",
        facts = facts_columns("f"),
        generation = Generation::SQL,
        revoked = revocation_list(backend),
        order = if bounds.backward { "DESC" } else { "ASC" },
        limit = bounds.limit,
    );
    let rows = conn
        .query_all_raw(Statement::from_sql_and_values(backend, sql, binds.values))
        .await?;
    let generation = rows.first().map(Generation::from_row).transpose()?;
    let page = rows.iter().map(inputs_of).collect::<AppResult<Vec<_>>>()?;
    Ok((page, generation))
}

/// The revocation dates of `e`, as one text of `YYYY-MM-DD` dates separated by commas (NULL
/// without any): a correlated aggregate, so that every statement of this module has one row an
/// enterprise (a page's limit counts enterprises) and is one statement. Both backends write a date as `YYYY-MM-DD` (PostgreSQL by `to_char`,
/// whatever the session's `DateStyle`; SQLite stores it so).
fn revocation_list(backend: DbBackend) -> &'static str {
    match backend {
        DbBackend::Postgres => {
            "(SELECT string_agg(to_char(r.revoked_on, 'YYYY-MM-DD'), ',') FROM revocations r \
             WHERE r.enterprise_id = e.id)"
        }
        _ => {
            "(SELECT group_concat(r.revoked_on, ',') FROM revocations r WHERE r.enterprise_id = e.id)"
        }
    }
}

/// The dates of [`revocation_list`]'s text, earliest first.
///
/// # Errors
/// `INTERNAL` for a part that is not a date.
fn revocation_dates(list: Option<String>) -> AppResult<Vec<NaiveDate>> {
    let mut dates = list
        .as_deref()
        .unwrap_or_default()
        .split(',')
        .filter(|part| !part.is_empty())
        .map(|part| {
            NaiveDate::parse_from_str(part, "%Y-%m-%d").map_err(|e| {
                AppError::internal(format!(
                    "a stored revocation date `{part}` is not a date: {e}"
                ))
            })
        })
        .collect::<AppResult<Vec<_>>>()?;
    dates.sort_unstable();
    Ok(dates)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};
    use entity::{enterprise_figures, enterprises};
    use sea_orm::{
        ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, Iterable, QueryFilter,
        QueryOrder,
    };

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("a date")
    }

    #[test]
    fn the_facts_columns_are_every_column_once() {
        let mut listed: Vec<&str> = FACTS_COLUMNS.iter().map(|c| c.as_str()).collect();
        let mut all: Vec<&str> = enterprise_facts::Column::iter()
            .map(|c| c.as_str())
            .collect();
        listed.sort_unstable();
        all.sort_unstable();
        assert_eq!(listed, all);
    }

    /// Inputs read by position equal the stored rows, whatever the column: every column of the
    /// facts holds a value no other column of its type holds (booleans: the two periods set
    /// them oppositely), so a column read from the wrong position fails the comparison.
    #[tokio::test]
    async fn inputs_read_by_position_are_the_stored_facts_and_figures() {
        let db = crate::db::memory_database().await;
        let at = Utc
            .timestamp_opt(1_733_212_345, 0)
            .single()
            .expect("a time");
        let enterprise = enterprises::ActiveModel {
            credit_code: Set("91330100MA2B3C4D5E".into()),
            created_at: Set(at),
            created_by: Set("test".into()),
            ..Default::default()
        }
        .insert(&db)
        .await
        .expect("enterprise");
        for (flag, from, to, district) in [
            (true, date(2020, 1, 1), Some(date(2023, 12, 31)), "330106"),
            (false, date(2024, 1, 1), None, "330108"),
        ] {
            enterprise_facts::ActiveModel {
                enterprise_id: Set(enterprise.id),
                valid_from: Set(from),
                valid_to: Set(to),
                name: Set(format!("杭州总部有限公司 {from}")),
                district_code: Set(Some(district.into())),
                hangzhou_since: Set(Some(date(2015, 6, 1))),
                industry_code: Set("7211".into()),
                ownership: Set("PRIVATE".into()),
                industrial_guidance: Set(flag),
                independent_legal_person: Set(!flag),
                deemed_legal_person: Set(flag),
                operating: Set(!flag),
                unified_accounting: Set(flag),
                rd_facilities: Set(!flag),
                rd_stable_funding: Set(flag),
                outside_units: Set(3),
                listing_exchange: Set(Some("SSE".into())),
                listed_entity_in_hangzhou: Set(!flag),
                dishonest: Set(flag),
                owns_office: Set(!flag),
                registered_capital_fen: Set(Some(99_999_999_999_999)),
                ..Default::default()
            }
            .insert(&db)
            .await
            .expect("facts");
        }
        enterprise_figures::ActiveModel {
            enterprise_id: Set(enterprise.id),
            year: Set(2022),
            revenue_fen: Set(120_000_000_000),
            rd_spend_fen: Set(7_000_000_001),
            recorded_at: Set(at),
            recorded_by: Set("test".into()),
            ..Default::default()
        }
        .insert(&db)
        .await
        .expect("figures");
        // Two revocations, the later one stored first.
        for (revoked_on, reason) in [(date(2022, 5, 1), "later"), (date(2021, 3, 2), "earlier")] {
            entity::revocations::ActiveModel {
                enterprise_id: Set(enterprise.id),
                revoked_on: Set(revoked_on),
                ban_until: Set(revoked_on),
                reason: Set(reason.into()),
                approval_ref: Set("test".into()),
                recorded_by: Set("test".into()),
                created_at: Set(at),
                ..Default::default()
            }
            .insert(&db)
            .await
            .expect("revocation");
        }
        let stored = enterprise_facts::Entity::find()
            .filter(enterprise_facts::Column::EnterpriseId.eq(enterprise.id))
            .order_by_asc(enterprise_facts::Column::ValidFrom)
            .all(&db)
            .await
            .expect("stored facts");
        let figures = Some(Figures {
            revenue: Money::from_fen(120_000_000_000),
            rd_spend: Money::from_fen(7_000_000_001),
        });

        let (single, _) = of_enterprise(&db, &enterprise.credit_code, 2023, date(2023, 6, 1))
            .await
            .expect("read")
            .expect("the enterprise");
        let bounds = PageBounds {
            limit: 10,
            ..PageBounds::default()
        };
        let (page, _) = of_page(&db, 2023, date(2023, 6, 1), None, &bounds)
            .await
            .expect("read");
        assert_eq!(page.len(), 1);
        for inputs in [&single, &page[0]] {
            assert_eq!(inputs.enterprise_id, enterprise.id);
            assert_eq!(inputs.credit_code, enterprise.credit_code);
            assert_eq!(inputs.district_today.as_deref(), Some("330108"));
            assert_eq!(inputs.facts.as_ref(), Some(&stored[0]));
            assert_eq!(inputs.figures, figures);
            assert_eq!(inputs.revocations, [date(2021, 3, 2), date(2022, 5, 1)]);
        }

        // Not in the registry on the decision date: no facts, and the figures after them.
        let (before, _) = of_enterprise(&db, &enterprise.credit_code, 2023, date(2019, 6, 1))
            .await
            .expect("read")
            .expect("the enterprise");
        assert_eq!(before.facts, None);
        assert_eq!(before.figures, figures);
        // The later period, and a year without figures.
        let (later, _) = of_enterprise(&db, &enterprise.credit_code, 2025, date(2025, 1, 2))
            .await
            .expect("read")
            .expect("the enterprise");
        assert_eq!(later.facts.as_ref(), Some(&stored[1]));
        assert_eq!(later.figures, None);
    }

    #[test]
    fn a_revocation_list_is_read_as_its_dates_earliest_first() {
        let cases: [(Option<&str>, Vec<NaiveDate>); 4] = [
            (None, vec![]),
            (Some(""), vec![]),
            (Some("2024-03-01"), vec![date(2024, 3, 1)]),
            (
                Some("2024-03-01,2021-12-31,2024-02-29"),
                vec![date(2021, 12, 31), date(2024, 2, 29), date(2024, 3, 1)],
            ),
        ];
        for (list, expected) in cases {
            assert_eq!(
                revocation_dates(list.map(str::to_owned)).expect("dates"),
                expected,
                "{list:?}"
            );
        }
        for bad in ["2024-02-30", "2024-03-01,x", "2024-03-01 00:00:00"] {
            let err = revocation_dates(Some(bad.to_owned())).expect_err(bad);
            assert!(matches!(err, AppError::Internal(_)), "{bad}: {err:?}");
        }
    }

    #[test]
    fn the_enterprise_statement_built_once_binds_the_values_it_is_given() {
        let decided_on = NaiveDate::from_ymd_opt(2024, 4, 15).unwrap();
        for backend in [DbBackend::Postgres, DbBackend::Sqlite] {
            let mut binds = Binds::new(backend);
            let fresh = enterprise_statement(&mut binds, "913301000000012149", 2024, decided_on);
            assert_eq!(enterprise_sql(backend), fresh, "{backend:?}");
            assert_eq!(
                enterprise_values("913301000000012149", 2024, decided_on),
                binds.values,
                "{backend:?}"
            );
        }
    }
}

#[cfg(test)]
mod generation_tests {
    use super::*;

    /// Every kind of change to each table the cache is loaded from raises the generation, and
    /// the cache loaded before it is not used again.
    #[tokio::test]
    async fn every_change_to_the_stored_policy_raises_the_generation() {
        let db = crate::db::memory_database().await;
        let cache = PolicyCache::new();
        let mut before = generation(&db).await.expect("the generation");
        let mut previous = cache.snapshot(&db, before).await.expect("loaded");
        let again = cache.snapshot(&db, before).await.expect("cached");
        assert!(
            Arc::ptr_eq(&previous, &again),
            "the same generation reuses the cache"
        );
        assert_eq!(previous.generation, before);
        // An insert, an update and a delete on each table, leaving the policy as it was; a
        // rule set and its rules come and go together (a rule set without rules is refused).
        let changes: [&[&str]; 7] = [
            &[
                "INSERT INTO policy_parameters (name, rule_set, district_code, valid_from, \
               valid_to, value, reference, placeholder, created_at, created_by) \
               SELECT name, rule_set, district_code, '2099-01-01', NULL, value, reference, \
               placeholder, created_at, created_by FROM policy_parameters \
               WHERE id = (SELECT MIN(id) FROM policy_parameters)",
            ],
            &["UPDATE policy_parameters SET reference = reference WHERE valid_from = '2099-01-01'"],
            &["DELETE FROM policy_parameters WHERE valid_from = '2099-01-01'"],
            &[
                "INSERT INTO rule_sets (code, document, title, effective_from, effective_to) \
                 VALUES ('TEST-2099', 'test', 'test', '2099-01-01', NULL)",
                "INSERT INTO rule_set_rules (rule_set, rule) VALUES ('TEST-2099', 'NOT_BANNED')",
            ],
            &["UPDATE rule_sets SET title = title WHERE code = 'TEST-2099'"],
            &["UPDATE rule_set_rules SET rule = rule WHERE rule_set = 'TEST-2099'"],
            &[
                "DELETE FROM rule_set_rules WHERE rule_set = 'TEST-2099'",
                "DELETE FROM rule_sets WHERE code = 'TEST-2099'",
            ],
        ];
        for group in changes {
            for sql in group {
                let changed = db.execute_unprepared(sql).await.expect(sql);
                assert!(changed.rows_affected() > 0, "{sql} changed nothing");
                let after = generation(&db).await.expect("the generation");
                assert!(after.0 > before.0, "{sql}: {before:?} → {after:?}");
                before = after;
            }
            let reloaded = cache.snapshot(&db, before).await.expect("reloaded");
            assert!(
                !Arc::ptr_eq(&previous, &reloaded),
                "{group:?}: the cache was reused"
            );
            assert_eq!(reloaded.generation, before);
            previous = reloaded;
        }
    }

    /// Without its row no change would be seen: every read of the generation fails loudly.
    #[tokio::test]
    async fn a_missing_generation_row_is_internal() {
        let db = crate::db::memory_database().await;
        db.execute_unprepared("DELETE FROM policy_generation")
            .await
            .expect("deleted");
        let err = generation(&db).await.expect_err("no generation");
        assert!(matches!(err, AppError::Internal(_)), "{err:?}");
    }
}
