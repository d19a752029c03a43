//! Transactions: load facts, call the policy, persist, audit. One file per domain.

/// The append-only audit log.
pub mod audit;
/// Bulk import of payment lines from CSV files.
pub mod csv_import;
/// Reading districts.
pub mod districts;
/// The enterprise registry: §19 events, the dated facts folded from them, yearly figures.
pub mod enterprises;
/// Settlement exports (CSV and XLSX).
pub mod export;
/// `Idempotency-Key`: stored answers of mutations, replayed on retry.
pub mod idempotency;
/// The period lock of approved fiscal years (§20 step 5).
pub mod locks;
/// Policy parameters: dated versions, read as a set, appended (never edited).
pub mod parameters;
/// Payment reports and claims (§20 steps 1 and 2).
pub mod payments;
/// Recognition, star ratings and rewards, revocations, the published list and the §1 targets.
pub mod recognition;
/// Idempotent seed data: districts, the rule set and the default policy parameters.
pub mod seed;
/// Reconciliation, settlement, approval, findings and adjustments (§20 steps 3 to 6).
pub mod settlement;
/// Write transactions (IMMEDIATE on SQLite).
pub mod tx;
