use fba::memory_budget;

#[memory_budget(4096)]
#[tokio::test(flavor = "local")]
async fn local_flavor() {}

#[memory_budget(4096)]
#[tokio::test(worker_threads = 2)]
async fn worker_threads_on_the_current_thread() {}

#[memory_budget(4096)]
#[tokio::test(unhandled_panic = "shutdown_runtime")]
async fn unhandled_panic() {}

#[memory_budget(4096)]
#[tokio::test(flavor = "multi_thread", start_paused = true)]
async fn paused_on_many_threads() {}

#[memory_budget(4096)]
#[tokio::test]
fn not_async() {}

fn main() {}
