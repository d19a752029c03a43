//! HTTP for the benchmark: a tiny blocking HTTP/1.1 client with keep-alive (the load generator
//! runs one OS thread per client, so it needs no runtime), and the floor of the front-end list —
//! the same rows fetched by hand-written SQL and serialised by a minimal actix handler.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::{App, HttpResponse, HttpServer, web};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement, Value};
use serde_json::{Map, json};

use super::measure::percentile;
use policy::Money;

/// One response.
#[derive(Debug)]
pub struct Response {
    /// HTTP status.
    pub status: u16,
    /// The body (de-chunked).
    pub body: Vec<u8>,
}

/// A kept-alive connection.
pub struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
}

fn bad(message: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message.to_string())
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

impl Conn {
    /// Connects to `addr`.
    ///
    /// # Errors
    /// I/O errors.
    pub fn connect(addr: SocketAddr) -> io::Result<Conn> {
        let stream = TcpStream::connect(addr)?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(Duration::from_secs(60)))?;
        Ok(Conn {
            stream,
            buf: Vec::with_capacity(64 * 1024),
        })
    }

    /// Sends `request` (a complete HTTP/1.1 request) and reads the response.
    ///
    /// # Errors
    /// I/O errors; a response this client cannot read.
    pub fn send(&mut self, request: &[u8]) -> io::Result<Response> {
        self.stream.write_all(request)?;
        // Head.
        let head_end = loop {
            if let Some(i) = find(&self.buf, b"\r\n\r\n") {
                break i + 4;
            }
            self.fill()?;
        };
        let head = std::str::from_utf8(&self.buf[..head_end]).map_err(|_| bad("head"))?;
        let mut lines = head.split("\r\n");
        let status = lines
            .next()
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|s| s.parse::<u16>().ok())
            .ok_or_else(|| bad("status line"))?;
        let mut length = None;
        let mut chunked = false;
        for line in lines {
            if let Some((name, value)) = line.split_once(':') {
                let name = name.trim();
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse::<usize>().ok();
                } else if name.eq_ignore_ascii_case("transfer-encoding") {
                    chunked = value.to_ascii_lowercase().contains("chunked");
                }
            }
        }
        self.buf.drain(..head_end);
        let body = if chunked {
            self.read_chunked()?
        } else {
            let length = length.ok_or_else(|| bad("no content length"))?;
            while self.buf.len() < length {
                self.fill()?;
            }
            self.buf.drain(..length).collect()
        };
        Ok(Response { status, body })
    }

    fn fill(&mut self) -> io::Result<()> {
        let mut chunk = [0u8; 64 * 1024];
        let n = self.stream.read(&mut chunk)?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "connection closed",
            ));
        }
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(())
    }

    fn read_chunked(&mut self) -> io::Result<Vec<u8>> {
        let mut body = Vec::new();
        loop {
            let line_end = loop {
                if let Some(i) = find(&self.buf, b"\r\n") {
                    break i;
                }
                self.fill()?;
            };
            let size_text = std::str::from_utf8(&self.buf[..line_end]).map_err(|_| bad("chunk"))?;
            let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
                .map_err(|_| bad("chunk size"))?;
            self.buf.drain(..line_end + 2);
            while self.buf.len() < size + 2 {
                self.fill()?;
            }
            body.extend(self.buf.drain(..size));
            self.buf.drain(..2);
            if size == 0 {
                return Ok(body);
            }
        }
    }
}

/// A complete `POST` request with a JSON body.
pub fn post_json(path: &str, token: Option<&str>, body: &serde_json::Value) -> Vec<u8> {
    let body = body.to_string();
    let auth = token.map_or_else(String::new, |t| format!("Authorization: Bearer {t}\r\n"));
    format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n{auth}Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// A complete `GET` request.
pub fn get(path: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").into_bytes()
}

/// Polls `GET /readyz` until it answers 200.
///
/// # Errors
/// `TimedOut` after `timeout`.
pub fn wait_ready(addr: SocketAddr, timeout: Duration) -> io::Result<Duration> {
    let start = Instant::now();
    let request = get("/readyz");
    loop {
        if let Ok(mut conn) = Conn::connect(addr)
            && let Ok(response) = conn.send(&request)
            && response.status == 200
        {
            return Ok(start.elapsed());
        }
        if start.elapsed() > timeout {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the service did not become ready",
            ));
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// What a load run did.
#[derive(Debug, Clone)]
pub struct Load {
    /// Completed requests with status 200 and no GraphQL error.
    pub ok: u64,
    /// Failed requests (status, GraphQL error or I/O), and the first failure.
    pub failed: u64,
    /// The first failure, if any.
    pub first_failure: Option<String>,
    /// Response bytes.
    pub bytes: u64,
    /// The measured duration.
    pub elapsed: Duration,
    /// Latencies of the successful requests, sorted.
    pub latencies: Vec<Duration>,
}

impl Load {
    /// Successful requests per second.
    pub fn throughput(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// `1234.5 req/s, p50 12.3 ms, p99 45.6 ms, 0 failed`.
    pub fn describe(&self) -> String {
        format!(
            "{:.1} req/s ({} requests, {:.1} KiB each), latency p50 {} p99 {}, {} failed",
            self.throughput(),
            self.ok,
            self.bytes as f64 / self.ok.max(1) as f64 / 1024.0,
            super::measure::secs(percentile(&self.latencies, 50.0)),
            super::measure::secs(percentile(&self.latencies, 99.0)),
            self.failed
        )
    }
}

/// Whether a response is a success: status 200 and, for GraphQL, no `errors`.
fn success(response: &Response) -> Result<(), String> {
    if response.status != 200 {
        return Err(format!(
            "HTTP {}: {}",
            response.status,
            String::from_utf8_lossy(&response.body[..response.body.len().min(300)])
        ));
    }
    if find(&response.body, b"\"errors\"").is_some() {
        return Err(format!(
            "errors: {}",
            String::from_utf8_lossy(&response.body[..response.body.len().min(300)])
        ));
    }
    Ok(())
}

/// Runs `clients` threads, each on its own kept-alive connection, sending `requests` round-robin
/// for `duration`. Blocking: call it from a blocking thread.
pub fn load(
    addr: SocketAddr,
    requests: Arc<Vec<Vec<u8>>>,
    clients: usize,
    duration: Duration,
) -> Load {
    let start = Instant::now();
    let deadline = start + duration;
    let threads: Vec<_> = (0..clients)
        .map(|client| {
            let requests = Arc::clone(&requests);
            std::thread::spawn(move || {
                let mut ok = 0u64;
                let mut failed = 0u64;
                let mut first_failure = None;
                let mut bytes = 0u64;
                let mut latencies = Vec::new();
                let mut conn = None;
                let mut n = client;
                while Instant::now() < deadline {
                    let request = &requests[n % requests.len()];
                    n += 1;
                    if conn.is_none() {
                        match Conn::connect(addr) {
                            Ok(c) => conn = Some(c),
                            Err(e) => {
                                failed += 1;
                                first_failure.get_or_insert_with(|| e.to_string());
                                std::thread::sleep(Duration::from_millis(10));
                                continue;
                            }
                        }
                    }
                    let Some(c) = conn.as_mut() else { continue };
                    let sent = Instant::now();
                    match c.send(request) {
                        Ok(response) => match success(&response) {
                            Ok(()) => {
                                ok += 1;
                                bytes += response.body.len() as u64;
                                latencies.push(sent.elapsed());
                            }
                            Err(e) => {
                                failed += 1;
                                first_failure.get_or_insert(e);
                            }
                        },
                        Err(e) => {
                            failed += 1;
                            first_failure.get_or_insert_with(|| e.to_string());
                            conn = None;
                        }
                    }
                }
                (ok, failed, first_failure, bytes, latencies)
            })
        })
        .collect();
    let mut total = Load {
        ok: 0,
        failed: 0,
        first_failure: None,
        bytes: 0,
        elapsed: Duration::ZERO,
        latencies: Vec::new(),
    };
    for thread in threads {
        match thread.join() {
            Ok((ok, failed, first_failure, bytes, latencies)) => {
                total.ok += ok;
                total.failed += failed;
                if total.first_failure.is_none() {
                    total.first_failure = first_failure;
                }
                total.bytes += bytes;
                total.latencies.extend(latencies);
            }
            Err(_) => {
                total.failed += 1;
                total
                    .first_failure
                    .get_or_insert_with(|| "a client thread panicked".into());
            }
        }
    }
    total.elapsed = start.elapsed();
    total.latencies.sort();
    total
}

/// Sends each of `requests` once, in order, on one connection; the first failure stops it.
///
/// # Errors
/// The first failure.
pub fn sequential(addr: SocketAddr, requests: &[Vec<u8>]) -> Result<Vec<Response>, String> {
    let mut conn = Conn::connect(addr).map_err(|e| e.to_string())?;
    let mut responses = Vec::with_capacity(requests.len());
    for request in requests {
        let response = conn.send(request).map_err(|e| e.to_string())?;
        success(&response)?;
        responses.push(response);
    }
    Ok(responses)
}

// ---------------------------------------------------------------------------------------------
// The floor: hand-written SQL behind a minimal actix handler
// ---------------------------------------------------------------------------------------------

struct FloorState {
    db: DatabaseConnection,
    rating_year: i32,
}

#[derive(serde::Deserialize)]
struct FloorQuery {
    first: u64,
    /// The credit code the page starts after (none: the first page).
    after: Option<String>,
}

fn placeholders(backend: DbBackend, n: usize, from: usize) -> Vec<String> {
    (from..from + n)
        .map(|i| match backend {
            DbBackend::Postgres => format!("${i}"),
            _ => "?".to_string(),
        })
        .collect()
}

/// The page of the front-end list in three statements, the fastest way to the same rows a
/// competent hand would take: the count of `enterprises` alone (every enterprise has facts from
/// its registration on, so the count needs no join); a keyset page on the credit-code index with
/// its facts of today, district and star rating; the 20 latest payment lines of each enterprise
/// of the page (a `LATERAL` join on PostgreSQL, a window on SQLite).
async fn floor_page(
    db: &DatabaseConnection,
    first: u64,
    after: Option<&str>,
    rating_year: i32,
) -> Result<serde_json::Value, sea_orm::DbErr> {
    let backend = db.get_database_backend();
    let today = hq_api::services::registry::today();
    // Every placeholder once, in order: SQLite's `?` are positional.
    let p = placeholders(backend, 5, 1);
    let count = db
        .query_one_raw(Statement::from_string(
            backend,
            "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM enterprises",
        ))
        .await?
        .map(|row| row.try_get::<i64>("", "n"))
        .transpose()?
        .unwrap_or(0);
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(
            backend,
            format!(
                "SELECT e.id, e.credit_code, f.name, f.district_code, d.name AS district_name, \
                 r.stars FROM enterprises e JOIN enterprise_facts f ON f.enterprise_id = e.id \
                 AND f.valid_from <= {} AND (f.valid_to IS NULL OR f.valid_to >= {}) \
                 LEFT JOIN districts d ON d.code = f.district_code \
                 LEFT JOIN star_ratings r ON r.enterprise_id = e.id AND r.year = {} \
                 WHERE e.credit_code > {} ORDER BY e.credit_code LIMIT {}",
                p[0], p[1], p[2], p[3], p[4]
            ),
            [
                Value::from(today),
                Value::from(today),
                Value::from(rating_year),
                Value::from(after.unwrap_or("").to_owned()),
                Value::from(i64::try_from(first).unwrap_or(i64::MAX)),
            ],
        ))
        .await?;
    let mut ids = Vec::with_capacity(rows.len());
    let mut nodes = Vec::with_capacity(rows.len());
    for row in &rows {
        let id: i64 = row.try_get("", "id")?;
        ids.push(id);
        let district_code: Option<String> = row.try_get("", "district_code")?;
        let district_name: Option<String> = row.try_get("", "district_name")?;
        let district = match (district_code, district_name) {
            (Some(code), Some(name)) => json!({ "code": code, "name": name }),
            _ => serde_json::Value::Null,
        };
        nodes.push(json!({
            "creditCode": row.try_get::<String>("", "credit_code")?,
            "name": row.try_get::<String>("", "name")?,
            "district": district,
            "starRating": row.try_get::<Option<i32>>("", "stars")?,
            "payments": [],
        }));
    }
    if !ids.is_empty() {
        let list = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
        let payments = db
            .query_all_raw(if backend == DbBackend::Postgres {
                // The page's ids bound as one text, so that the statement's text is the same
                // for every page.
                Statement::from_sql_and_values(
                    backend,
                    "SELECT p.enterprise_id, p.seq, p.district_code, p.kind, p.subsidy_year, \
                     p.contract_no, p.basis_fen, p.amount_fen, p.payment_date, p.voucher_no \
                     FROM (SELECT unnest(string_to_array($1, ',')::bigint[]) AS id) e \
                     CROSS JOIN LATERAL (SELECT * FROM payment_lines l \
                     WHERE l.enterprise_id = e.id \
                     ORDER BY l.payment_date DESC, l.seq DESC LIMIT 20) p",
                    [Value::from(list)],
                )
            } else {
                Statement::from_string(
                    backend,
                    format!(
                        "SELECT enterprise_id, seq, district_code, kind, subsidy_year, \
                         contract_no, basis_fen, amount_fen, payment_date, voucher_no FROM \
                         (SELECT p.*, ROW_NUMBER() OVER (PARTITION BY enterprise_id ORDER BY \
                         payment_date DESC, seq DESC) AS rn FROM payment_lines p WHERE \
                         enterprise_id IN ({list})) ranked WHERE rn <= 20 \
                         ORDER BY enterprise_id, payment_date DESC, seq DESC"
                    ),
                )
            })
            .await?;
        let position: std::collections::HashMap<i64, usize> =
            ids.iter().enumerate().map(|(i, &id)| (id, i)).collect();
        for row in payments {
            let id: i64 = row.try_get("", "enterprise_id")?;
            if let Some(&i) = position.get(&id)
                && let Some(list) = nodes[i]["payments"].as_array_mut()
            {
                let money = |fen: i64| Money::from_fen(fen).to_decimal().to_string();
                list.push(json!({
                    "seq": row.try_get::<i64>("", "seq")?,
                    "districtCode": row.try_get::<String>("", "district_code")?,
                    "kind": row.try_get::<String>("", "kind")?,
                    "subsidyYear": row.try_get::<i32>("", "subsidy_year")?,
                    "contractNo": row.try_get::<String>("", "contract_no")?,
                    "basis": money(row.try_get("", "basis_fen")?),
                    "amount": money(row.try_get("", "amount_fen")?),
                    "paymentDate": row.try_get::<chrono::NaiveDate>("", "payment_date")?,
                    "voucherNo": row.try_get::<String>("", "voucher_no")?,
                }));
            }
        }
    }
    let mut connection = Map::new();
    connection.insert("totalCount".into(), json!(count));
    connection.insert("nodes".into(), serde_json::Value::Array(nodes));
    Ok(json!({ "data": { "enterprises": connection } }))
}

async fn floor_handler(
    state: web::Data<FloorState>,
    query: web::Query<FloorQuery>,
) -> HttpResponse {
    match floor_page(
        &state.db,
        query.first,
        query.after.as_deref(),
        state.rating_year,
    )
    .await
    {
        Ok(body) => HttpResponse::Ok().json(body),
        Err(e) => HttpResponse::InternalServerError().body(e.to_string()),
    }
}

/// The floor server: `GET /floor/enterprises?first=N&after=CREDIT_CODE`, on its own port.
pub struct FloorServer {
    /// Its address.
    pub addr: SocketAddr,
    handle: actix_web::dev::ServerHandle,
}

impl FloorServer {
    /// Starts the floor server on a free port, with `db` (spawned on the current runtime); the
    /// star rating shown is that of `rating_year`.
    ///
    /// # Errors
    /// I/O errors binding the port.
    pub fn start(db: DatabaseConnection, rating_year: i32) -> io::Result<FloorServer> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let data = web::Data::new(FloorState { db, rating_year });
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .route("/floor/enterprises", web::get().to(floor_handler))
        })
        .listen(listener)?
        .run();
        let handle = server.handle();
        tokio::spawn(server);
        Ok(FloorServer { addr, handle })
    }

    /// Stops it.
    pub async fn stop(self) {
        self.handle.stop(true).await;
    }
}
