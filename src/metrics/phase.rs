//! One request phase's aggregate over a sampling interval, as mod_wsgi 6
//! keeps it: the total in seconds (for the mean), the exact minimum and
//! maximum in microseconds, and an HDR-style histogram of 65 buckets: four
//! linear sub-buckets per octave from 1 ms to 65536 ms, bucket 0 for under
//! 1 ms and bucket 64 for 65536 ms and over.

/// Buckets per phase histogram (mod_wsgi's `WSGI_TELEMETRY_BUCKET_COUNT`).
pub const BUCKETS: usize = 65;

/// The histogram bucket of a duration in seconds.
pub fn bucket_index(seconds: f64) -> usize {
    let ms = seconds * 1000.0;
    if ms.is_nan() || ms < 1.0 {
        return 0;
    }
    if ms >= 65536.0 {
        return BUCKETS - 1;
    }
    // ms = m * 2^e with m in [0.5, 1): the octave is e - 1 (ms >= 1 so e >= 1).
    let e = ms.log2().floor() as i32 + 1;
    let mantissa = ms / 2f64.powi(e);
    let octave = (e - 1) as usize;
    let sub = (((2.0 * mantissa - 1.0) * 4.0) as usize).min(3);
    (octave * 4 + sub).min(BUCKETS - 2)
}

/// Sum, extremes and histogram of one phase.
#[derive(Clone, Debug)]
pub struct Phase {
    pub total: f64,
    pub min_us: u64,
    pub max_us: u64,
    pub buckets: [u32; BUCKETS],
}

impl Default for Phase {
    fn default() -> Phase {
        Phase {
            total: 0.0,
            min_us: u64::MAX,
            max_us: 0,
            buckets: [0; BUCKETS],
        }
    }
}

impl Phase {
    /// Adds one request's duration of this phase.
    pub fn record(&mut self, us: u64) {
        let seconds = us as f64 / 1e6;
        self.total += seconds;
        self.min_us = self.min_us.min(us);
        self.max_us = self.max_us.max(us);
        self.buckets[bucket_index(seconds)] += 1;
    }

    /// The exact minimum and maximum, None when nothing was recorded.
    pub fn extremes(&self) -> Option<(u64, u64)> {
        (self.min_us != u64::MAX).then_some((self.min_us, self.max_us))
    }

    /// The mean over `requests` (0.0 when there were none).
    pub fn mean(&self, requests: u64) -> f64 {
        if requests == 0 {
            0.0
        } else {
            self.total / requests as f64
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_match_mod_wsgi() {
        assert_eq!(bucket_index(0.0), 0);
        assert_eq!(bucket_index(0.000_999), 0);
        // 1 ms: octave 0, sub 0; 1.25 ms: sub 1; 1.99 ms: sub 3.
        assert_eq!(bucket_index(0.001), 0);
        assert_eq!(bucket_index(0.00125), 1);
        assert_eq!(bucket_index(0.00199), 3);
        // 2 ms: octave 1.
        assert_eq!(bucket_index(0.002), 4);
        assert_eq!(bucket_index(0.003), 6);
        assert_eq!(bucket_index(65.535), 63);
        assert_eq!(bucket_index(65.536), 64);
        assert_eq!(bucket_index(1000.0), 64);
    }

    #[test]
    fn extremes_and_mean() {
        let mut p = Phase::default();
        assert_eq!(p.extremes(), None);
        p.record(100);
        p.record(300);
        assert_eq!(p.extremes(), Some((100, 300)));
        assert!((p.mean(2) - 0.0002).abs() < 1e-12);
        assert_eq!(p.buckets[0], 2);
    }
}
