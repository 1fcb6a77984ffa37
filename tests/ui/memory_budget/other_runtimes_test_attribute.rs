use fba::memory_budget;

#[memory_budget(4096)]
#[async_std::test]
async fn parses_a_header() {
    let header = String::from("Host: example.org");
    assert_eq!(header.len(), 17);
}

fn main() {}
