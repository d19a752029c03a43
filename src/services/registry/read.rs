//! Reads of the registry: an enterprise by credit code or id, its facts as of a day, its events
//! and figures, and the filtered, ordered list.

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDate;
use sea_orm::sea_query::{Expr, Func, LikeExpr, Query};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    Select,
};

use super::MAX_NAME_CHARS;
use super::validate::parse_credit_code;
use super::write::stored_events;
use crate::error::{AppError, AppResult};
use crate::policy::Route;
use crate::services::batched::rows_of_many;
use crate::services::keyset::{self, KeyOrder, KeyPart, Page, PageRequest};
use entity::{
    enterprise_events, enterprise_facts, enterprise_figures, enterprises, recognitions,
    star_ratings,
};

/// The enterprise with `credit_code`, if registered.
///
/// # Errors
/// `BAD_USER_INPUT` (field `creditCode`) for a malformed code; database errors.
pub async fn find_by_credit_code<C: ConnectionTrait>(
    conn: &C,
    credit_code: &str,
) -> AppResult<Option<enterprises::Model>> {
    let code = parse_credit_code("creditCode", credit_code)?;
    Ok(enterprises::Entity::find()
        .filter(enterprises::Column::CreditCode.eq(code.as_str()))
        .one(conn)
        .await?)
}

fn valid_on(date: NaiveDate) -> Condition {
    Condition::all()
        .add(enterprise_facts::Column::ValidFrom.lte(date))
        .add(
            Condition::any()
                .add(enterprise_facts::Column::ValidTo.is_null())
                .add(enterprise_facts::Column::ValidTo.gte(date)),
        )
}

/// The facts of one enterprise on `date` (`None` before its registration).
///
/// # Errors
/// Database errors.
pub async fn facts_as_of<C: ConnectionTrait>(
    conn: &C,
    enterprise_id: i64,
    date: NaiveDate,
) -> AppResult<Option<enterprise_facts::Model>> {
    Ok(enterprise_facts::Entity::find()
        .filter(enterprise_facts::Column::EnterpriseId.eq(enterprise_id))
        .filter(valid_on(date))
        .one(conn)
        .await?)
}

/// The facts of several enterprises on `date`, by enterprise id (absent before registration).
///
/// # Errors
/// Database errors.
pub async fn facts_as_of_many<C: ConnectionTrait>(
    conn: &C,
    enterprise_ids: &[i64],
    date: NaiveDate,
) -> AppResult<HashMap<i64, enterprise_facts::Model>> {
    let mut result = HashMap::new();
    for chunk in enterprise_ids.chunks(500) {
        let rows = enterprise_facts::Entity::find()
            .filter(enterprise_facts::Column::EnterpriseId.is_in(chunk.iter().copied()))
            .filter(valid_on(date))
            .all(conn)
            .await?;
        result.extend(rows.into_iter().map(|r| (r.enterprise_id, r)));
    }
    Ok(result)
}

/// The yearly figures of several enterprises, by enterprise id, in year order.
///
/// # Errors
/// Database errors.
pub async fn figures_of_many<C: ConnectionTrait>(
    conn: &C,
    enterprise_ids: &[i64],
) -> AppResult<HashMap<i64, Vec<enterprise_figures::Model>>> {
    use enterprise_figures::{Column, Entity};
    rows_of_many::<Entity, _>(
        conn,
        enterprise_ids,
        Column::EnterpriseId,
        &[Column::Year],
        |r| r.enterprise_id,
    )
    .await
}

/// The figures of one enterprise, in year order (one year if `year` is given).
///
/// # Errors
/// Database errors.
pub async fn figures_of<C: ConnectionTrait>(
    conn: &C,
    enterprise_id: i64,
    year: Option<i32>,
) -> AppResult<Vec<enterprise_figures::Model>> {
    let mut query = enterprise_figures::Entity::find()
        .filter(enterprise_figures::Column::EnterpriseId.eq(enterprise_id));
    if let Some(year) = year {
        query = query.filter(enterprise_figures::Column::Year.eq(year));
    }
    Ok(query
        .order_by_asc(enterprise_figures::Column::Year)
        .all(conn)
        .await?)
}

/// The events of several enterprises, by enterprise id, in (effective date, id) order.
///
/// # Errors
/// Database errors.
pub async fn events_of_many<C: ConnectionTrait>(
    conn: &C,
    enterprise_ids: &[i64],
) -> AppResult<HashMap<i64, Vec<enterprise_events::Model>>> {
    use enterprise_events::{Column, Entity};
    let order = [Column::EffectiveDate, Column::Id];
    rows_of_many::<Entity, _>(conn, enterprise_ids, Column::EnterpriseId, &order, |r| {
        r.enterprise_id
    })
    .await
}

/// The events of one enterprise, in (effective date, id) order.
///
/// # Errors
/// Database errors.
pub async fn events_of<C: ConnectionTrait>(
    conn: &C,
    enterprise_id: i64,
) -> AppResult<Vec<enterprise_events::Model>> {
    stored_events(conn, enterprise_id).await
}

/// Filters of the registry list; all optional except the date, combined with AND.
#[derive(Debug, Clone)]
pub struct ListFilter {
    /// The day the facts filters (district, industry, name) are read on.
    pub as_of: NaiveDate,
    /// Registered in this district on `as_of`.
    pub district_code: Option<String>,
    /// Industry class starting with these digits (1 to 4).
    pub industry_prefix: Option<String>,
    /// Name on `as_of` containing this text.
    pub name_contains: Option<String>,
    /// Recognised for this year.
    pub recognized_in: Option<i32>,
    /// Recognised through this route (`STANDARD`, `RD`, `LISTED`), in `recognized_in` if given.
    pub route: Option<String>,
    /// Rated for this year.
    pub rated_in: Option<i32>,
    /// With this many stars, in `rated_in` if given.
    pub stars: Option<i32>,
}

impl ListFilter {
    /// No filter, as of `as_of`.
    pub fn on(as_of: NaiveDate) -> ListFilter {
        ListFilter {
            as_of,
            district_code: None,
            industry_prefix: None,
            name_contains: None,
            recognized_in: None,
            route: None,
            rated_in: None,
            stars: None,
        }
    }
}

/// Orders of the registry list; ties are broken by credit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ListOrder {
    /// By credit code.
    #[default]
    CreditCode,
    /// By name on the filter date.
    Name,
    /// By `hangzhou_since`, earliest first; enterprises outside Hangzhou last.
    HangzhouSince,
    /// Most recently registered in the service first.
    RecentlyRegistered,
}

fn escape_like(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

/// Checks the filter's fields.
///
/// # Errors
/// `BAD_USER_INPUT` naming `filter.<field>`.
pub fn validate_filter(filter: &mut ListFilter) -> AppResult<()> {
    if let Some(code) = &filter.district_code {
        let code = code.trim();
        if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(AppError::bad_input(
                "filter.districtCode",
                "a district code is 6 digits (GB/T 2260)",
            ));
        }
        filter.district_code = Some(code.to_string());
    }
    if let Some(prefix) = &filter.industry_prefix {
        let prefix = prefix.trim();
        if !(1..=4).contains(&prefix.len()) || !prefix.bytes().all(|b| b.is_ascii_digit()) {
            return Err(AppError::bad_input(
                "filter.industryPrefix",
                "an industry prefix is 1 to 4 digits of a GB/T 4754-2017 class",
            ));
        }
        filter.industry_prefix = Some(prefix.to_string());
    }
    if let Some(text) = &filter.name_contains {
        let text = text.trim();
        if text.chars().count() > MAX_NAME_CHARS {
            return Err(AppError::bad_input(
                "filter.nameContains",
                "the text is too long",
            ));
        }
        filter.name_contains = (!text.is_empty()).then(|| text.to_string());
    }
    if let Some(route) = &filter.route
        && route.parse::<Route>().is_err()
    {
        return Err(AppError::bad_input(
            "filter.route",
            "a route is STANDARD, RD or LISTED",
        ));
    }
    if let Some(stars) = filter.stars
        && !(1..=5).contains(&stars)
    {
        return Err(AppError::bad_input(
            "filter.stars",
            "a rating is 1 to 5 stars",
        ));
    }
    Ok(())
}

/// Whether a filter reads the facts on `as_of` (district, industry, name).
fn filter_reads_facts(filter: &ListFilter) -> bool {
    filter.district_code.is_some()
        || filter.industry_prefix.is_some()
        || filter.name_contains.is_some()
}

/// Whether the list in `order` reads the facts on `as_of` (to filter or to sort).
fn list_reads_facts(filter: &ListFilter, order: ListOrder) -> bool {
    filter_reads_facts(filter) || matches!(order, ListOrder::Name | ListOrder::HangzhouSince)
}

/// The enterprises matching `filter`, joined to their facts on `as_of` only when `join_facts`.
///
/// An enterprise is listed once its facts have started on `as_of`. Its facts start on its
/// registration day, which is never after the day it was registered, and then run without a gap
/// (the last period is open): so without a facts filter an enterprise qualifies when its first
/// period starts on or before `as_of`, and every enterprise qualifies when `as_of` is today or
/// later. Neither case joins the facts.
fn list_query(
    filter: &ListFilter,
    join_facts: bool,
    today: NaiveDate,
) -> Select<enterprises::Entity> {
    let mut query = enterprises::Entity::find();
    if join_facts {
        query = query
            .inner_join(enterprise_facts::Entity)
            .filter(valid_on(filter.as_of));
    } else if filter.as_of < today {
        let mut started = Query::select();
        started
            .column(enterprise_facts::Column::EnterpriseId)
            .from(enterprise_facts::Entity)
            .and_where(enterprise_facts::Column::ValidFrom.lte(filter.as_of));
        query = query.filter(enterprises::Column::Id.in_subquery(started));
    }
    if let Some(district) = &filter.district_code {
        query = query.filter(enterprise_facts::Column::DistrictCode.eq(district.clone()));
    }
    if let Some(prefix) = &filter.industry_prefix {
        query = query.filter(enterprise_facts::Column::IndustryCode.starts_with(prefix.clone()));
    }
    if let Some(text) = &filter.name_contains {
        let pattern = format!("%{}%", escape_like(text));
        query =
            query.filter(enterprise_facts::Column::Name.like(LikeExpr::new(pattern).escape('\\')));
    }
    if filter.recognized_in.is_some() || filter.route.is_some() {
        let mut sub = Query::select();
        sub.column(recognitions::Column::EnterpriseId)
            .from(recognitions::Entity);
        if let Some(year) = filter.recognized_in {
            sub.and_where(recognitions::Column::Year.eq(year));
        }
        if let Some(route) = &filter.route {
            sub.and_where(recognitions::Column::Route.eq(route.clone()));
        }
        query = query.filter(enterprises::Column::Id.in_subquery(sub));
    }
    if filter.rated_in.is_some() || filter.stars.is_some() {
        let mut sub = Query::select();
        sub.column(star_ratings::Column::EnterpriseId)
            .from(star_ratings::Entity);
        if let Some(year) = filter.rated_in {
            sub.and_where(star_ratings::Column::Year.eq(year));
        }
        if let Some(stars) = filter.stars {
            sub.and_where(star_ratings::Column::Stars.eq(stars));
        }
        query = query.filter(enterprises::Column::Id.in_subquery(sub));
    }
    query
}

/// How many enterprises match `filter`: `enterprises` alone, joined to the facts only for a
/// district, industry or name filter.
///
/// # Errors
/// Database errors.
pub async fn count<C: ConnectionTrait>(conn: &C, filter: &ListFilter) -> AppResult<u64> {
    Ok(
        list_query(filter, filter_reads_facts(filter), super::today())
            .count(conn)
            .await?,
    )
}

/// Sorts "outside Hangzhou" (no `hangzhou_since`) after every date. A four-digit year, so
/// that SQLite (which keeps dates as `YYYY-MM-DD` text) sorts it last too.
const NO_HANGZHOU_SINCE: NaiveDate = match NaiveDate::from_ymd_opt(9999, 12, 31) {
    Some(date) => date,
    None => panic!("a valid date"),
};

/// The key of the list in `order`: unique (the credit code breaks ties), one direction.
fn list_key(order: ListOrder) -> KeyOrder {
    let code = Expr::col((enterprises::Entity, enterprises::Column::CreditCode));
    match order {
        ListOrder::CreditCode => KeyOrder::asc(vec![code]),
        ListOrder::Name => KeyOrder::asc(vec![
            Expr::col((enterprise_facts::Entity, enterprise_facts::Column::Name)),
            code,
        ]),
        ListOrder::HangzhouSince => KeyOrder::asc(vec![
            Expr::from(Func::coalesce([
                Expr::col((
                    enterprise_facts::Entity,
                    enterprise_facts::Column::HangzhouSince,
                )),
                Expr::val(NO_HANGZHOU_SINCE),
            ])),
            code,
        ]),
        ListOrder::RecentlyRegistered => KeyOrder::desc(vec![Expr::col((
            enterprises::Entity,
            enterprises::Column::Id,
        ))]),
    }
}

/// One page of the enterprises matching `filter` in `order`, by key, in one statement. Each row's
/// key is its credit code (`CreditCode`), name and credit code (`Name`), `hangzhou_since` and
/// credit code (`HangzhouSince`; outside Hangzhou sorts last) or id (`RecentlyRegistered`,
/// descending).
///
/// The page is joined to the facts on `as_of` when a filter or the order reads them. Asked for
/// the facts on `facts_on`, it answers them from that join when the days agree, or joins them
/// when the list does not read facts and `facts_on` is today or later (every listed enterprise
/// has facts then: they start on the registration day, never after the day the enterprise was
/// entered, and their last period is open). Otherwise (another day than a joined `as_of`, or a
/// past day) the facts are `None` and the caller reads them with [`facts_as_of_many`]; the
/// second value says whether the facts came with the page.
///
/// # Errors
/// Database errors.
pub async fn page<C: ConnectionTrait>(
    conn: &C,
    filter: &ListFilter,
    order: ListOrder,
    request: &PageRequest,
    facts_on: Option<NaiveDate>,
) -> AppResult<(Page<EnterpriseWithFacts>, bool)> {
    let today = super::today();
    let reads_facts = list_reads_facts(filter, order);
    let join_day = match facts_on {
        Some(day) if reads_facts && day == filter.as_of => Some(day),
        Some(day) if !reads_facts && day >= today => Some(day),
        _ => None,
    };
    let key = list_key(order);
    let mut query = list_query(filter, reads_facts, today);
    if !reads_facts && let Some(day) = join_day {
        query = query
            .inner_join(enterprise_facts::Entity)
            .filter(valid_on(day));
    }
    let code = |e: &enterprises::Model| KeyPart::Text(e.credit_code.clone());
    if !reads_facts && join_day.is_none() {
        let rows = keyset::apply(query, &key, request).all(conn).await?;
        let page = match order {
            ListOrder::RecentlyRegistered => {
                keyset::finish(rows, request, |e| vec![KeyPart::Int(e.id)])
            }
            _ => keyset::finish(rows, request, |e| vec![code(e)]),
        };
        return Ok((page.map(|e| (e, None)), false));
    }
    let rows = keyset::apply(query.select_also(enterprise_facts::Entity), &key, request)
        .all(conn)
        .await?;
    let page = keyset::finish(rows, request, |(e, facts)| {
        let first = match (order, facts) {
            (ListOrder::CreditCode, _) => return vec![code(e)],
            (ListOrder::RecentlyRegistered, _) => return vec![KeyPart::Int(e.id)],
            (ListOrder::Name, Some(f)) => KeyPart::Text(f.name.clone()),
            (_, Some(f)) => KeyPart::Date(f.hangzhou_since.unwrap_or(NO_HANGZHOU_SINCE)),
            // An inner join always has the facts.
            (_, None) => KeyPart::Text(String::new()),
        };
        vec![first, code(e)]
    });
    let with_facts = join_day.is_some();
    Ok((
        page.map(|(e, facts)| (e, facts.filter(|_| with_facts))),
        with_facts,
    ))
}

/// An enterprise of a list page, with its facts on the day asked when they came with the page.
pub type EnterpriseWithFacts = (enterprises::Model, Option<enterprise_facts::Model>);

/// The enterprises with these ids, by id.
///
/// # Errors
/// Database errors.
pub async fn by_ids<C: ConnectionTrait>(
    conn: &C,
    ids: &[i64],
) -> AppResult<HashMap<i64, enterprises::Model>> {
    let mut result = HashMap::new();
    for chunk in ids.chunks(500) {
        let rows = enterprises::Entity::find()
            .filter(enterprises::Column::Id.is_in(chunk.iter().copied()))
            .all(conn)
            .await?;
        result.extend(rows.into_iter().map(|r| (r.id, r)));
    }
    Ok(result)
}

/// Groups `(key, date)` pairs by date, for loaders that read facts on several dates at once.
pub fn group_by_date(keys: &[(i64, NaiveDate)]) -> BTreeMap<NaiveDate, Vec<i64>> {
    let mut groups: BTreeMap<NaiveDate, Vec<i64>> = BTreeMap::new();
    for (id, date) in keys {
        groups.entry(*date).or_default().push(*id);
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_wildcards_in_a_name_filter_are_escaped() {
        assert_eq!(escape_like("100%_a\\b"), "100\\%\\_a\\\\b");
    }
}

#[cfg(test)]
mod statements {
    //! The list page's statements, counted on a real (in-memory SQLite) database: a page, the
    //! facts of its enterprises and the count are one statement each, whatever the page size.

    use std::sync::Mutex;

    use sea_orm::{DatabaseConnection, DbBackend, DbErr, ExecResult, QueryResult, Statement};

    use super::*;
    use crate::auth::{Actor, Role};
    use crate::services::keyset::Direction;
    use crate::services::registry::{Facts, RegisterInput, write};

    /// Runs every statement on the inner connection and keeps its SQL.
    struct Recording<'a> {
        inner: &'a DatabaseConnection,
        sql: Mutex<Vec<String>>,
    }

    impl Recording<'_> {
        fn note(&self, sql: &str) {
            self.sql.lock().expect("not poisoned").push(sql.to_string());
        }

        fn take(&self) -> Vec<String> {
            std::mem::take(&mut *self.sql.lock().expect("not poisoned"))
        }
    }

    #[sea_orm::prelude::async_trait::async_trait]
    impl ConnectionTrait for Recording<'_> {
        fn get_database_backend(&self) -> DbBackend {
            self.inner.get_database_backend()
        }

        async fn execute_raw(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
            self.note(&stmt.sql);
            self.inner.execute_raw(stmt).await
        }

        async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
            self.note(sql);
            self.inner.execute_unprepared(sql).await
        }

        async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
            self.note(&stmt.sql);
            self.inner.query_one_raw(stmt).await
        }

        async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
            self.note(&stmt.sql);
            self.inner.query_all_raw(stmt).await
        }
    }

    /// A valid credit code (GB 32100 check character) numbered `n`.
    fn code(n: u32) -> String {
        const ALPHABET: &str = "0123456789ABCDEFGHJKLMNPQRTUWXY";
        const WEIGHTS: [u32; 17] = [
            1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
        ];
        let base = format!("91330100{n:09}");
        let sum: u32 = base
            .chars()
            .zip(WEIGHTS)
            .map(|(c, w)| ALPHABET.find(c).expect("in the alphabet") as u32 * w)
            .sum();
        let check = (31 - sum % 31) % 31;
        format!(
            "{base}{}",
            ALPHABET.chars().nth(check as usize).expect("0..31")
        )
    }

    async fn registry_of(n: u32) -> DatabaseConnection {
        let db = crate::db::memory_database().await;
        let actor = Actor {
            sub: "test:hq_office".into(),
            role: Role::HqOffice,
            district: None,
        };
        let since = NaiveDate::from_ymd_opt(2020, 1, 1).expect("a date");
        for i in 1..=n {
            let input = RegisterInput {
                credit_code: code(i),
                registered_on: Some(since),
                facts: Facts {
                    name: format!("企业{i:03}"),
                    district_code: Some(if i % 2 == 0 { "330106" } else { "330108" }.into()),
                    hangzhou_since: Some(since),
                    industry_code: "7211".into(),
                    ownership: crate::policy::Ownership::Private,
                    industrial_guidance: false,
                    independent_legal_person: true,
                    deemed_legal_person: false,
                    operating: true,
                    unified_accounting: false,
                    rd_facilities: false,
                    rd_stable_funding: false,
                    outside_units: 0,
                    listing_exchange: None,
                    listed_entity_in_hangzhou: false,
                    dishonest: false,
                    owns_office: false,
                    registered_capital: None,
                },
                note: None,
            };
            write::register(&db, &actor, input)
                .await
                .expect("registered");
        }
        db
    }

    #[tokio::test]
    async fn a_list_page_takes_the_same_statements_for_5_and_for_50_enterprises() {
        let db = registry_of(120).await;
        let today = super::super::today();
        let mut counts = Vec::new();
        for size in [5, 50] {
            for (filter, order) in [
                (ListFilter::on(today), ListOrder::CreditCode),
                (
                    ListFilter {
                        district_code: Some("330106".into()),
                        ..ListFilter::on(today)
                    },
                    ListOrder::Name,
                ),
            ] {
                let conn = Recording {
                    inner: &db,
                    sql: Mutex::new(Vec::new()),
                };
                let request = PageRequest {
                    after: None,
                    before: None,
                    size,
                    direction: Direction::Forward,
                };
                // What a list request showing names runs: the page with the facts of its
                // enterprises on today, and the count if selected.
                let (page, with_facts) = page(&conn, &filter, order, &request, Some(today))
                    .await
                    .expect("a page");
                assert!(with_facts);
                assert_eq!(page.items.len() as u64, size);
                assert!(page.items.iter().all(|(_, (e, facts))| {
                    facts.as_ref().is_some_and(|f| f.enterprise_id == e.id)
                }));
                let total = count(&conn, &filter).await.expect("a count");
                let statements = conn.take();
                assert_eq!(statements.len(), 2, "{statements:#?}");
                counts.push(statements.len());
                assert!(
                    !statements[0].contains("OFFSET"),
                    "a page is read by key: {}",
                    statements[0]
                );
                // The count reads the facts only for a facts filter.
                let count_sql = &statements[1];
                assert_eq!(
                    count_sql.contains("enterprise_facts"),
                    filter.district_code.is_some(),
                    "{count_sql}"
                );
                assert_eq!(
                    total,
                    if filter.district_code.is_some() {
                        60
                    } else {
                        120
                    }
                );
            }
        }
        assert!(counts.iter().all(|&n| n == counts[0]));
    }

    #[tokio::test]
    async fn facts_of_a_day_the_page_cannot_join_are_left_to_the_caller() {
        let db = registry_of(3).await;
        let today = super::super::today();
        let yesterday = today.pred_opt().expect("a day");
        let request = PageRequest {
            after: None,
            before: None,
            size: 3,
            direction: Direction::Forward,
        };
        let by_name_today = ListFilter::on(today);
        for (filter, order, facts_on, joined) in [
            // A past day: an enterprise registered today has no facts on it.
            (
                ListFilter::on(today),
                ListOrder::CreditCode,
                Some(yesterday),
                false,
            ),
            // The name order joins the facts on `as_of` (today), not on another day.
            (by_name_today, ListOrder::Name, Some(yesterday), false),
            (ListFilter::on(today), ListOrder::Name, Some(today), true),
            (ListFilter::on(today), ListOrder::CreditCode, None, false),
        ] {
            let (page, with_facts) = page(&db, &filter, order, &request, facts_on)
                .await
                .expect("a page");
            assert_eq!(with_facts, joined, "{order:?} {facts_on:?}");
            assert_eq!(page.items.len(), 3);
            assert!(
                page.items
                    .iter()
                    .all(|(_, (_, facts))| facts.is_some() == joined)
            );
        }
    }
}
