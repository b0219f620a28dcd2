//! Subcommands.

pub mod demo;
pub mod detect;
pub mod ingest;
pub mod rules;
pub mod store;
