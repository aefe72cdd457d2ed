//! Metrics release teams track, computed from a log's entries: events by
//! kind, verifications passed and failed, the failure rate, the time from
//! a link's recording to the verification that used it, keys seen.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::Serialize;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::entry::{Entry, EntryKind};

/// Percentiles of a set of durations, in seconds.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Percentiles {
    /// How many durations.
    pub count: usize,
    /// Median.
    pub p50: Option<f64>,
    /// 90th percentile.
    pub p90: Option<f64>,
    /// 99th percentile.
    pub p99: Option<f64>,
    /// Largest.
    pub max: Option<f64>,
}

impl Percentiles {
    fn of(mut v: Vec<f64>) -> Self {
        v.sort_by(f64::total_cmp);
        let at = |q: f64| -> Option<f64> {
            if v.is_empty() {
                return None;
            }
            // Nearest rank.
            let rank = (q * v.len() as f64).ceil().max(1.0) as usize;
            v.get(rank.min(v.len()) - 1).copied()
        };
        Percentiles {
            count: v.len(),
            p50: at(0.5),
            p90: at(0.9),
            p99: at(0.99),
            max: v.last().copied(),
        }
    }
}

/// What `intact log stats` reports.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Stats {
    /// Entries in the log.
    pub entries: u64,
    /// Entries by kind (every kind listed, zero included).
    pub by_kind: BTreeMap<String, u64>,
    /// Entries that are not intact entries (other tools' data).
    pub other_entries: u64,
    /// Verifications that passed.
    pub verifications_passed: u64,
    /// Verifications that failed.
    pub verifications_failed: u64,
    /// Failed / all verifications (`None` without verifications).
    pub failure_rate: Option<f64>,
    /// Seconds from a link's logging to a verification that used it.
    pub link_to_verification_seconds: Percentiles,
    /// Distinct signer keyids seen.
    pub keys: BTreeSet<String>,
}

fn parse_time(s: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(s, &Rfc3339).ok()
}

/// Accumulates [`Stats`] entry by entry.
#[derive(Debug, Default)]
pub struct StatsBuilder {
    stats: Stats,
    link_times: HashMap<String, OffsetDateTime>,
    delays: Vec<f64>,
}

impl StatsBuilder {
    /// Start with every kind at zero.
    pub fn new() -> Self {
        let mut b = StatsBuilder::default();
        for k in EntryKind::ALL {
            b.stats.by_kind.insert(k.as_str().to_string(), 0);
        }
        b
    }

    /// Count one entry (its bytes as logged).
    pub fn add(&mut self, bytes: &[u8]) {
        self.stats.entries += 1;
        let Ok(e) = Entry::from_bytes(bytes) else {
            self.stats.other_entries += 1;
            return;
        };
        *self
            .stats
            .by_kind
            .entry(e.kind.as_str().to_string())
            .or_default() += 1;
        self.stats.keys.extend(e.signers.iter().cloned());
        match e.kind {
            EntryKind::LinkRecorded => {
                if let Some(t) = parse_time(&e.time) {
                    self.link_times.entry(e.sha256.clone()).or_insert(t);
                }
            }
            EntryKind::VerificationPassed | EntryKind::VerificationFailed => {
                if e.kind == EntryKind::VerificationPassed {
                    self.stats.verifications_passed += 1;
                } else {
                    self.stats.verifications_failed += 1;
                }
                let Some(at) = parse_time(&e.time) else {
                    return;
                };
                for (name, d) in &e.subjects {
                    if !name.starts_with("link:") {
                        continue;
                    }
                    if let Some(t) = d.get("sha256").and_then(|s| self.link_times.get(s)) {
                        self.delays.push((at - *t).as_seconds_f64().max(0.0));
                    }
                }
            }
            _ => {}
        }
    }

    /// The totals.
    pub fn finish(mut self) -> Stats {
        let all = self.stats.verifications_passed + self.stats.verifications_failed;
        self.stats.failure_rate =
            (all > 0).then(|| self.stats.verifications_failed as f64 / all as f64);
        self.stats.link_to_verification_seconds = Percentiles::of(self.delays);
        self.stats
    }
}

fn metric(s: &mut String, name: &str, kind: &str, help: &str, lines: Vec<(String, String)>) {
    s.push_str(&format!("# HELP {name} {help}\n# TYPE {name} {kind}\n"));
    for (labels, v) in lines {
        s.push_str(&format!("{name}{labels} {v}\n"));
    }
}

fn num(v: Option<f64>) -> String {
    v.map(|x| format!("{x}")).unwrap_or_else(|| "-".into())
}

impl Stats {
    /// A summary for people.
    pub fn to_text(&self) -> String {
        let mut s = format!("entries: {}\n", self.entries);
        for (k, n) in &self.by_kind {
            s.push_str(&format!("  {k}: {n}\n"));
        }
        if self.other_entries > 0 {
            s.push_str(&format!("  other: {}\n", self.other_entries));
        }
        s.push_str(&format!(
            "verifications: {} passed, {} failed",
            self.verifications_passed, self.verifications_failed
        ));
        match self.failure_rate {
            Some(r) => s.push_str(&format!(" (failure rate {:.1}%)\n", r * 100.0)),
            None => s.push('\n'),
        }
        let p = &self.link_to_verification_seconds;
        s.push_str(&format!(
            "link recorded to verified (s): count {}, p50 {}, p90 {}, p99 {}, max {}\n",
            p.count,
            num(p.p50),
            num(p.p90),
            num(p.p99),
            num(p.max)
        ));
        s.push_str(&format!("keys seen: {}\n", self.keys.len()));
        for k in &self.keys {
            s.push_str(&format!("  {k}\n"));
        }
        s
    }

    /// The Prometheus text exposition format.
    pub fn to_prometheus(&self) -> String {
        let mut s = String::new();
        metric(
            &mut s,
            "intact_log_entries",
            "gauge",
            "Entries in the transparency log.",
            vec![(String::new(), self.entries.to_string())],
        );
        metric(
            &mut s,
            "intact_log_events",
            "gauge",
            "Log entries by event kind.",
            self.by_kind
                .iter()
                .map(|(k, n)| (format!("{{kind=\"{k}\"}}"), n.to_string()))
                .collect(),
        );
        metric(
            &mut s,
            "intact_log_verifications",
            "gauge",
            "Logged verifications by result.",
            vec![
                (
                    "{result=\"passed\"}".into(),
                    self.verifications_passed.to_string(),
                ),
                (
                    "{result=\"failed\"}".into(),
                    self.verifications_failed.to_string(),
                ),
            ],
        );
        if let Some(r) = self.failure_rate {
            metric(
                &mut s,
                "intact_log_verification_failure_ratio",
                "gauge",
                "Failed verifications over all verifications.",
                vec![(String::new(), format!("{r}"))],
            );
        }
        let p = &self.link_to_verification_seconds;
        let mut q = Vec::new();
        for (label, v) in [("0.5", p.p50), ("0.9", p.p90), ("0.99", p.p99)] {
            if let Some(v) = v {
                q.push((format!("{{quantile=\"{label}\"}}"), format!("{v}")));
            }
        }
        metric(
            &mut s,
            "intact_log_link_to_verification_seconds",
            "summary",
            "Seconds from a link's logging to a verification that used it.",
            q,
        );
        s.push_str(&format!(
            "intact_log_link_to_verification_seconds_count {}\n",
            p.count
        ));
        metric(
            &mut s,
            "intact_log_keys",
            "gauge",
            "Distinct signer keyids seen in the log.",
            vec![(String::new(), self.keys.len().to_string())],
        );
        s
    }
}

/// The statistics of the log `source` (its checkpoint's entries; the
/// signature is not checked: `intact log verify` does that).
pub fn stats(source: &dyn crate::Source) -> Result<Stats, crate::LogError> {
    let (cp, _) = crate::read_checkpoint_unverified(source)?;
    let mut b = StatsBuilder::new();
    crate::for_each_entry(source, cp.size(), |_, e| {
        b.add(e);
        Ok(())
    })?;
    Ok(b.finish())
}
