//! Files: `POST /imports/payments/{district}/{year}` (a district's CSV of payment lines) and
//! `GET /exports/settlements/…` (the settlement as CSV or XLSX).

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};

use super::budget::within_budget;
use super::{HttpError, HttpResult, HttpState, caller_of, has_content_type};
use crate::auth::{Actor, Caller, Role};
use crate::error::AppError;
use crate::policy::money::Money;
use crate::services::{csv_import, export, payments};

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
fn actor_of(req: &HttpRequest, state: &HttpState) -> Result<Actor, AppError> {
    match caller_of(req, &state.keys, &state.api)? {
        Caller::Actor(actor) => Ok(actor),
        Caller::Anonymous => Err(AppError::Unauthenticated(
            "this endpoint needs a bearer token".into(),
        )),
    }
}

/// `POST /imports/payments/{district}/{year}`: a district's CSV file of payment lines
/// (`text/csv`), imported through the same path as `reportPayments`, all or nothing.
pub(super) async fn import_payments(
    state: web::Data<HttpState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    payload: web::Payload,
) -> HttpResult {
    within_budget(&state, &req, import(&state, &req, path, payload)).await
}

async fn import(
    state: &HttpState,
    req: &HttpRequest,
    path: web::Path<(String, String)>,
    mut payload: web::Payload,
) -> HttpResult {
    use futures_util::StreamExt;
    let actor = actor_of(req, state)?;
    // Authorise from the headers, before a byte of the body is read: only the district itself
    // reports its payments (§20 step 1), and a declared length over the limit is refused at once.
    let (district, year) = path.into_inner();
    if actor.role != Role::District {
        return Err(AppError::Forbidden("only a district reports its payments".into()).into());
    }
    if let Some(own) = actor.district_scope()
        && own != district
    {
        return Err(AppError::Forbidden(format!(
            "a district actor may act only for its own district ({own})"
        ))
        .into());
    }
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|length| length > state.max_import_bytes as u64) {
        return Err(too_large());
    }
    if !has_content_type(req, "text/csv") {
        return Err(HttpError::with_status(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            AppError::bad_input("Content-Type", "send the file as text/csv"),
        ));
    }
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|_| AppError::bad_input("body", "the upload was interrupted"))?;
        if body.len() + chunk.len() > state.max_import_bytes {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    let year = fiscal_year(&year)?;
    let lines = csv_import::parse(&body)?;
    let outcome = payments::report(&state.api.db, &actor, &district, year, lines)
        .await
        .map_err(csv_import::name_rows)?;
    // Checked like the service's own total, which refuses a batch beyond the range.
    let created_amount = Money::checked_sum_fen(outcome.created.iter().map(|l| l.amount_fen))
        .ok_or_else(|| AppError::internal("the created amount overflows"))?;
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "created": outcome.created.len(),
        "unchanged": outcome.unchanged.len(),
        "createdAmount": created_amount.to_string(),
    })))
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

/// `GET /exports/settlements/{year}.csv` (district summary) or `.xlsx` (summary and lines).
/// A district's token gets its own district only.
pub(super) async fn export_settlement(
    state: web::Data<HttpState>,
    req: HttpRequest,
    file: web::Path<String>,
) -> HttpResult {
    within_budget(&state, &req, settlement(&state, &req, file.into_inner())).await
}

async fn settlement(state: &HttpState, req: &HttpRequest, file: String) -> HttpResult {
    let (year, extension) = file
        .split_once('.')
        .ok_or_else(|| AppError::NotFound("no such export".into()))?;
    let year = fiscal_year(year)?;
    let actor = actor_of(req, state)?;
    let settlement = export::settlement_export(&state.api.db, &actor, year).await?;
    match extension {
        "csv" => Ok(attachment(
            "text/csv; charset=utf-8",
            &format!("settlement-{year}.csv"),
            export::to_csv(&settlement.districts)?,
        )),
        "xlsx" => Ok(attachment(
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            &format!("settlement-{year}.xlsx"),
            export::to_xlsx(&settlement)?,
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
    let year = fiscal_year(&year)?;
    let actor = actor_of(req, state)?;
    let settlement = export::settlement_export(&state.api.db, &actor, year).await?;
    Ok(attachment(
        "text/csv; charset=utf-8",
        &format!("settlement-{year}-lines.csv"),
        export::to_csv(&settlement.lines)?,
    ))
}
