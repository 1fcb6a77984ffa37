//! The three places in global mode, with std's collections.

use fba::memory_budget;
use sites_fixture::global;

#[global_allocator]
static GLOBAL: fba::GlobalBudget = fba::GlobalBudget::system();

#[memory_budget(1024)]
fn three_global_sites_over_budget() {
    let scratch = global::scratch();
    let name = global::name();
    drop(scratch);
    let header = global::header();
    assert_eq!((name.capacity(), header.len()), (100, 128));
}
