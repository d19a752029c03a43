//! Batched reads of the nested fields of many enterprises at once (their recognitions, star
//! ratings and latest payment lines), one statement per batch, for the API's data loader.

use std::collections::HashMap;

use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, FromQueryResult, QueryFilter, QueryOrder,
    Statement,
};

use super::records::{PaymentLineRecord, RecognitionRecord, StarRatingRecord};
use crate::error::AppResult;

fn group_by_enterprise<T>(rows: Vec<T>, id: impl Fn(&T) -> i64) -> HashMap<i64, Vec<T>> {
    let mut map: HashMap<i64, Vec<T>> = HashMap::new();
    for row in rows {
        map.entry(id(&row)).or_default().push(row);
    }
    map
}

/// Every recognition of each enterprise of `ids`, by year.
///
/// # Errors
/// Database errors.
pub async fn recognitions_of_many<C: ConnectionTrait>(
    conn: &C,
    ids: &[i64],
) -> AppResult<HashMap<i64, Vec<RecognitionRecord>>> {
    let rows = entity::recognitions::Entity::find()
        .filter(entity::recognitions::Column::EnterpriseId.is_in(ids.iter().copied()))
        .order_by_asc(entity::recognitions::Column::Year)
        .all(conn)
        .await?;
    Ok(group_by_enterprise(rows, |r| r.enterprise_id))
}

/// Every star rating of each enterprise of `ids`, by year.
///
/// # Errors
/// Database errors.
pub async fn ratings_of_many<C: ConnectionTrait>(
    conn: &C,
    ids: &[i64],
) -> AppResult<HashMap<i64, Vec<StarRatingRecord>>> {
    let rows = entity::star_ratings::Entity::find()
        .filter(entity::star_ratings::Column::EnterpriseId.is_in(ids.iter().copied()))
        .order_by_asc(entity::star_ratings::Column::Year)
        .all(conn)
        .await?;
    Ok(group_by_enterprise(rows, |r| r.enterprise_id))
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
    Ok(group_by_enterprise(rows, |r| r.enterprise_id))
}
