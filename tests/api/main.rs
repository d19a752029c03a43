//! The black-box API tests: one binary, each test on its own server and database.

mod access;
mod auth;
mod demo;
mod districts;
mod enterprises;
mod exports;
mod health;
mod helpers;
mod payments;
mod recognition;
mod schema;
