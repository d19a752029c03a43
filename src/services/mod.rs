//! Transactions: load facts, call the policy, persist, audit. One file per domain.

/// The append-only audit log.
pub mod audit;
/// Reading districts.
pub mod districts;
/// Idempotent seed data: districts, the rule set and the default policy parameters.
pub mod seed;
/// Write transactions (IMMEDIATE on SQLite).
pub mod tx;
