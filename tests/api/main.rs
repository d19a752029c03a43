//! The black-box API tests: one binary, each test on its own server and database.

mod access;
mod auth;
mod concurrency;
mod confidentiality;
mod crash;
mod demo;
mod districts;
mod enterprises;
mod exports;
mod fuzz;
mod health;
mod helpers;
mod hostile;
mod idempotency;
mod introspection;
mod money_bounds;
mod outage;
mod payments;
mod recognition;
mod schema;
mod settlement;
mod strict_inputs;
mod transport;
