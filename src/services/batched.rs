//! Batched reads of the nested fields of many enterprises at once (their recognitions, star
//! ratings and latest payment lines), one statement per batch, for the API's data loader.

use std::collections::HashMap;

use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, FromQueryResult, QueryFilter, QueryOrder,
    Statement,
};

use super::records::{PaymentLineRecord, RecognitionRecord, StarRatingRecord};
use crate::error::AppResult;

/// Ids per statement: well under SQLite's bind limit (32,766).
const IDS_PER_STATEMENT: usize = 500;

/// Every row of `E` whose `column` is one of `enterprise_ids`, ordered by `order` within each
/// enterprise, grouped by enterprise: one statement per 500 ids.
///
/// # Errors
/// Database errors.
pub async fn rows_of_many<E, C>(
    conn: &C,
    enterprise_ids: &[i64],
    column: E::Column,
    order: &[E::Column],
    enterprise_of: impl Fn(&E::Model) -> i64,
) -> AppResult<HashMap<i64, Vec<E::Model>>>
where
    E: EntityTrait,
    C: ConnectionTrait,
{
    let mut grouped: HashMap<i64, Vec<E::Model>> = HashMap::new();
    for chunk in enterprise_ids.chunks(IDS_PER_STATEMENT) {
        let mut query = E::find().filter(column.is_in(chunk.iter().copied()));
        for by in order {
            query = query.order_by_asc(*by);
        }
        for row in query.all(conn).await? {
            grouped.entry(enterprise_of(&row)).or_default().push(row);
        }
    }
    Ok(grouped)
}

/// Every recognition of each enterprise of `ids`, by year.
///
/// # Errors
/// Database errors.
pub async fn recognitions_of_many<C: ConnectionTrait>(
    conn: &C,
    ids: &[i64],
) -> AppResult<HashMap<i64, Vec<RecognitionRecord>>> {
    use entity::recognitions::{Column, Entity};
    rows_of_many::<Entity, _>(conn, ids, Column::EnterpriseId, &[Column::Year], |r| {
        r.enterprise_id
    })
    .await
}

/// Every star rating of each enterprise of `ids`, by year.
///
/// # Errors
/// Database errors.
pub async fn ratings_of_many<C: ConnectionTrait>(
    conn: &C,
    ids: &[i64],
) -> AppResult<HashMap<i64, Vec<StarRatingRecord>>> {
    use entity::star_ratings::{Column, Entity};
    rows_of_many::<Entity, _>(conn, ids, Column::EnterpriseId, &[Column::Year], |r| {
        r.enterprise_id
    })
    .await
}

/// The latest `limit` payment lines (payment date, then report order, newest first) of each
/// enterprise of `ids`, only those `district` reported if given: one statement, by a window.
///
/// # Errors
/// Database errors.
pub async fn latest_payments_of_many<C: ConnectionTrait>(
    conn: &C,
    ids: &[i64],
    limit: u32,
    district: Option<&str>,
) -> AppResult<HashMap<i64, Vec<PaymentLineRecord>>> {
    let backend = conn.get_database_backend();
    // Ids are integers: inlined, they need no bind parameter (SQLite's limit is 32,766).
    let list = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
    let only = match (district, backend) {
        (None, _) => "",
        (Some(_), DbBackend::Postgres) => " AND district_code = $1",
        (Some(_), _) => " AND district_code = ?",
    };
    let sql = format!(
        "SELECT id, seq, district_code, fiscal_year, enterprise_id, credit_code, kind, \
         subsidy_year, contract_no, basis_fen, transaction_date, amount_fen, payment_date, \
         voucher_no, reported_at, reported_by FROM (SELECT p.*, ROW_NUMBER() OVER \
         (PARTITION BY enterprise_id ORDER BY payment_date DESC, seq DESC) AS rn \
         FROM payment_lines p WHERE enterprise_id IN ({list}){only}) ranked \
         WHERE rn <= {limit} ORDER BY enterprise_id, payment_date DESC, seq DESC"
    );
    let values: Vec<sea_orm::Value> = district.iter().map(|d| (*d).into()).collect();
    let rows =
        PaymentLineRecord::find_by_statement(Statement::from_sql_and_values(backend, sql, values))
            .all(conn)
            .await?;
    let mut grouped: HashMap<i64, Vec<PaymentLineRecord>> = HashMap::new();
    for row in rows {
        grouped.entry(row.enterprise_id).or_default().push(row);
    }
    Ok(grouped)
}
