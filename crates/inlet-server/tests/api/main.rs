//! Black-box tests of the HTTP API: a real server on 127.0.0.1:0 over a fresh
//! embedded store per test, driven with an HTTP client. One test binary.

// `pub` inside a test binary only shares items between its modules.
#![allow(unreachable_pub)]

mod auth;
mod bad_input;
mod body_limit;
mod calls;
mod event;
mod helpers;
mod idempotency;
mod ingest;
mod isolation;
mod limits;
mod links;
mod merge;
mod metrics;
mod openapi;
mod outcomes;
mod rejections;
mod seeds;
