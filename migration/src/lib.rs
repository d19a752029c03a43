//! Schema migrations of hq-api, run on SQLite and PostgreSQL alike.
//!
//! Migrations never import `entity`: each declares the identifiers it needs, so a later change
//! to an entity cannot change what an old migration does. Ids are `BIGINT` (SQLite: `INTEGER
//! PRIMARY KEY`), money is `BIGINT` fen, JSON and decimals are `TEXT`. Constraint and index
//! names (`fk_`, `uq_`, `ix_`, `ck_`) are part of the contract: the service maps `uq_...`
//! violations to `CONFLICT` and `ck_..._bound` ones to `BAD_USER_INPUT`. No seed data here:
//! districts, rule sets and parameters are seeded by the service.

pub use sea_orm_migration::prelude::*;

/// Registry: districts, rule sets, parameters, enterprises and the HQ decisions (§3-§6, §19, §22).
mod m20260101_000001_registry;
/// Fiscal settlement of §20: payment lines, claims, verdicts, settlements, findings, adjustments.
mod m20260101_000002_settlement;
/// Audit trail and idempotency keys.
mod m20260101_000003_audit;
/// The ±1,000,000,000,000.00 yuan bound on the money columns users fill (CHECK / triggers).
mod m20260102_000001_money_bounds;
/// The hash chain of the audit log, its head, and the head an approved settlement pins.
mod m20260201_000001_audit_chain;
/// Withdrawn payment lines, moved out of `payment_lines` with when, who and why.
mod m20260301_000001_withdrawn_lines;
/// Indexes giving each keyset-paged list its key in order.
mod m20260401_000001_keyset_indexes;
/// The rules each rule set applies, the rule set an amendment amends, and who registered it.
mod m20260501_000001_rule_set_rules;
/// Drops the verdicts' index on the claim alone, which the (claim, line) index covers.
mod m20261201_000001_redundant_verdict_index;
mod m20261203_000001_recognition_dates_index;
/// One row counting the changes to the stored policy, raised by triggers: the policy cache's
/// check.
mod m20261204_000001_policy_generation;

pub use m20260201_000001_audit_chain::{ChainFields, GENESIS_HASH, canonical_bytes, chain_hash};

pub use m20260102_000001_money_bounds::{BOUNDED_COLUMNS, MONEY_BOUND_FEN, bound_name};

/// Applies the schema migrations in order (`Migrator::up(&db, None)`).
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20260101_000001_registry::Migration),
            Box::new(m20260101_000002_settlement::Migration),
            Box::new(m20260101_000003_audit::Migration),
            Box::new(m20260102_000001_money_bounds::Migration),
            Box::new(m20260201_000001_audit_chain::Migration),
            Box::new(m20260301_000001_withdrawn_lines::Migration),
            Box::new(m20260401_000001_keyset_indexes::Migration),
            Box::new(m20260501_000001_rule_set_rules::Migration),
            Box::new(m20261201_000001_redundant_verdict_index::Migration),
            Box::new(m20261203_000001_recognition_dates_index::Migration),
            Box::new(m20261204_000001_policy_generation::Migration),
        ]
    }
}
