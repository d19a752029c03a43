//! `http-list`: the front-end list `enterprises(first: 50)` over HTTP against the real server
//! (`Application::build_on`, port 0) under concurrent clients, against the same rows fetched by
//! hand-written SQL behind a minimal actix handler. Target: throughput ≥ 0.5× the floor's.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;

use super::{Ctx, verdict_at_least};
use crate::data;
use crate::http::{self, FloorServer};
use crate::measure::{Counter, Memory, secs, top_kinds};
use crate::{BenchError, Outcome};
use hq_api::auth::{JwtKeys, Role};
use hq_api::config::{Secret, Settings};
use hq_api::startup::Application;

/// The list as a front end asks for it: district, star rating and the 20 latest payments of each
/// enterprise.
const LIST_QUERY: &str = "query List($first: Int!, $after: String, $year: Int!) { \
    enterprises(first: $first, after: $after) { totalCount nodes { creditCode name \
    district { code name } starRating(year: $year) \
    payments(latest: 20) { seq districtCode kind subsidyYear contractNo basis amount paymentDate voucherNo } \
    } } }";

/// The page sizes of the one-client figures (statements and time per request).
const PAGE_SIZES: [usize; 2] = [10, 50];

/// 20 page offsets spread evenly over the whole list, from the first page to the last.
fn offsets(total: usize, page: usize) -> Vec<usize> {
    let room = total.saturating_sub(page);
    (0..20).map(|k| k * room / 19).collect()
}

/// The cursors of the list's first `count` items, in order, as a client learns them: pages of
/// `edges { cursor }` walked with `after`. (Cursors are opaque: the harness does not forge them.)
fn learn_cursors(
    addr: SocketAddr,
    token: &str,
    count: usize,
    page: usize,
) -> Result<Vec<String>, BenchError> {
    const QUERY: &str = "query Cursors($first: Int!, $after: String) { \
        enterprises(first: $first, after: $after) { edges { cursor } pageInfo { hasNextPage } } }";
    let mut conn = http::Conn::connect(addr)?;
    let mut cursors: Vec<String> = Vec::with_capacity(count);
    while cursors.len() < count {
        let request = http::post_json(
            "/graphql",
            Some(token),
            &json!({
                "query": QUERY,
                "variables": { "first": page.min(count - cursors.len()), "after": cursors.last() },
            }),
        );
        let response = conn.send(&request)?;
        let value: serde_json::Value = serde_json::from_slice(&response.body)
            .map_err(|e| BenchError::new(format!("cursor page is not JSON: {e}")))?;
        let list = &value["data"]["enterprises"];
        let edges = list["edges"].as_array().map_or(&[][..], Vec::as_slice);
        if response.status != 200 || edges.is_empty() {
            return Err(BenchError::new(format!(
                "no cursors after {} items: {}",
                cursors.len(),
                String::from_utf8_lossy(&response.body[..response.body.len().min(400)])
            )));
        }
        for edge in edges {
            let cursor = edge["cursor"]
                .as_str()
                .ok_or_else(|| BenchError::new(format!("an edge without a cursor: {edge}")))?;
            cursors.push(cursor.to_string());
        }
        if list["pageInfo"]["hasNextPage"] != json!(true) {
            break;
        }
    }
    cursors.truncate(count);
    Ok(cursors)
}

/// The list requests at `page` items a page: the page at each of [`offsets`], after the cursor of
/// the item before it (`cursors` as [`learn_cursors`] returns them).
fn service_requests(
    token: &str,
    cursors: &[String],
    total: usize,
    page: usize,
) -> Result<Vec<Vec<u8>>, BenchError> {
    offsets(total, page)
        .into_iter()
        .map(|offset| {
            let after = match offset.checked_sub(1) {
                None => None,
                Some(before) => Some(cursors.get(before).ok_or_else(|| {
                    BenchError::new(format!("no cursor learnt for item {before}"))
                })?),
            };
            Ok(http::post_json(
                "/graphql",
                Some(token),
                &json!({
                    "query": LIST_QUERY,
                    "variables": { "first": page, "after": after, "year": data::RECOGNITION_YEAR },
                }),
            ))
        })
        .collect()
}

/// The floor's requests for the same pages: after the credit code of the item before each
/// offset (`sorted` = every credit code in list order).
fn floor_requests(sorted: &[String], total: usize, page: usize) -> Vec<Vec<u8>> {
    offsets(total, page)
        .into_iter()
        .map(
            |offset| match offset.checked_sub(1).and_then(|i| sorted.get(i)) {
                Some(after) => http::get(&format!("/floor/enterprises?first={page}&after={after}")),
                None => http::get(&format!("/floor/enterprises?first={page}")),
            },
        )
        .collect()
}

/// Checks a page: `nodes` has the expected length and `totalCount` the total. Returns the body's
/// size and the payment lines on the page.
fn check_page(body: &[u8], total: usize, page: usize) -> Result<(usize, usize), BenchError> {
    let value: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| BenchError::new(format!("list response is not JSON: {e}")))?;
    let list = &value["data"]["enterprises"];
    let nodes = list["nodes"].as_array().map_or(&[][..], Vec::as_slice);
    if nodes.len() != page.min(total) || list["totalCount"].as_u64() != Some(total as u64) {
        return Err(BenchError::new(format!(
            "unexpected list page ({} nodes, total {}): {}",
            nodes.len(),
            list["totalCount"],
            String::from_utf8_lossy(&body[..body.len().min(400)])
        )));
    }
    let payments = nodes
        .iter()
        .map(|n| n["payments"].as_array().map_or(0, Vec::len))
        .sum();
    Ok((body.len(), payments))
}

/// One client, sequential requests at one page size: statements, time in SQL and wall time per
/// request.
#[derive(Debug, Clone)]
struct PerRequest {
    page: usize,
    statements: f64,
    sql: Duration,
    wall: Duration,
    top: String,
}

/// [`PerRequest`] at page sizes 10 and 50 (20 sequential requests each, after one untimed pass),
/// and the size of a page of 50 and its payment lines.
async fn per_request(
    addr: SocketAddr,
    counter: &Counter,
    total: usize,
    requests: impl Fn(usize) -> Result<Vec<Vec<u8>>, BenchError>,
) -> Result<(Vec<PerRequest>, (usize, usize)), BenchError> {
    let mut figures = Vec::new();
    let mut bytes = (0, 0);
    for page in PAGE_SIZES {
        let batch = Arc::new(requests(page)?);
        let warm = Arc::clone(&batch);
        tokio::task::spawn_blocking(move || http::sequential(addr, &warm))
            .await
            .map_err(BenchError::new)?
            .map_err(BenchError::new)?;
        let (statements, sql) = counter.read();
        let kinds = counter.by_kind();
        let count = batch.len();
        let started = Instant::now();
        let timed = Arc::clone(&batch);
        let responses = tokio::task::spawn_blocking(move || http::sequential(addr, &timed))
            .await
            .map_err(BenchError::new)?
            .map_err(BenchError::new)?;
        let wall = started.elapsed();
        let (statements_after, sql_after) = counter.read();
        for response in &responses {
            bytes = check_page(&response.body, total, page)?;
        }
        let n = u32::try_from(count).unwrap_or(1).max(1);
        figures.push(PerRequest {
            page,
            statements: (statements_after - statements) as f64 / f64::from(n),
            sql: sql_after.saturating_sub(sql) / n,
            wall: wall / n,
            top: top_kinds(&kinds, &counter.by_kind(), count, 6),
        });
    }
    Ok((figures, bytes))
}

async fn run_load(
    addr: SocketAddr,
    requests: Vec<Vec<u8>>,
    clients: usize,
    warmup: Duration,
    duration: Duration,
) -> Result<http::Load, BenchError> {
    let requests = Arc::new(requests);
    let warm = Arc::clone(&requests);
    tokio::task::spawn_blocking(move || http::load(addr, warm, clients, warmup))
        .await
        .map_err(BenchError::new)?;
    let load = tokio::task::spawn_blocking(move || http::load(addr, requests, clients, duration))
        .await
        .map_err(BenchError::new)?;
    if load.ok == 0 || load.failed > 0 {
        return Err(BenchError::new(format!(
            "{} of {} requests failed: {}",
            load.failed,
            load.ok + load.failed,
            load.first_failure.clone().unwrap_or_default()
        )));
    }
    Ok(load)
}

fn describe_statements(figures: &[PerRequest]) -> String {
    figures
        .iter()
        .map(|f| format!("{:.1} at first: {}", f.statements, f.page))
        .collect::<Vec<_>>()
        .join(", ")
}

fn describe_one_client(figures: &[PerRequest]) -> String {
    let mut text = figures
        .iter()
        .map(|f| {
            format!(
                "first: {} {} per request ({} in SQL)",
                f.page,
                secs(f.wall),
                secs(f.sql)
            )
        })
        .collect::<Vec<_>>()
        .join(", ");
    if let Some(last) = figures.last() {
        text.push_str(&format!(
            "; statements at first: {}: {}",
            last.page, last.top
        ));
    }
    text
}

/// `enterprises(first: 50)` over HTTP against the real server, `clients` concurrent clients for
/// a fixed duration, vs the same rows by hand-written SQL behind a minimal actix handler.
/// Target: throughput ≥ 0.5× the floor's.
pub async fn run(ctx: &mut Ctx<'_>) -> Result<Vec<Outcome>, BenchError> {
    let total = ctx.set.codes.len();
    let mut sorted = ctx.set.codes.clone();
    sorted.sort_unstable();
    let page = 50usize;
    let lines_per_enterprise = ctx.set.lines as f64 / total.max(1) as f64;
    writeln!(
        ctx.out,
        "\n== http-list: enterprises(first: {page}) over HTTP, {} clients for {}, against the real \
         server (Application::build, port 0)",
        ctx.clients,
        secs(ctx.http)
    )?;
    writeln!(
        ctx.out,
        "note:    each node: district, starRating(year), payments(latest: 20); the data set has \
         {lines_per_enterprise:.1} payment lines per enterprise, so a page holds fewer than 20 each"
    )?;
    let warmup = if ctx.warmup == 0 {
        Duration::ZERO
    } else {
        (ctx.http / 5).min(Duration::from_secs(3))
    };

    // The service.
    let mut server_db = hq_api::db::connect(&ctx.settings).await?;
    let server_counter = Counter::attach(&mut server_db);
    let settings = Settings {
        bind: "127.0.0.1:0".into(),
        migrate: false,
        ..ctx.settings.clone()
    };
    let app = Application::build_on(settings, server_db).await?;
    let addr = SocketAddr::from(([127, 0, 0, 1], app.port()));
    let handle = app.handle();
    tokio::spawn(app.run_until_stopped());
    tokio::task::spawn_blocking(move || http::wait_ready(addr, Duration::from_secs(30)))
        .await
        .map_err(BenchError::new)??;
    let token = JwtKeys::hs256(&Secret::new(ctx.secret.clone()))
        .mint(
            "bench:front-end",
            Role::HqOffice,
            None,
            chrono::Duration::hours(4),
        )
        .map_err(BenchError::new)?;
    // The cursors the pages start after, learnt untimed from the list itself.
    let needed = PAGE_SIZES
        .iter()
        .chain([&page])
        .flat_map(|&p| offsets(total, p))
        .max()
        .unwrap_or(0);
    let walk_page = ctx.settings.max_page_size.clamp(1, 100);
    let cursors = {
        let token = token.clone();
        tokio::task::spawn_blocking(move || learn_cursors(addr, &token, needed, walk_page))
            .await
            .map_err(BenchError::new)??
    };
    let (service_statements, service_bytes) = per_request(addr, &server_counter, total, |p| {
        service_requests(&token, &cursors, total, p)
    })
    .await?;
    let memory = Memory::start();
    let service = run_load(
        addr,
        service_requests(&token, &cursors, total, page)?,
        ctx.clients,
        warmup,
        ctx.http,
    )
    .await?;
    let memory_text = memory.describe();
    handle.stop(true).await;

    // The floor.
    let mut floor_db = hq_api::db::connect(&ctx.settings).await?;
    let floor_counter = Counter::attach(&mut floor_db);
    let floor_server = FloorServer::start(floor_db, data::RECOGNITION_YEAR)?;
    let floor_addr = floor_server.addr;
    let (floor_statements, floor_bytes) = per_request(floor_addr, &floor_counter, total, |p| {
        Ok(floor_requests(&sorted, total, p))
    })
    .await?;
    let floor = run_load(
        floor_addr,
        floor_requests(&sorted, total, page),
        ctx.clients,
        warmup,
        ctx.http,
    )
    .await?;
    floor_server.stop().await;

    let r = service.throughput() / floor.throughput().max(1e-9);
    writeln!(
        ctx.out,
        "service: {}; SQL statements per request: {}; page of {page}: {:.1} KiB, {} payment lines",
        service.describe(),
        describe_statements(&service_statements),
        service_bytes.0 as f64 / 1024.0,
        service_bytes.1
    )?;
    writeln!(
        ctx.out,
        "         one client: {}",
        describe_one_client(&service_statements)
    )?;
    writeln!(
        ctx.out,
        "floor:   {}; SQL statements per request: {}; page of {page}: {:.1} KiB, {} payment lines",
        floor.describe(),
        describe_statements(&floor_statements),
        floor_bytes.0 as f64 / 1024.0,
        floor_bytes.1
    )?;
    writeln!(
        ctx.out,
        "         one client: {}",
        describe_one_client(&floor_statements)
    )?;
    writeln!(
        ctx.out,
        "ratio:   throughput {r:.2}× the floor's ({}); {memory_text} (server and clients in this process)",
        verdict_at_least(r, 0.5, "×")
    )?;
    Ok(vec![Outcome {
        name: "http-list",
        text: format!(
            "{:.0} req/s vs floor {:.0} req/s = {r:.2}× ({}); statements/request {} (floor {}); {memory_text}",
            service.throughput(),
            floor.throughput(),
            verdict_at_least(r, 0.5, "×"),
            describe_statements(&service_statements),
            describe_statements(&floor_statements),
        ),
    }])
}
