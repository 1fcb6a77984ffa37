use fba::memory_budget;

#[memory_budget(4096)]
fn parses_a_header(input: &Vec<u8>) {
    assert!(input.is_empty());
}

fn main() {}
