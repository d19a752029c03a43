//! `policy_generation`: one row whose `generation` every change to the stored policy
//! (`policy_parameters`, `rule_sets`, `rule_set_rules`: an insert, an update, a delete, on
//! PostgreSQL a truncate too) raises by one, in the changing transaction, by triggers.
//!
//! The service caches the parameter versions and rule sets and checks, with each verdict's own
//! statement, that the database still holds what it cached. Before this table that check
//! counted the three tables (four aggregates a verdict); reading one row is cheaper, and a
//! trigger sees every change, including one made outside the service.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The tables the generation follows.
const TABLES: [&str; 3] = ["policy_parameters", "rule_sets", "rule_set_rules"];

/// SQLite triggers are per row and per event: one per table and event.
const SQLITE_EVENTS: [&str; 3] = ["insert", "update", "delete"];

const BUMP: &str = "UPDATE policy_generation SET generation = generation + 1 WHERE id = 1";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let conn = manager.get_connection();
        conn.execute_unprepared(
            "CREATE TABLE policy_generation (\
             id INTEGER NOT NULL PRIMARY KEY CONSTRAINT ck_policy_generation_one_row CHECK (id = 1), \
             generation BIGINT NOT NULL)",
        )
        .await?;
        // Starting from the clock, not from 0: after a `down` and an `up` the table counts on
        // from a value no earlier generation held, so a running instance's cache of the old
        // count can never match.
        let start = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |since| since.as_micros());
        let start = <i64 as TryFrom<u128>>::try_from(start).unwrap_or(i64::MAX / 2);
        conn.execute_unprepared(&format!(
            "INSERT INTO policy_generation (id, generation) VALUES (1, {start})"
        ))
        .await?;
        if manager.get_database_backend() == DbBackend::Postgres {
            conn.execute_unprepared(&format!(
                "CREATE FUNCTION bump_policy_generation() RETURNS trigger LANGUAGE plpgsql AS \
                 $$ BEGIN {BUMP}; RETURN NULL; END $$"
            ))
            .await?;
            for table in TABLES {
                conn.execute_unprepared(&format!(
                    "CREATE TRIGGER {table}_generation \
                     AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table} \
                     FOR EACH STATEMENT EXECUTE FUNCTION bump_policy_generation()"
                ))
                .await?;
            }
        } else {
            for table in TABLES {
                for event in SQLITE_EVENTS {
                    conn.execute_unprepared(&format!(
                        "CREATE TRIGGER {table}_generation_{event} AFTER {event} ON {table} \
                         BEGIN {BUMP}; END"
                    ))
                    .await?;
                }
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let conn = manager.get_connection();
        if manager.get_database_backend() == DbBackend::Postgres {
            for table in TABLES {
                conn.execute_unprepared(&format!("DROP TRIGGER {table}_generation ON {table}"))
                    .await?;
            }
            conn.execute_unprepared("DROP FUNCTION bump_policy_generation()")
                .await?;
        } else {
            for table in TABLES {
                for event in SQLITE_EVENTS {
                    conn.execute_unprepared(&format!("DROP TRIGGER {table}_generation_{event}"))
                        .await?;
                }
            }
        }
        conn.execute_unprepared("DROP TABLE policy_generation")
            .await?;
        Ok(())
    }
}
