//! Files: `POST /imports/payments/{district}/{year}` (a district's CSV of payment lines) and
//! `GET /exports/settlements/…` (the settlement as CSV or XLSX), `GET /exports/benefits/…` (the
//! benefits of a year as XLSX), `GET /exports/recognitions/…` (the yearly round as CSV).

use std::collections::HashMap;

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};

use super::budget::within_budget;
use super::{HttpError, HttpResult, HttpState, caller_of, has_content_type};
use crate::auth::{Actor, Caller};
use crate::error::AppError;
use crate::services::recognition::round;
use crate::services::{csv_import, export, payments, workbook};

fn too_large() -> HttpError {
    HttpError::with_status(
        StatusCode::PAYLOAD_TOO_LARGE,
        AppError::bad_input("body", "the file is larger than the import limit"),
    )
}

fn fiscal_year(text: &str) -> Result<i32, AppError> {
    text.parse::<i32>()
        .map_err(|_| AppError::bad_input("year", "not a fiscal year"))
}

/// The authenticated caller of a file endpoint.
async fn actor_of(req: &HttpRequest, state: &HttpState) -> Result<Actor, AppError> {
    match caller_of(req, &state.keys, &state.api).await? {
        Caller::Actor(actor) => Ok(actor),
        Caller::Anonymous => Err(AppError::Unauthenticated(
            "this endpoint needs a bearer token".into(),
        )),
    }
}

/// The media types an import accepts: what a browser or a client sends for a CSV or a
/// workbook, and an HTML form. The bytes, not the label, decide how the file is read.
const IMPORT_TYPES: [&str; 6] = [
    "text/csv",
    "application/csv",
    "application/vnd.ms-excel",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/octet-stream",
    "multipart/form-data",
];

const XLSX_TYPE: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// `POST /imports/payments/{district}/{year}[?dryRun=true][&sheet=NAME]`: a district's file of
/// payment lines (CSV in UTF-8, GB18030/GBK or UTF-16; XLSX or XLS; or either as the file of an
/// HTML form), imported through the same path as `reportPayments`, all or nothing. Every row
/// error is answered at once; a dry run answers what would be created, unchanged or refused
/// and writes nothing.
pub(super) async fn import_payments(
    state: web::Data<HttpState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    payload: web::Payload,
) -> HttpResult {
    within_budget(&state, &req, import(&state, &req, path, payload)).await
}

/// The options of an import, from its query string.
struct ImportOptions {
    dry_run: bool,
    sheet: Option<String>,
}

fn import_options(req: &HttpRequest) -> Result<ImportOptions, AppError> {
    let query = web::Query::<HashMap<String, String>>::from_query(req.query_string())
        .map_err(|_| AppError::bad_input("query", "the query string cannot be read"))?;
    let dry_run = match query.get("dryRun").map(String::as_str) {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => return Err(AppError::bad_input("dryRun", "must be true or false")),
    };
    Ok(ImportOptions {
        dry_run,
        sheet: query.get("sheet").cloned(),
    })
}

/// The file of a `multipart/form-data` body: its first part that carries a file name (an
/// `<input type="file">`), or else its only part.
async fn form_file(req: &HttpRequest, body: web::Bytes) -> Result<Vec<u8>, AppError> {
    use futures_util::StreamExt;
    let unreadable = || AppError::bad_input("body", "the form cannot be read");
    let stream =
        futures_util::stream::once(async move { Ok::<_, actix_web::error::PayloadError>(body) });
    let mut form = actix_multipart::Multipart::new(req.headers(), stream);
    let mut first: Option<Vec<u8>> = None;
    let mut parts = 0usize;
    while let Some(field) = form.next().await {
        let mut field = field.map_err(|_| unreadable())?;
        parts += 1;
        let is_file = field
            .content_disposition()
            .and_then(|d| d.get_filename())
            .is_some();
        let mut bytes = Vec::new();
        while let Some(chunk) = field.next().await {
            bytes.extend_from_slice(&chunk.map_err(|_| unreadable())?);
        }
        if is_file {
            return Ok(bytes);
        }
        first.get_or_insert(bytes);
    }
    match (first, parts) {
        (Some(only), 1) => Ok(only),
        _ => Err(AppError::bad_input(
            "file",
            "the form has no file (an <input type=\"file\"> part)",
        )),
    }
}

/// Row errors as the import answers them: one GraphQL-shaped error per refused cell or row,
/// the message in Chinese, the English code in `extensions.reason`.
fn row_errors(errors: &[csv_import::RowError]) -> Vec<serde_json::Value> {
    errors
        .iter()
        .map(|e| {
            serde_json::json!({
                "message": e.message_zh,
                "extensions": {
                    "code": if e.conflict { "CONFLICT" } else { "BAD_USER_INPUT" },
                    "field": e.field(),
                    "row": e.row,
                    "column": e.column,
                    "reason": e.reason,
                    "messageEn": e.message,
                },
            })
        })
        .collect()
}

async fn import(
    state: &HttpState,
    req: &HttpRequest,
    path: web::Path<(String, String)>,
    mut payload: web::Payload,
) -> HttpResult {
    use futures_util::StreamExt;
    let actor = actor_of(req, state).await?;
    // Authorise from the headers, before a byte of the body is read (the one check, shared
    // with `reportPayments`), and refuse a declared length over the limit at once.
    let (district, year) = path.into_inner();
    payments::authorize_report(&actor, &district)?;
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|length| length > state.max_import_bytes as u64) {
        return Err(too_large());
    }
    if !IMPORT_TYPES.iter().any(|t| has_content_type(req, t)) {
        return Err(HttpError::with_status(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            AppError::bad_input(
                "Content-Type",
                "send the file as text/csv, an Excel type or multipart/form-data",
            ),
        ));
    }
    let options = import_options(req)?;
    let year = fiscal_year(&year)?;
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|_| AppError::bad_input("body", "the upload was interrupted"))?;
        if body.len() + chunk.len() > state.max_import_bytes {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    let file = if has_content_type(req, "multipart/form-data") {
        form_file(req, body.freeze()).await?
    } else {
        body.to_vec()
    };
    let grid = csv_import::read_file(&file, options.sheet.as_deref())?;
    let mut parsed = csv_import::read_lines(&grid)?;
    let outcome = if parsed.lines.is_empty() {
        payments::BatchOutcome::default()
    } else {
        // With a row already refused nothing is written, but every line is still checked.
        let check_only = options.dry_run || !parsed.errors.is_empty();
        payments::check_report(
            &state.api.db,
            &actor,
            &district,
            year,
            &parsed.lines,
            check_only,
        )
        .await?
    };
    parsed.merge(outcome.refused);
    let rows_of = |at: &[usize]| -> Vec<usize> {
        at.iter()
            .filter_map(|&i| parsed.rows.get(i).copied())
            .collect()
    };
    let mut refused_rows: Vec<usize> = parsed.errors.iter().map(|e| e.row).collect();
    refused_rows.dedup();
    if options.dry_run {
        return Ok(HttpResponse::Ok()
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .json(serde_json::json!({
                "dryRun": true,
                "encoding": grid.encoding,
                "created": outcome.created.len(),
                "unchanged": outcome.unchanged.len(),
                "refused": refused_rows.len(),
                "createdAmount": outcome.created_amount.to_string(),
                "rows": {
                    "created": rows_of(&outcome.created),
                    "unchanged": rows_of(&outcome.unchanged),
                    "refused": refused_rows,
                },
                "errors": row_errors(&parsed.errors),
                "truncated": parsed.truncated,
            })));
    }
    if !parsed.errors.is_empty() {
        crate::metrics::import_rows(0, refused_rows.len() as u64);
        let status = if parsed.errors.iter().all(|e| e.conflict) {
            StatusCode::CONFLICT
        } else {
            StatusCode::BAD_REQUEST
        };
        return Ok(HttpResponse::build(status)
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .json(serde_json::json!({
                "errors": row_errors(&parsed.errors),
                "refused": refused_rows.len(),
                "truncated": parsed.truncated,
            })));
    }
    crate::metrics::import_rows((outcome.created.len() + outcome.unchanged.len()) as u64, 0);
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "encoding": grid.encoding,
        "created": outcome.created.len(),
        "unchanged": outcome.unchanged.len(),
        "createdAmount": outcome.created_amount.to_string(),
    })))
}

/// `GET /imports/payments/template.csv` or `template.xlsx`: the import template (Chinese
/// headers, an example row; in the workbook a dropdown for 补助类型). It holds no data, so it
/// needs no token: a link on a district's intranet page can point at it.
pub(super) async fn import_template(file: web::Path<String>) -> HttpResult {
    match file.as_str() {
        "template.csv" => Ok(attachment(
            "text/csv; charset=utf-8",
            "payment-import-template.csv",
            csv_import::template_csv(),
        )),
        "template.xlsx" => Ok(attachment(
            XLSX_TYPE,
            "payment-import-template.xlsx",
            csv_import::template_xlsx()?,
        )),
        _ => Err(AppError::NotFound("templates are template.csv or template.xlsx".into()).into()),
    }
}

fn attachment(content_type: &str, name: &str, body: Vec<u8>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{name}\""),
        ))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(body)
}

/// `GET /exports/settlements/{year}.csv` (district summary) or `.xlsx` (the settlement workbook:
/// summary, lines, adjustments, reasons).
/// A district's token gets its own district only.
pub(super) async fn export_settlement(
    state: web::Data<HttpState>,
    req: HttpRequest,
    file: web::Path<String>,
) -> HttpResult {
    within_budget(&state, &req, settlement(&state, &req, file.into_inner())).await
}

async fn settlement(state: &HttpState, req: &HttpRequest, file: String) -> HttpResult {
    let actor = actor_of(req, state).await?;
    settlement_file(state, &actor, &file).await
}

/// The file `settlements/{year}.csv`, `.xlsx` or `settlements/{year}/lines.csv` for `actor`.
async fn export_file(state: &HttpState, actor: &Actor, path: &str) -> HttpResult {
    let file = path
        .strip_prefix("settlements/")
        .ok_or_else(|| AppError::NotFound("no such export".into()))?;
    match file.strip_suffix("/lines.csv") {
        Some(year) => lines_file(state, actor, year).await,
        None => settlement_file(state, actor, file).await,
    }
}

/// `GET /downloads/{token}`: the one file a download link names, for the actor it was signed
/// for, while it is valid (`settlementDownloadLink`); no header needed, the same access rules.
pub(super) async fn download(
    state: web::Data<HttpState>,
    req: HttpRequest,
    token: web::Path<String>,
) -> HttpResult {
    let (actor, file) = state
        .keys
        .verify_download(&token, &state.api.districts)
        .map_err(|err| AppError::Unauthenticated(format!("download link: {err}")))?;
    within_budget(&state, &req, export_file(&state, &actor, &file)).await
}

async fn settlement_file(state: &HttpState, actor: &Actor, file: &str) -> HttpResult {
    let (year, extension) = file
        .split_once('.')
        .ok_or_else(|| AppError::NotFound("no such export".into()))?;
    let year = fiscal_year(year)?;
    let settlement = export::settlement_export(&state.api.db, actor, year).await?;
    match extension {
        "csv" => Ok(attachment(
            "text/csv; charset=utf-8",
            &format!("settlement-{year}.csv"),
            export::to_csv(&settlement.districts)?,
        )),
        "xlsx" => Ok(attachment(
            XLSX_TYPE,
            &format!("settlement-{year}.xlsx"),
            workbook::settlement_workbook(&settlement.book)?,
        )),
        _ => Err(AppError::NotFound("exports are .csv or .xlsx".into()).into()),
    }
}

/// `GET /exports/settlements/{year}/lines.csv`: every line of the year's reconciled claims with
/// its verdict (a district's token: its own lines only).
pub(super) async fn export_settlement_lines(
    state: web::Data<HttpState>,
    req: HttpRequest,
    year: web::Path<String>,
) -> HttpResult {
    within_budget(
        &state,
        &req,
        settlement_lines(&state, &req, year.into_inner()),
    )
    .await
}

async fn settlement_lines(state: &HttpState, req: &HttpRequest, year: String) -> HttpResult {
    let actor = actor_of(req, state).await?;
    lines_file(state, &actor, &year).await
}

async fn lines_file(state: &HttpState, actor: &Actor, year: &str) -> HttpResult {
    let year = fiscal_year(year)?;
    let settlement = export::settlement_export(&state.api.db, actor, year).await?;
    Ok(attachment(
        "text/csv; charset=utf-8",
        &format!("settlement-{year}-lines.csv"),
        export::to_csv(&settlement.lines)?,
    ))
}

/// `GET /exports/benefits/{year}.xlsx`: the benefits workbook of a year (权益表), every HQ
/// recognised for the year with its §6 reward, §7 subsidies and §8, §10, §12 parameters. The
/// access of `benefitsOfYear`: a district's token gets its own district's HQs only, a viewer's
/// none.
pub(super) async fn export_benefits(
    state: web::Data<HttpState>,
    req: HttpRequest,
    file: web::Path<String>,
) -> HttpResult {
    within_budget(&state, &req, benefits(&state, &req, file.into_inner())).await
}

async fn benefits(state: &HttpState, req: &HttpRequest, file: String) -> HttpResult {
    let actor = actor_of(req, state).await?;
    let year = file
        .strip_suffix(".xlsx")
        .ok_or_else(|| AppError::NotFound("the benefits export is .xlsx".into()))?;
    let year = year
        .parse::<i32>()
        .map_err(|_| AppError::bad_input("year", "not a year"))?;
    let book = export::benefits_export(&state.api.db, &actor, year).await?;
    Ok(attachment(
        XLSX_TYPE,
        &format!("benefits-{year}.xlsx"),
        workbook::benefits_workbook(&book)?,
    ))
}

/// `GET /exports/recognitions/{year}.csv[?decidedOn=YYYY-MM-DD]`: the yearly round, the dry-run
/// verdict of every enterprise in the registry on the decision date (default: today in
/// Hangzhou), one row each by credit code, as `recognitionRound` answers them. The access of
/// `recognitionRound`: a district's token gets the enterprises registered in its district today.
/// The file is streamed a chunk at a time, so its size does not bound the service's memory; a
/// refusal (a year outside the rounds, no rule set in force) is answered before the first byte.
pub(super) async fn export_recognitions(
    state: web::Data<HttpState>,
    req: HttpRequest,
    file: web::Path<String>,
) -> HttpResult {
    within_budget(&state, &req, recognitions(&state, &req, file.into_inner())).await
}

async fn recognitions(state: &HttpState, req: &HttpRequest, file: String) -> HttpResult {
    use futures_util::stream;

    let actor = actor_of(req, state).await?;
    crate::auth::access::authorize("Query", "recognitionRound", &Caller::Actor(actor.clone()))?;
    let year = file
        .strip_suffix(".csv")
        .ok_or_else(|| AppError::NotFound("the recognition round export is .csv".into()))?;
    let year = year
        .parse::<i32>()
        .map_err(|_| AppError::bad_input("year", "not a year"))?;
    let query = web::Query::<HashMap<String, String>>::from_query(req.query_string())
        .map_err(|_| AppError::bad_input("query", "the query string cannot be read"))?;
    let decided_on = match query.get("decidedOn") {
        None => crate::services::registry::today(),
        // The API's `Date`: exactly YYYY-MM-DD, a real day of 1900 to 2099.
        Some(text) => crate::policy::dates::parse_iso_date(text)
            .map_err(|err| AppError::bad_input("decidedOn", err.to_string()))?,
    };
    let round = round::Round::start(
        state.api.db.clone(),
        state.api.policy.clone(),
        &actor,
        year,
        decided_on,
    )
    .await?;
    // The header first, then a chunk of rows per step; an error after the first byte can only
    // cut the response short, which the client sees as an incomplete transfer.
    let body = stream::unfold(Some((round, true)), |state| async move {
        let (mut round, first) = state?;
        let chunk = match round.next_chunk().await {
            Ok(Some(rows)) => rows,
            Ok(None) if first => Vec::new(),
            Ok(None) => return None,
            Err(err) => {
                tracing::error!(error = %err, "the recognition round export stopped");
                return Some((Err(actix_web::error::ErrorInternalServerError(err)), None));
            }
        };
        let done = chunk.is_empty();
        match round::csv_rows(&chunk, first) {
            Ok(bytes) => Some((
                Ok(web::Bytes::from(bytes)),
                (!done).then_some((round, false)),
            )),
            Err(err) => Some((Err(actix_web::error::ErrorInternalServerError(err)), None)),
        }
    });
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"recognitions-{year}-{decided_on}.csv\""),
        ))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .streaming(body))
}
