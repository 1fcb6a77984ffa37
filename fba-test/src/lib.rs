//! The runtime of `fba`'s memory budget tests.
