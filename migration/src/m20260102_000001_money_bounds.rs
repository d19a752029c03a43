//! Bounds every money column a user fills to ±1,000,000,000,000.00 yuan (100,000,000,000,000 fen),
//! the service's `Money::MAX_INPUT`: the service refuses larger inputs first, and this is the net
//! under it, so no row from any path (a bug, a script, a restore) holds an amount whose sums the
//! service cannot compute.
//!
//! PostgreSQL gets a `CHECK` constraint per column. SQLite cannot add a constraint to an existing
//! table, so it gets a `BEFORE INSERT` and a `BEFORE UPDATE OF` trigger per column that aborts
//! with the constraint's name. Either way the violation's text names `ck_<table>_<column>_bound`,
//! which the service maps to `BAD_USER_INPUT` (never showing SQL). On PostgreSQL adding the
//! constraint checks the rows already stored: a database holding an amount beyond the bound is
//! corrupt, and the migration stops on it rather than carry it on.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

/// `Money::MAX_INPUT` in fen. Migrations stand alone (they never import the service); the service
/// checks that this value is its own bound.
pub const MONEY_BOUND_FEN: i64 = 100_000_000_000_000;

/// The money columns users fill: (table, column). Computed totals (claims, verdicts, settlements,
/// adjustments) are sums or shares of these and are checked in arithmetic, not here.
pub const BOUNDED_COLUMNS: [(&str, &str); 6] = [
    ("payment_lines", "basis_fen"),
    ("payment_lines", "amount_fen"),
    ("enterprise_figures", "revenue_fen"),
    ("enterprise_figures", "rd_spend_fen"),
    ("enterprise_facts", "registered_capital_fen"),
    ("settlements", "budget_fen"),
];

/// The name of the bound on `table.column`, as violations report it.
pub fn bound_name(table: &str, column: &str) -> String {
    format!("ck_{table}_{column}_bound")
}

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let conn = manager.get_connection();
        let postgres = manager.get_database_backend() == DbBackend::Postgres;
        for (table, column) in BOUNDED_COLUMNS {
            let name = bound_name(table, column);
            let outside = format!("{column} NOT BETWEEN -{MONEY_BOUND_FEN} AND {MONEY_BOUND_FEN}");
            if postgres {
                conn.execute_unprepared(&format!(
                    "ALTER TABLE {table} ADD CONSTRAINT {name} \
                     CHECK ({column} BETWEEN -{MONEY_BOUND_FEN} AND {MONEY_BOUND_FEN})"
                ))
                .await?;
            } else {
                // A NULL (an unknown registered capital) makes the WHEN unknown: no abort.
                conn.execute_unprepared(&format!(
                    "CREATE TRIGGER {name}_insert BEFORE INSERT ON {table} \
                     WHEN NEW.{outside} BEGIN SELECT RAISE(ABORT, '{name}'); END"
                ))
                .await?;
                conn.execute_unprepared(&format!(
                    "CREATE TRIGGER {name}_update BEFORE UPDATE OF {column} ON {table} \
                     WHEN NEW.{outside} BEGIN SELECT RAISE(ABORT, '{name}'); END"
                ))
                .await?;
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let conn = manager.get_connection();
        let postgres = manager.get_database_backend() == DbBackend::Postgres;
        for (table, column) in BOUNDED_COLUMNS {
            let name = bound_name(table, column);
            if postgres {
                conn.execute_unprepared(&format!("ALTER TABLE {table} DROP CONSTRAINT {name}"))
                    .await?;
            } else {
                conn.execute_unprepared(&format!("DROP TRIGGER {name}_insert"))
                    .await?;
                conn.execute_unprepared(&format!("DROP TRIGGER {name}_update"))
                    .await?;
            }
        }
        Ok(())
    }
}
