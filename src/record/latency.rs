//! Latency histograms: every latency of one kind of request in an HDR histogram (microseconds
//! from 1 µs to one hour, 3 significant digits), so a percentile is off by at most 0.1% of its
//! value, and histograms of shards add up exactly: the sum of the shards' histograms is the
//! histogram of all their latencies together. A single run and a merge of shards compute their
//! percentiles from these histograms in the same way. On disk a histogram is HdrHistogram's V2
//! encoding, compressed (V2 deflate), which any HdrHistogram implementation reads.

use hdrhistogram::serialization::{Deserializer, Serializer as _, V2DeflateSerializer};
use hdrhistogram::Histogram;
use std::time::Duration;

/// The lowest latency told apart, in microseconds.
pub const LOWEST_US: u64 = 1;
/// The highest latency kept, in microseconds (one hour); a longer one counts as one hour.
pub const HIGHEST_US: u64 = 3_600_000_000;
/// Significant digits: a recorded value is kept within 0.1% of itself.
pub const SIGNIFICANT_DIGITS: u8 = 3;
/// The largest encoded histogram read back (a revspec histogram takes a few kilobytes).
pub const MAX_ENCODED_BYTES: usize = 16 << 20;

/// The latencies of one kind of request.
#[derive(Clone, Debug, PartialEq)]
pub struct Latency(Histogram<u64>);

impl Default for Latency {
    fn default() -> Self {
        Self::new()
    }
}

impl Latency {
    pub fn new() -> Self {
        Self(
            Histogram::new_with_bounds(LOWEST_US, HIGHEST_US, SIGNIFICANT_DIGITS)
                .expect("the bounds are valid"),
        )
    }

    /// Records one latency (below 1 µs counts as 1 µs, above an hour as an hour).
    pub fn record(&mut self, latency: Duration) {
        let us = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        self.0.saturating_record(us.clamp(LOWEST_US, HIGHEST_US));
    }

    /// Records a latency given in microseconds.
    pub fn record_us(&mut self, us: u64) {
        self.0.saturating_record(us.clamp(LOWEST_US, HIGHEST_US));
    }

    /// Adds every latency of `other`: the result is the histogram of both sets of latencies.
    pub fn merge(&mut self, other: &Latency) -> Result<(), String> {
        self.0
            .add(&other.0)
            .map_err(|e| format!("the histograms cannot be added: {e:?}"))
    }

    /// How many latencies are recorded.
    pub fn len(&self) -> u64 {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The latency `quantile` (0 to 1) of the requests finished within, in milliseconds: the
    /// highest value equivalent to the recorded one at that rank (HdrHistogram's
    /// `value_at_quantile`); 0 without latencies.
    pub fn quantile_ms(&self, quantile: f64) -> f64 {
        if self.0.is_empty() {
            return 0.0;
        }
        self.0.value_at_quantile(quantile) as f64 / 1000.0
    }

    /// The slowest latency, in milliseconds (within the histogram's precision); 0 without any.
    pub fn max_ms(&self) -> f64 {
        self.0.max() as f64 / 1000.0
    }

    /// HdrHistogram's V2 deflate encoding.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        V2DeflateSerializer::new()
            .serialize(&self.0, &mut out)
            .expect("a histogram encodes into memory");
        out
    }

    /// Reads a V2 (deflate or not) encoding written by [`Latency::encode`]; a histogram of other
    /// bounds or precision is refused, so histograms of one run always add up exactly.
    pub fn decode(bytes: &[u8]) -> Result<Self, String> {
        if bytes.len() > MAX_ENCODED_BYTES {
            return Err(format!(
                "{} bytes, more than the {MAX_ENCODED_BYTES} a latency histogram may take",
                bytes.len()
            ));
        }
        let h: Histogram<u64> = Deserializer::new()
            .deserialize(&mut std::io::Cursor::new(bytes))
            .map_err(|e| format!("not an HdrHistogram V2 encoding: {e:?}"))?;
        if h.low() != LOWEST_US || h.sigfig() != SIGNIFICANT_DIGITS || h.high() < HIGHEST_US {
            return Err(format!(
                "a histogram of {}..{} µs with {} significant digits, not revspec's {LOWEST_US}..{HIGHEST_US} µs with {SIGNIFICANT_DIGITS}",
                h.low(),
                h.high(),
                h.sigfig()
            ));
        }
        let mut latency = Self::new();
        latency.merge(&Self(h))?;
        Ok(latency)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A deterministic spread of latencies, 50 µs to about 2 s, with a long tail.
    fn latencies(seed: u64, n: usize) -> Vec<u64> {
        let mut x = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
        (0..n)
            .map(|_| {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let r = (x >> 33) % 1_000_000;
                if r < 990_000 {
                    50 + r % 20_000
                } else {
                    20_000 + (r - 990_000) * 200
                }
            })
            .collect()
    }

    #[test]
    fn the_merge_of_shards_is_the_histogram_of_all_their_latencies() {
        let shards: Vec<Vec<u64>> = (0..3).map(|i| latencies(i, 10_000 + i as usize)).collect();
        let mut union = Latency::new();
        let mut merged = Latency::new();
        for shard in &shards {
            let mut h = Latency::new();
            for &us in shard {
                h.record_us(us);
                union.record_us(us);
            }
            // Through the encoding, as `revspec load merge` reads them.
            merged
                .merge(&Latency::decode(&h.encode()).unwrap())
                .unwrap();
        }
        assert_eq!(merged.len(), 30_003);
        assert_eq!(merged, union, "bucket counts differ");
        for q in [0.0, 0.25, 0.5, 0.9, 0.95, 0.99, 0.999, 1.0] {
            assert_eq!(merged.quantile_ms(q), union.quantile_ms(q), "quantile {q}");
        }
    }

    #[test]
    fn percentiles_are_within_a_thousandth_of_the_exact_ones() {
        let mut values = latencies(7, 20_001);
        let mut h = Latency::new();
        for &us in &values {
            h.record_us(us);
        }
        values.sort_unstable();
        for q in [0.5, 0.95, 0.99] {
            let rank = ((q * values.len() as f64).ceil() as usize).max(1) - 1;
            let exact = values[rank] as f64 / 1000.0;
            let got = h.quantile_ms(q);
            assert!(
                got >= exact && got <= exact * 1.001 + 0.001,
                "q{q}: {got} vs {exact}"
            );
        }
    }

    #[test]
    fn out_of_range_latencies_are_clamped_and_empty_reads_zero() {
        let mut h = Latency::new();
        assert_eq!(h.quantile_ms(0.99), 0.0);
        h.record(Duration::ZERO);
        h.record(Duration::from_secs(7200));
        assert_eq!(h.len(), 2);
        assert!(h.max_ms() >= 3_600_000.0);
    }

    #[test]
    fn a_foreign_or_broken_encoding_is_refused() {
        assert!(Latency::decode(b"not a histogram").is_err());
        let mut other = Histogram::<u64>::new_with_bounds(1, HIGHEST_US, 2).unwrap();
        other.record(5).unwrap();
        let mut bytes = Vec::new();
        V2DeflateSerializer::new()
            .serialize(&other, &mut bytes)
            .unwrap();
        let e = Latency::decode(&bytes).unwrap_err();
        assert!(e.contains("2 significant digits"), "{e}");
    }
}
