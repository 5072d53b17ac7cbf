//! The statistics the records aggregate with: median and maximum, percentiles.

/// Median and maximum of sorted values.
pub fn median_max(sorted: &[f64]) -> Option<(f64, f64)> {
    let max = *sorted.last()?;
    let mid = sorted.len() / 2;
    let median = if sorted.len().is_multiple_of(2) {
        (sorted[mid - 1] + sorted[mid]) / 2.0
    } else {
        sorted[mid]
    };
    Some((median, max))
}

/// p50, p99 and max of a sample (None when empty).
pub fn p50_p99_max(values: &[f64]) -> Option<(f64, f64, f64)> {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let at = |q: f64| v[((v.len() as f64 - 1.0) * q).round() as usize];
    (!v.is_empty()).then(|| (at(0.5), at(0.99), v[v.len() - 1]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_and_max() {
        assert_eq!(median_max(&[1.0, 2.0, 10.0]), Some((2.0, 10.0)));
        assert_eq!(median_max(&[1.0, 3.0]), Some((2.0, 3.0)));
        assert_eq!(median_max(&[]), None);
    }

    #[test]
    fn percentiles_of_a_sample() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(p50_p99_max(&v), Some((51.0, 99.0, 100.0)));
        assert_eq!(p50_p99_max(&[]), None);
    }
}
