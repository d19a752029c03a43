//! The black-box API tests: one binary, each test on its own server and database.

mod access;
mod auth;
mod districts;
mod health;
mod helpers;
mod schema;
