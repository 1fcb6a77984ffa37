use fba::memory_budget;

#[memory_budget(4096)]
struct Header {
    fields: usize,
}

fn main() {
    let _ = Header { fields: 3 }.fields;
}
