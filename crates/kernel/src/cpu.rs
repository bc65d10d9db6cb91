//! CPU-heavy steps inside async code.
//!
//! A bulk import seals thousands of fields and matches thousands of records in one go: hundreds
//! of milliseconds without an `.await`. Run on a Tokio worker like any other code, that stalls
//! every task queued on the same worker — among them the one holding SQLite's single write
//! slot, whose next statement then waits for a free worker while nobody else may write.

/// Batches smaller than this are handled inline: one record's work takes microseconds, less
/// than handing the worker's other tasks to another thread would.
pub const HANDOFF_ITEMS: usize = 64;

/// Runs `work` over a batch of `items` so that it does not stall the other tasks of this worker
/// thread: on the multi-threaded runtime, for a batch of at least [`HANDOFF_ITEMS`], the worker
/// first hands them to another thread (`tokio::task::block_in_place`); otherwise (a small
/// batch, a current-thread runtime as in tests, or no runtime) it simply runs `work`.
pub fn bound<R>(items: usize, work: impl FnOnce() -> R) -> R {
    match tokio::runtime::Handle::try_current() {
        Ok(h)
            if items >= HANDOFF_ITEMS
                && h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread =>
        {
            tokio::task::block_in_place(work)
        }
        _ => work(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn runs_without_a_runtime() {
        assert_eq!(super::bound(1_000, || 2 + 2), 4);
    }

    #[tokio::test]
    async fn runs_on_a_current_thread_runtime() {
        assert_eq!(super::bound(1_000, || "done"), "done");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn runs_on_a_multi_thread_runtime() {
        let mut v = vec![1, 2, 3];
        super::bound(1_000, || v.push(4));
        super::bound(1, || v.push(5));
        assert_eq!(v, [1, 2, 3, 4, 5]);
    }
}
