//! Progress of long CLI work: a bar or spinner when stderr is a terminal, plain lines otherwise
//! (so logs of scripted runs and CI stay readable).

use std::io::IsTerminal;

/// Progress of one long operation.
pub struct Progress {
    bar: Option<indicatif::ProgressBar>,
    what: String,
    total: u64,
    reported: u64,
}

impl Progress {
    /// Work of unknown length: a spinner on a terminal, one line otherwise.
    pub fn spinner(what: &str) -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let b = indicatif::ProgressBar::new_spinner();
            b.set_message(what.to_string());
            b.enable_steady_tick(std::time::Duration::from_millis(120));
            b
        });
        if bar.is_none() {
            eprintln!("{what}...");
        }
        Self {
            bar,
            what: what.to_string(),
            total: 0,
            reported: 0,
        }
    }

    /// Work of `total` steps: a bar on a terminal, a line at every tenth otherwise.
    pub fn bar(what: &str, total: u64) -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let b = indicatif::ProgressBar::new(total);
            b.set_style(
                indicatif::ProgressStyle::with_template("{msg} {bar:40} {pos}/{len} ({eta} left)")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            b.set_message(what.to_string());
            b
        });
        Self {
            bar,
            what: what.to_string(),
            total,
            reported: 0,
        }
    }

    /// `done` of the total steps are done.
    pub fn set(&mut self, done: u64) {
        match &self.bar {
            Some(b) => b.set_position(done),
            None if self.total > 0 && done >= self.reported + self.total.div_ceil(10) => {
                eprintln!("{}: {done} of {}", self.what, self.total);
                self.reported = done;
            }
            None => {}
        }
    }

    /// The work is over; the bar or spinner is cleared.
    pub fn finish(self) {
        if let Some(b) = self.bar {
            b.finish_and_clear();
        }
    }
}
