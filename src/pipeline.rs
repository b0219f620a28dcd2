//! Runs decoders over many inputs on a pool of threads and funnels their output to one
//! consumer on the calling thread.

use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{RecvTimeoutError, SyncSender, sync_channel};
use std::time::{Duration, Instant};

use anyhow::Result;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use vigil_ingest::input::{self, Input};
use vigil_ingest::{DeadLetter, DecodeStats, Decoder, DecoderConfig, Flush, IngestError, Sink};

/// What the workers send to the consumer: decoded batches with what the worker made of
/// them (`X`), and dead letters.
pub enum Msg<X = ()> {
    /// Batches decoded from one input, with its checkpoint, and the worker's result.
    Flush(Flush, X),
    /// A rejected record.
    Dead(DeadLetter),
}

/// The outcome of a whole run.
#[derive(Debug, Default)]
pub struct Summary {
    /// Counts over all inputs.
    pub stats: DecodeStats,
    /// Bytes read from the inputs as stored (compressed size for gzip).
    pub input_bytes: u64,
    /// Wall-clock seconds.
    pub seconds: f64,
    /// Inputs that could not be read at all, with the error.
    pub failed: Vec<(String, String)>,
    /// Number of inputs.
    pub inputs: usize,
}

struct ChannelSink<'w, W, X, F> {
    tx: SyncSender<Msg<X>>,
    state: &'w mut W,
    work: &'w F,
}

impl<W, X, F> Sink for ChannelSink<'_, W, X, F>
where
    F: Fn(&mut W, &Flush) -> Result<X>,
{
    fn flush(&mut self, flush: Flush) -> vigil_ingest::Result<()> {
        let x = (self.work)(self.state, &flush).map_err(|e| IngestError::Sink(format!("{e:#}")))?;
        self.tx
            .send(Msg::Flush(flush, x))
            .map_err(|_| IngestError::Sink("the output stage stopped".into()))
    }

    fn dead_letter(&mut self, dl: DeadLetter) -> vigil_ingest::Result<()> {
        self.tx
            .send(Msg::Dead(dl))
            .map_err(|_| IngestError::Sink("the output stage stopped".into()))
    }
}

/// Decodes `inputs` with `threads` workers (one input per worker at a time) and calls
/// `consume` on this thread for every message, in arrival order. A progress bar is drawn
/// on an interactive stderr when the inputs are large.
pub fn run(
    inputs: Vec<Input>,
    cfg: &DecoderConfig,
    threads: usize,
    consume: impl FnMut(Msg) -> Result<()>,
) -> Result<Summary> {
    run_with(
        inputs,
        cfg,
        threads,
        || Ok(()),
        |_: &mut (), _: &Flush| Ok(()),
        consume,
    )
}

/// [`run`], with per-worker state made by `worker` and `work` applied to every flush on
/// the worker thread (detection runs there); its result travels with the flush.
pub fn run_with<W, X: Send>(
    inputs: Vec<Input>,
    cfg: &DecoderConfig,
    threads: usize,
    worker: impl Fn() -> Result<W> + Sync,
    work: impl Fn(&mut W, &Flush) -> Result<X> + Sync,
    mut consume: impl FnMut(Msg<X>) -> Result<()>,
) -> Result<Summary> {
    let started = Instant::now();
    let total: u64 = inputs.iter().filter_map(Input::size).sum();
    let has_stdin = inputs.contains(&Input::Stdin);
    let read = Arc::new(AtomicU64::new(0));
    let next = AtomicUsize::new(0);
    let threads = threads.clamp(1, inputs.len().max(1));
    let (tx, rx) = sync_channel::<Msg<X>>(threads * 4);
    let (done_tx, done_rx) =
        std::sync::mpsc::channel::<(String, std::result::Result<DecodeStats, String>)>();
    let bar = progress_bar(total, has_stdin);
    let mut summary = Summary {
        inputs: inputs.len(),
        ..Summary::default()
    };
    let mut consume_error = None;
    std::thread::scope(|s| {
        for _ in 0..threads {
            let tx = tx.clone();
            let done_tx = done_tx.clone();
            let (inputs, next, read, worker, work) = (&inputs, &next, read.clone(), &worker, &work);
            s.spawn(move || {
                let mut state = match worker() {
                    Ok(s) => s,
                    Err(e) => {
                        let _ = done_tx.send(("worker".into(), Err(format!("{e:#}"))));
                        return;
                    }
                };
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(input) = inputs.get(i) else { break };
                    let name = input.name();
                    let result = input::open(input, read.clone()).and_then(|reader| {
                        let mut sink = ChannelSink {
                            tx: tx.clone(),
                            state: &mut state,
                            work,
                        };
                        Decoder::from_reader(reader, &name, cfg, &mut sink).run()
                    });
                    let stop = matches!(result, Err(IngestError::Sink(_)));
                    let _ = done_tx.send((name, result.map_err(|e| e.to_string())));
                    if stop {
                        break;
                    }
                }
            });
        }
        drop(tx);
        drop(done_tx);
        loop {
            match rx.recv_timeout(Duration::from_millis(100)) {
                Ok(msg) => {
                    if consume_error.is_none()
                        && let Err(e) = consume(msg)
                    {
                        consume_error = Some(e);
                        // Keep draining so workers finish; their sends then fail fast.
                        break;
                    }
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
            if let Some(b) = &bar {
                b.set_position(read.load(Ordering::Relaxed));
            }
        }
        drop(rx);
    });
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    if let Some(e) = consume_error {
        return Err(e);
    }
    for (name, result) in done_rx.try_iter() {
        match result {
            Ok(stats) => summary.stats.add(&stats),
            Err(e) => summary.failed.push((name, e)),
        }
    }
    summary.input_bytes = read.load(Ordering::Relaxed);
    summary.seconds = started.elapsed().as_secs_f64();
    Ok(summary)
}

fn progress_bar(total: u64, has_stdin: bool) -> Option<ProgressBar> {
    if !std::io::stderr().is_terminal() || (total < (64 << 20) && !has_stdin) {
        return None;
    }
    let bar = if has_stdin {
        ProgressBar::new_spinner()
    } else {
        ProgressBar::new(total)
    };
    bar.set_draw_target(ProgressDrawTarget::stderr());
    let style = if has_stdin {
        ProgressStyle::with_template("{spinner} {bytes} read ({bytes_per_sec}) {elapsed}")
    } else {
        ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} ({bytes_per_sec}, eta {eta})")
    };
    if let Ok(style) = style {
        bar.set_style(style);
    }
    Some(bar)
}
