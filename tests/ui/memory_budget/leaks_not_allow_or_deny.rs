use fba::memory_budget;

#[memory_budget(4096, leaks = "warn")]
fn parses_a_header() {
    let header = String::from("Host: example.org");
    assert!(header.starts_with("Host"));
}

fn main() {}
