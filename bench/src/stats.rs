//! Medians and paired ratios: the only statistics the report uses.

/// The median of `values` (the mean of the two middle values for an even count); `None` when
/// empty. NaNs sort last.
pub fn median(values: &[f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(|a, b| a.total_cmp(b));
    let mid = sorted.len() / 2;
    Some(if !sorted.len().is_multiple_of(2) {
        sorted[mid]
    } else {
        (sorted[mid - 1] + sorted[mid]) / 2.0
    })
}

/// The ratio `numerator[i] / denominator[i]` of each pair measured together, then the median
/// of those ratios. Pairs whose denominator is not positive are left out.
pub fn median_ratio(numerator: &[f64], denominator: &[f64]) -> Option<f64> {
    let ratios: Vec<f64> = numerator
        .iter()
        .zip(denominator)
        .filter(|(_, d)| **d > 0.0)
        .map(|(n, d)| n / d)
        .collect();
    median(&ratios)
}

pub fn range(values: &[f64]) -> Option<(f64, f64)> {
    let min = values.iter().copied().reduce(f64::min)?;
    let max = values.iter().copied().reduce(f64::max)?;
    Some((min, max))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
    }

    #[test]
    fn ratios_are_paired_then_the_median_taken() {
        // Pairs: 10/1, 20/4, 30/10 -> 10, 5, 3 -> median 5 (the ratio of medians would be 5 too
        // here, but 20/4 is the pair that says it).
        assert_eq!(
            median_ratio(&[10.0, 20.0, 30.0], &[1.0, 4.0, 10.0]),
            Some(5.0)
        );
        assert_eq!(median_ratio(&[1.0], &[0.0]), None);
        assert_eq!(range(&[2.0, -1.0, 5.0]), Some((-1.0, 5.0)));
    }
}
