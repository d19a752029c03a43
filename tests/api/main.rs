//! The black-box API tests: one binary, each test on its own server and database.

mod access;
mod auth;
mod browser;
mod concurrency;
mod confidentiality;
mod cors;
mod crash;
mod demo;
mod districts;
mod enterprises;
mod exports;
mod fuzz;
mod graphiql;
mod health;
mod helpers;
mod hostile;
mod idempotency;
mod money_bounds;
mod outage;
mod payments;
mod persisted;
mod recognition;
mod schema;
mod settlement;
mod strict_inputs;
mod transport;
