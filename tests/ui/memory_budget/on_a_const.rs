use fba::memory_budget;

#[memory_budget(4096)]
const HEADER_FIELDS: usize = 3;

fn main() {
    let _ = HEADER_FIELDS;
}
