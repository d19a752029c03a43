//! hq-api: the system of record of Hangzhou's headquarters-economy policy (杭政办〔2023〕3号) and of
//! the fiscal settlement behind it. See `README.md` for a tour and `docs/rules.md` for the rules as applied.

/// Bearer tokens, actors, and the access table of every GraphQL root field.
pub mod auth;
/// Typed settings from defaults, `HQ_*` environment variables and flags.
pub mod config;
/// Database connection, migrations and seed.
pub mod db;
/// The demo data set of `hq-api demo-data`.
pub mod demo;
/// The one error type and its stable client-facing codes.
pub mod error;
/// The GraphQL schema: thin resolvers per domain.
pub mod graphql;
/// Prometheus metrics: names, bounded labels and the `/metrics` listener.
pub mod metrics;
/// Pure policy rules: verdicts with the clause that decided them. No I/O. The `policy` crate,
/// re-exported so that `crate::policy::…` reads as before.
pub use policy;
/// The HTTP edge: routes, time budgets, idempotency keys, file imports and exports.
pub mod http;
/// Whether the database is up yet: the district codes once it is, `/readyz` and a 503 until then.
pub mod readiness;
/// The rule book printed from the code (`hq-api rules --markdown`, `docs/rules.md`).
pub mod rules;
/// Transactions: load facts, call the policy, persist, audit.
pub mod services;
/// Building and running the server.
pub mod startup;
/// Logging: text or JSON lines to standard error.
pub mod telemetry;
