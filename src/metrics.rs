//! What the agent's `/v1/agent/metrics` and the renderer's `/metrics` share: an aggregate of
//! measurements (go-metrics' `AggregateSample`: count, sum, min, max, mean, stddev) and a writer
//! of Prometheus' text exposition format 0.0.4.
//!
//! Hand-written rather than the `metrics` or `prometheus-client` crates: Consul's JSON shape
//! (go-metrics' inmem sink: `Gauges`, `Counters` and `Samples` with `Count`, `Sum`, `Min`,
//! `Max`, `Mean`, `Stddev`, `Labels`) needs the raw sums and extremes, which those crates'
//! registries keep to themselves (histogram buckets, no min/max), and the whole of what we
//! need is a few dozen lines. The series are plain atomics or a short uncontended lock.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// A counter, cheap to bump from any thread.
#[derive(Debug, Default)]
pub struct Counter(AtomicU64);

impl Counter {
    pub fn inc(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }

    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Measurements of one series (go-metrics' `AggregateSample`), in the unit they were given.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Aggregate {
    pub count: u64,
    pub sum: f64,
    pub sum_sq: f64,
    pub min: f64,
    pub max: f64,
}

impl Aggregate {
    pub fn add(&mut self, v: f64) {
        if self.count == 0 || v < self.min {
            self.min = v;
        }
        if self.count == 0 || v > self.max {
            self.max = v;
        }
        self.count += 1;
        self.sum += v;
        self.sum_sq += v * v;
    }

    /// Both series' measurements as one.
    pub fn merge(&mut self, other: &Aggregate) {
        if other.count == 0 {
            return;
        }
        if self.count == 0 {
            *self = *other;
            return;
        }
        self.count += other.count;
        self.sum += other.sum;
        self.sum_sq += other.sum_sq;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
    }

    pub fn mean(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            self.sum / self.count as f64
        }
    }

    /// The sample standard deviation, as go-metrics computes it.
    pub fn stddev(&self) -> f64 {
        if self.count < 2 {
            return 0.0;
        }
        let n = self.count as f64;
        let var = (self.sum_sq - self.sum * self.sum / n) / (n - 1.0);
        var.max(0.0).sqrt()
    }
}

/// A timer: an aggregate of durations in milliseconds (Consul's unit for timings).
#[derive(Debug, Default)]
pub struct Timer(Mutex<Aggregate>);

impl Timer {
    pub fn record(&self, d: Duration) {
        self.lock().add(d.as_secs_f64() * 1000.0);
    }

    pub fn get(&self) -> Aggregate {
        *self.lock()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Aggregate> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A metric name as Prometheus allows it: go-metrics' Prometheus sink turns every character
/// outside `[a-zA-Z0-9_:]` (Consul's dots) into `_`.
pub fn prometheus_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == ':' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The text exposition format (0.0.4) being written: families with their `# HELP` and
/// `# TYPE` lines, then their samples.
#[derive(Default)]
pub struct Exposition {
    out: String,
}

pub const PROMETHEUS_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

impl Exposition {
    /// Starts a family: `kind` is `counter`, `gauge`, `summary` or `untyped`.
    pub fn family(&mut self, name: &str, kind: &str, help: &str) {
        let help = help.replace('\\', "\\\\").replace('\n', "\\n");
        let _ = writeln!(self.out, "# HELP {name} {help}");
        let _ = writeln!(self.out, "# TYPE {name} {kind}");
    }

    pub fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: f64) {
        self.out.push_str(name);
        if !labels.is_empty() {
            self.out.push('{');
            for (i, (k, v)) in labels.iter().enumerate() {
                if i > 0 {
                    self.out.push(',');
                }
                let v = v
                    .replace('\\', "\\\\")
                    .replace('"', "\\\"")
                    .replace('\n', "\\n");
                let _ = write!(self.out, "{}=\"{v}\"", prometheus_name(k));
            }
            self.out.push('}');
        }
        let _ = writeln!(self.out, " {}", format_value(value));
    }

    /// A summary's `_sum` and `_count` (no quantiles: an aggregate keeps none).
    pub fn summary(&mut self, name: &str, labels: &[(&str, &str)], a: &Aggregate) {
        self.sample(&format!("{name}_sum"), labels, a.sum);
        self.sample(&format!("{name}_count"), labels, a.count as f64);
    }

    pub fn finish(self) -> String {
        self.out
    }
}

/// Go's `strconv.FormatFloat(v, 'g', -1, 64)` for what we emit; Prometheus' own spellings of
/// the infinities and NaN.
fn format_value(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 { "+Inf" } else { "-Inf" }.into()
    } else {
        format!("{v}")
    }
}

/// Seconds since the Unix epoch, now.
pub fn unix_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// A Unix time as Go's `time.Time.String()` prints it in UTC, to the second
/// (`2026-12-06 01:59:26 +0000 UTC`): the `Timestamp` of Consul's metrics JSON.
pub fn go_utc_string(unix_secs: u64) -> String {
    let days = (unix_secs / 86_400) as i64;
    let rem = unix_secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} +0000 UTC",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// Howard Hinnant's days-to-civil-date algorithm (proleptic Gregorian calendar).
pub(crate) fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aggregates_keep_count_sum_extremes_and_spread() {
        let mut a = Aggregate::default();
        for v in [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0] {
            a.add(v);
        }
        assert_eq!((a.count, a.sum, a.min, a.max), (8, 40.0, 2.0, 9.0));
        assert_eq!(a.mean(), 5.0);
        assert!((a.stddev() - 2.138_089_935).abs() < 1e-6);
        let mut b = Aggregate::default();
        b.add(1.0);
        a.merge(&b);
        assert_eq!((a.count, a.min, a.max), (9, 1.0, 9.0));
    }

    #[test]
    fn names_and_labels_are_written_as_prometheus_reads_them() {
        assert_eq!(
            prometheus_name("consul.raft.commitTime"),
            "consul_raft_commitTime"
        );
        let mut e = Exposition::default();
        e.family("x_total", "counter", "a\nb");
        e.sample("x_total", &[("path", "a\"b\\c\nd")], 3.0);
        assert_eq!(
            e.finish(),
            "# HELP x_total a\\nb\n# TYPE x_total counter\nx_total{path=\"a\\\"b\\\\c\\nd\"} 3\n"
        );
    }

    #[test]
    fn timestamps_read_as_go_prints_them() {
        assert_eq!(go_utc_string(0), "1970-01-01 00:00:00 +0000 UTC");
        assert_eq!(
            go_utc_string(1_796_608_766),
            "2026-12-07 01:59:26 +0000 UTC"
        );
        assert_eq!(go_utc_string(951_825_600), "2000-02-29 12:00:00 +0000 UTC");
    }
}
