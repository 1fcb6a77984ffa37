use fba::memory_budget;

struct Parser;

impl Parser {
    #[memory_budget(4096)]
    fn parses_a_header(&self) {}
}

fn main() {
    Parser.parses_a_header();
}
