//! What recording reports, shown on the terminal: the binary's
//! [`Reporter`]. The library crates never draw; this decides whether and
//! how (a spinner on a terminal once a recording proves long, warnings on
//! standard error always).

use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use intact_record::{RecordWarning, Reporter};

/// Files hashed before the spinner appears, so short recordings print
/// nothing at all.
const SHOW_AFTER: u64 = 1000;

/// The reporter `intact run` and `intact record` give the recorder.
pub fn reporter() -> Arc<dyn Reporter> {
    Arc::new(Terminal {
        draw: std::io::stderr().is_terminal(),
        hashed: AtomicU64::new(0),
        bar: Mutex::new(None),
    })
}

struct Terminal {
    /// Standard error is a terminal: a spinner may be drawn.
    draw: bool,
    /// Files hashed in this recording (materials, then products).
    hashed: AtomicU64,
    /// The spinner, once shown.
    bar: Mutex<Option<ProgressBar>>,
}

impl Reporter for Terminal {
    fn files_hashed(&self, n: u64) {
        if !self.draw {
            return;
        }
        let total = self.hashed.fetch_add(n, Ordering::Relaxed) + n;
        if total < SHOW_AFTER {
            return;
        }
        let Ok(mut bar) = self.bar.lock() else {
            return;
        };
        let bar = bar.get_or_insert_with(|| {
            let b = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            b.set_style(
                ProgressStyle::with_template("{spinner} {human_pos} files hashed")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            b
        });
        // Read under the lock: positions only go up.
        bar.set_position(self.hashed.load(Ordering::Relaxed));
    }

    fn warning(&self, warning: &RecordWarning) {
        let bar = self.bar.lock().ok().and_then(|b| b.clone());
        let print = || eprintln!("warning: {warning}");
        match bar {
            Some(bar) => bar.suspend(print),
            None => print(),
        }
    }

    fn finished(&self) {
        self.hashed.store(0, Ordering::Relaxed);
        if let Some(bar) = self.bar.lock().ok().and_then(|mut b| b.take()) {
            bar.finish_and_clear();
        }
    }
}
