//! [`block_on`]: a small executor for futures that need no runtime (no
//! timers, no I/O reactor), as `#[memory_budget]` drives an `async fn`
//! written without `#[tokio::test]`.

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};

/// Wakes the thread that runs [`block_on`].
struct Unpark(Thread);

impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

/// Runs `future` to completion on the calling thread, parking it while the
/// future is pending. Its own allocation (the waker) is made outside any
/// budget, so in a global-mode budget only the future's allocations count.
///
/// A future that waits for a runtime's timers or I/O never completes here:
/// drive those on their runtime (`#[tokio::test]` below `#[memory_budget]`).
///
/// # Examples
///
/// ```
/// let answer = fba::block_on(async {
///     let half = async { 21 };
///     half.await * 2
/// });
/// assert_eq!(answer, 42);
/// ```
pub fn block_on<F: Future>(future: F) -> F::Output {
    let waker = crate::global::suspended(|| Waker::from(Arc::new(Unpark(thread::current()))));
    let mut context = Context::from_waker(&waker);
    let mut future = pin!(future);
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut context) {
            return output;
        }
        // A wake before the park makes the park return at once.
        thread::park();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};

    /// Pending until another thread sets its flag and wakes it.
    struct WokenByAnotherThread {
        done: Arc<AtomicBool>,
        spawned: bool,
    }

    impl Future for WokenByAnotherThread {
        type Output = &'static str;

        fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
            if self.done.load(Ordering::Acquire) {
                return Poll::Ready("woken");
            }
            if !self.spawned {
                self.spawned = true;
                let (done, waker) = (Arc::clone(&self.done), cx.waker().clone());
                thread::spawn(move || {
                    done.store(true, Ordering::Release);
                    waker.wake();
                });
            }
            Poll::Pending
        }
    }

    #[test]
    fn a_future_woken_by_another_thread_completes() {
        let future = WokenByAnotherThread {
            done: Arc::new(AtomicBool::new(false)),
            spawned: false,
        };
        assert_eq!(block_on(future), "woken");
    }
}
