use fba::memory_budget;

#[memory_budget(4096)]
fn parses_a_header() {
    let header = String::from("header");
    assert_eq!(header.len(), 6);
}

fn main() {}
