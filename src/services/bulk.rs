//! Reads of thousands of rows at once, as one row on SQLite.
//!
//! sqlx's SQLite driver steps every statement on a worker thread of its own and hands each row
//! to the caller over a channel, one thread wake-up per row: on the bench's city data about 2 µs
//! a row and a quarter of a microsecond a column, several times what SQLite itself spends on
//! the read (2,000 payment lines: 11.5 ms through the driver, under 1 ms in the `sqlite3`
//! shell). So on SQLite a large read is answered as one row: SQLite builds the rows' JSON array
//! (`json_group_array`, each row a `json_array` of its columns) and it is decoded here, 2–3 ms
//! for the same lines. PostgreSQL sends rows in its binary protocol on the caller's task; its
//! rows are read as rows.
//!
//! The rows come back in no promised order on SQLite (an aggregate takes its input rows in any
//! order): callers sort what they read. Dates and times decode from the ISO 8601 text sqlx
//! stores them as (a time with its offset); a BLOB column cannot be read this way (JSON holds
//! no bytes), and no entity read here has one.

use sea_orm::{
    ColumnTrait, ColumnType, ConnectionTrait, DbBackend, EntityTrait, Iterable, QuerySelect,
    QueryTrait, Select, Statement, TryGetableMany,
};
use serde::de::DeserializeOwned;

use crate::error::{AppError, AppResult};

/// Every row of `select` as a whole model, in no promised order.
///
/// # Errors
/// Database errors; an internal error for a row SQLite encoded in a way the model cannot read.
pub(crate) async fn models<E, C>(conn: &C, select: Select<E>) -> AppResult<Vec<E::Model>>
where
    E: EntityTrait,
    E::Model: DeserializeOwned,
    C: ConnectionTrait,
{
    if conn.get_database_backend() != DbBackend::Sqlite {
        return Ok(select.all(conn).await?);
    }
    // A model reads its fields in column order, from a JSON array as from a row.
    let columns: Vec<E::Column> = E::Column::iter().collect();
    as_json(
        conn,
        select.select_only().columns(columns.clone()),
        &columns,
    )
    .await
}

/// Every row of `select` as the tuple `T` of `columns`, in no promised order.
///
/// # Errors
/// Database errors; an internal error for a row SQLite encoded in a way `T` cannot read.
pub(crate) async fn tuples<E, T, C>(
    conn: &C,
    select: Select<E>,
    columns: &[E::Column],
) -> AppResult<Vec<T>>
where
    E: EntityTrait,
    T: TryGetableMany + DeserializeOwned,
    C: ConnectionTrait,
{
    let select = select.select_only().columns(columns.iter().copied());
    if conn.get_database_backend() != DbBackend::Sqlite {
        return Ok(select.into_tuple::<T>().all(conn).await?);
    }
    as_json(conn, select, columns).await
}

/// `select` (of exactly `columns`) on SQLite as one JSON array of rows, decoded.
async fn as_json<E, T, C>(conn: &C, select: Select<E>, columns: &[E::Column]) -> AppResult<Vec<T>>
where
    E: EntityTrait,
    T: DeserializeOwned,
    C: ConnectionTrait,
{
    let inner = select.build(DbBackend::Sqlite);
    let row = columns
        .iter()
        .map(|column| json_value(*column))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "SELECT json_group_array(json_array({row})) AS \"rows\" FROM ({}) AS \"read\"",
        inner.sql
    );
    let result = conn
        .query_one_raw(Statement {
            sql,
            values: inner.values,
            db_backend: DbBackend::Sqlite,
        })
        .await?
        .ok_or_else(|| AppError::internal("an aggregate answered no row"))?;
    let text: String = result.try_get("", "rows")?;
    serde_json::from_str(&text)
        .map_err(|e| AppError::internal(format!("a JSON-encoded read did not decode: {e}")))
}

/// The JSON value of `column` in a row of the inner select (by its output name): SQLite stores
/// a boolean as 0 or 1, which becomes `true` or `false`; dates and times are stored as their
/// ISO 8601 text, which is what their types read from JSON; every other value is itself.
fn json_value<Col: ColumnTrait>(column: Col) -> String {
    let name = format!("\"{}\"", column.as_str().replace('"', "\"\""));
    match column.def().get_column_type() {
        ColumnType::Boolean => format!(
            "json(CASE WHEN {name} IS NULL THEN 'null' WHEN {name} THEN 'true' ELSE 'false' END)"
        ),
        _ => name,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{NaiveDate, TimeZone, Utc};
    use entity::{enterprise_facts, enterprises, payment_lines};
    use sea_orm::{
        ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, QueryFilter,
        QueryOrder,
    };

    #[test]
    fn a_boolean_column_becomes_a_json_boolean_and_others_are_quoted_names() {
        assert_eq!(
            json_value(enterprise_facts::Column::OwnsOffice),
            "json(CASE WHEN \"owns_office\" IS NULL THEN 'null' WHEN \"owns_office\" THEN 'true' \
             ELSE 'false' END)"
        );
        assert_eq!(
            json_value(enterprise_facts::Column::ValidFrom),
            "\"valid_from\""
        );
    }

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("a date")
    }

    /// A migrated in-memory database with one enterprise, two versions of its facts and two
    /// payment lines, holding the values a JSON round trip could spoil: text with quotes,
    /// backslashes, a line break and CJK characters; NULL and present optional values; both
    /// booleans; a time with microseconds; the largest amount a money column takes.
    async fn database() -> DatabaseConnection {
        let db = crate::db::memory_database().await;
        let at = Utc
            .timestamp_opt(1_733_212_345, 123_456_000)
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
        for (from, to, name, district, owns, capital) in [
            (
                date(2020, 1, 1),
                Some(date(2023, 12, 31)),
                "杭州\"总部\"\\有限公司\n",
                Some("330106"),
                true,
                Some(99_999_999_999_999_i64),
            ),
            (
                date(2024, 1, 1),
                None,
                "杭州总部有限公司",
                None,
                false,
                None,
            ),
        ] {
            enterprise_facts::ActiveModel {
                enterprise_id: Set(enterprise.id),
                valid_from: Set(from),
                valid_to: Set(to),
                name: Set(name.into()),
                district_code: Set(district.map(str::to_owned)),
                hangzhou_since: Set(None),
                industry_code: Set("7211".into()),
                ownership: Set("PRIVATE".into()),
                industrial_guidance: Set(false),
                independent_legal_person: Set(true),
                deemed_legal_person: Set(false),
                operating: Set(true),
                unified_accounting: Set(false),
                rd_facilities: Set(owns),
                rd_stable_funding: Set(!owns),
                outside_units: Set(3),
                listing_exchange: Set(None),
                listed_entity_in_hangzhou: Set(false),
                dishonest: Set(false),
                owns_office: Set(owns),
                registered_capital_fen: Set(capital),
                ..Default::default()
            }
            .insert(&db)
            .await
            .expect("facts");
        }
        for (seq, transaction_date, amount) in [
            (1, None, 12_345_i64),
            (2, Some(date(2024, 3, 1)), 99_999_999_999_999_i64),
        ] {
            payment_lines::ActiveModel {
                seq: Set(seq),
                district_code: Set("330106".into()),
                fiscal_year: Set(2024),
                enterprise_id: Set(enterprise.id),
                credit_code: Set("91330100MA2B3C4D5E".into()),
                kind: Set(if transaction_date.is_some() {
                    "PURCHASE"
                } else {
                    "RENT"
                }
                .into()),
                subsidy_year: Set(2024),
                contract_no: Set("HT-\"7\"\\2024".into()),
                basis_fen: Set(amount),
                transaction_date: Set(transaction_date),
                amount_fen: Set(amount),
                payment_date: Set(date(2024, 4, 15)),
                voucher_no: Set(format!("凭证-{seq}")),
                reported_at: Set(at),
                reported_by: Set("district:330106".into()),
                ..Default::default()
            }
            .insert(&db)
            .await
            .expect("payment line");
        }
        db
    }

    #[tokio::test]
    async fn models_read_through_json_equal_the_rows_read_as_rows() {
        let db = database().await;
        let mut facts = models(&db, enterprise_facts::Entity::find())
            .await
            .expect("read as JSON");
        facts.sort_by_key(|f| f.id);
        let rows = enterprise_facts::Entity::find()
            .order_by_asc(enterprise_facts::Column::Id)
            .all(&db)
            .await
            .expect("read as rows");
        assert_eq!(facts.len(), 2);
        assert_eq!(facts, rows);

        let mut lines = models(
            &db,
            payment_lines::Entity::find().filter(payment_lines::Column::FiscalYear.eq(2024)),
        )
        .await
        .expect("read as JSON");
        lines.sort_by_key(|l| l.seq);
        let rows = payment_lines::Entity::find()
            .order_by_asc(payment_lines::Column::Seq)
            .all(&db)
            .await
            .expect("read as rows");
        assert_eq!(lines.len(), 2);
        assert_eq!(lines, rows);
        assert_eq!(lines[1].amount_fen, 99_999_999_999_999);
    }

    #[tokio::test]
    async fn tuples_read_through_json_equal_the_rows_read_as_rows_and_none_is_empty() {
        let db = database().await;
        let columns = [
            enterprise_facts::Column::EnterpriseId,
            enterprise_facts::Column::ValidTo,
            enterprise_facts::Column::OwnsOffice,
            enterprise_facts::Column::DistrictCode,
        ];
        type Row = (i64, Option<NaiveDate>, bool, Option<String>);
        let mut read: Vec<Row> = tuples(&db, enterprise_facts::Entity::find(), &columns)
            .await
            .expect("read as JSON");
        read.sort_by_key(|row| row.1);
        let mut rows: Vec<Row> = enterprise_facts::Entity::find()
            .select_only()
            .columns(columns)
            .into_tuple()
            .all(&db)
            .await
            .expect("read as rows");
        rows.sort_by_key(|row| row.1);
        assert_eq!(read, rows);
        assert!(read[1].2);
        assert!(!read[0].2);

        let none: Vec<Row> = tuples(
            &db,
            enterprise_facts::Entity::find().filter(enterprise_facts::Column::EnterpriseId.eq(-1)),
            &columns,
        )
        .await
        .expect("an empty read");
        assert!(none.is_empty());
    }
}
