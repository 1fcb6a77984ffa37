//! Integration tests of fba-core: real clients, a model-based property test
//! and threads hammering the thread-safe allocator.

mod clients;
mod model;
mod subject;
mod threads;
