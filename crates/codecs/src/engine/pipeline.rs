//! The parallel engine's pipeline: one producer (the calling thread), `threads` workers and one
//! in-order consumer, joined by bounded queues.
//!
//! Why not batches on a pool: a batch ends when its slowest chunk does, and the next batch's
//! source read or the previous batch's `H5Dwrite_chunk` only overlaps whole batches. Profiled
//! (`perf record -g`, `stemz compress` of the paper-scale 4D_EELS with gzip_6, balanced chunks,
//! 2 threads), the batched engine used 133 % CPU: one worker had 27 s of samples, the other
//! 15 s, the feeding thread 8 s. Here a worker takes the next item as soon as it is free, the
//! producer runs ahead while workers compress, and the consumer stores items as they complete.
//!
//! Invariants:
//! - `consume` sees every item once, in the order `produce` sent them (a reorder buffer), so
//!   the output does not depend on scheduling.
//! - At most `in_flight` items are between `send` and the end of their `consume` (credits the
//!   consumer returns), which bounds memory whatever the sizes of the source and output.
//! - The first failure stops everything: the producer's `send` then fails, workers stop, and
//!   [`run`] returns the failure that came first in the pipeline's order (consumer or worker
//!   before producer, since a stopped consumer makes the producer's `send` fail).

use crate::error::{CodecError, Result};
use std::collections::BTreeMap;
use std::sync::mpsc::{sync_channel, Receiver};
use std::sync::Mutex;

/// The number of worker threads for a requested count (0 = one per core).
pub(super) fn worker_count(threads: usize) -> usize {
    match threads {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    }
}

/// Run the pipeline. `produce` is called once on this thread with a `send` function; each sent
/// item is passed to `work` on one of `threads` workers, and each result to `consume` on a
/// consumer thread, in send order. Returns the number of items consumed.
pub(super) fn run<I, O, P, W, C>(
    threads: usize,
    in_flight: usize,
    produce: P,
    work: W,
    mut consume: C,
) -> Result<usize>
where
    I: Send,
    O: Send,
    P: FnOnce(&mut dyn FnMut(I) -> Result<()>) -> Result<()>,
    W: Fn(I) -> Result<O> + Sync,
    C: FnMut(O) -> Result<()> + Send,
{
    let threads = threads.max(1);
    let in_flight = in_flight.max(threads);
    let (job_tx, job_rx) = sync_channel::<(usize, I)>(in_flight);
    let job_rx = Mutex::new(job_rx);
    let (done_tx, done_rx) = sync_channel::<(usize, Result<O>)>(in_flight);
    let (credit_tx, credit_rx) = sync_channel::<()>(in_flight);
    for _ in 0..in_flight {
        credit_tx.send(()).expect("the receiver is alive");
    }
    std::thread::scope(|scope| -> Result<usize> {
        let consumer = scope.spawn(move || -> Result<usize> {
            let mut pending: BTreeMap<usize, O> = BTreeMap::new();
            let mut next = 0usize;
            for (index, result) in done_rx {
                pending.insert(index, result?);
                while let Some(out) = pending.remove(&next) {
                    consume(out)?;
                    next += 1;
                    // The producer may have finished: a dropped receiver is not an error.
                    let _ = credit_tx.send(());
                }
            }
            Ok(next)
        });
        let work = &work;
        let job_rx = &job_rx;
        for _ in 0..threads {
            let done_tx = done_tx.clone();
            scope.spawn(move || {
                loop {
                    // The lock is held only while waiting for the next item.
                    let job = job_rx.lock().map(|rx| rx.recv());
                    let Ok(Ok((index, item))) = job else { break };
                    if done_tx.send((index, work(item))).is_err() {
                        break; // the consumer stopped on an error
                    }
                }
            });
        }
        drop(done_tx);
        let mut sent = 0usize;
        let produced = produce(&mut |item: I| -> Result<()> {
            take_credit(&credit_rx)?;
            job_tx.send((sent, item)).map_err(|_| stopped())?;
            sent += 1;
            Ok(())
        });
        // No more items: workers drain the queue and stop, then the consumer does.
        drop(job_tx);
        let consumed = consumer
            .join()
            .map_err(|_| CodecError::Invalid("a pipeline thread panicked".into()))?;
        match (consumed, produced) {
            // The consumer's (or a worker's) error is the cause when both failed.
            (Err(e), _) => Err(e),
            (Ok(_), Err(e)) => Err(e),
            (Ok(n), Ok(())) if n == sent => Ok(n),
            (Ok(n), Ok(())) => Err(CodecError::Invalid(format!(
                "the pipeline consumed {n} of {sent} items"
            ))),
        }
    })
}

fn take_credit(credits: &Receiver<()>) -> Result<()> {
    credits.recv().map_err(|_| stopped())
}

fn stopped() -> CodecError {
    CodecError::Invalid("the chunk pipeline stopped".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn consumes_every_item_in_send_order_whatever_the_work_takes() {
        let mut seen = Vec::new();
        let n = run(
            3,
            4,
            |send| (0..200u64).try_for_each(&mut *send),
            |i| {
                // Later items finish first often: a reorder is needed.
                if i % 7 == 0 {
                    std::thread::sleep(std::time::Duration::from_millis(2));
                }
                Ok(i * 10)
            },
            |o| {
                seen.push(o);
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(n, 200);
        assert_eq!(seen, (0..200u64).map(|i| i * 10).collect::<Vec<_>>());
    }

    #[test]
    fn never_holds_more_than_in_flight_items() {
        let live = AtomicUsize::new(0);
        let peak = AtomicUsize::new(0);
        run(
            2,
            5,
            |send| {
                (0..100).try_for_each(|i| {
                    let now = live.fetch_add(1, Ordering::SeqCst) + 1;
                    peak.fetch_max(now, Ordering::SeqCst);
                    send(i)
                })
            },
            |i: i32| Ok(i),
            |_| {
                live.fetch_sub(1, Ordering::SeqCst);
                Ok(())
            },
        )
        .unwrap();
        // An item counts as live from just before its send to the end of its consume; the
        // producer may count the one it is about to send while waiting for a credit.
        assert!(peak.load(Ordering::SeqCst) <= 6, "peak {peak:?}");
    }

    #[test]
    fn a_worker_error_stops_the_producer_and_is_returned() {
        let sent = AtomicUsize::new(0);
        let r = run(
            2,
            3,
            |send| {
                (0..1_000_000).try_for_each(|i| {
                    sent.fetch_add(1, Ordering::SeqCst);
                    send(i)
                })
            },
            |i: i32| {
                if i == 10 {
                    Err(CodecError::Invalid("chunk 10 is bad".into()))
                } else {
                    Ok(i)
                }
            },
            |_| Ok(()),
        );
        let e = r.unwrap_err().to_string();
        assert!(e.contains("chunk 10 is bad"), "{e}");
        assert!(sent.load(Ordering::SeqCst) < 100, "the producer ran on");
    }

    #[test]
    fn a_consumer_error_wins_over_the_producer_stopping() {
        let r = run(
            2,
            2,
            |send| (0..1000).try_for_each(&mut *send),
            |i: i32| Ok(i),
            |o| {
                if o == 5 {
                    Err(CodecError::Invalid("disk full".into()))
                } else {
                    Ok(())
                }
            },
        );
        assert!(r.unwrap_err().to_string().contains("disk full"));
    }

    #[test]
    fn a_producer_error_is_returned() {
        let r = run(
            2,
            2,
            |send| {
                send(1)?;
                Err(CodecError::Invalid("source truncated".into()))
            },
            |i: i32| Ok(i),
            |_| Ok(()),
        );
        assert!(r.unwrap_err().to_string().contains("source truncated"));
    }
}
