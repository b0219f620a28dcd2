//! Integration tests of the store, in one binary (each binary links DataFusion).

mod common;
mod crash;
mod duckdb;
mod roundtrip;
mod tamper;
