//! Metric history thinned for charts: the range is cut into buckets (one per pixel of
//! the chart) and each bucket keeps its lowest and its highest sample at their own
//! times. A line through those points draws the same envelope as a line through every
//! sample, with at most two points per pixel: spikes survive, which averaging loses.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::leaves::numeric_leaves;

/// A point: (Unix ms, value).
type Point = (u64, f64);

/// A plugin report as a chart reads it: (received, Unix ms; its data).
pub type Report = (u64, Map<String, Value>);

/// One metric's points, oldest first.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Series {
    /// Times, Unix milliseconds.
    pub t: Vec<u64>,
    /// Values.
    pub v: Vec<f64>,
}

impl Series {
    fn push(&mut self, (t, v): Point) {
        self.t.push(t);
        self.v.push(v);
    }
}

/// Thins `points` (oldest first, within `since..=until`) to the lowest and highest of
/// each of `buckets` equal slices of the range, in time order.
pub fn thin(
    points: impl IntoIterator<Item = Point>,
    since: u64,
    until: u64,
    buckets: usize,
) -> Series {
    let span = u128::from(until.saturating_sub(since)) + 1;
    let buckets = buckets.max(1) as u128;
    let mut out = Series::default();
    // The bucket being filled: its index, its lowest and its highest point.
    let mut current: Option<(u128, Point, Point)> = None;
    let flush = |out: &mut Series, (_, low, high): (u128, Point, Point)| {
        let (first, second) = if low.0 <= high.0 {
            (low, high)
        } else {
            (high, low)
        };
        out.push(first);
        if second != first {
            out.push(second);
        }
    };
    for (t, v) in points {
        if !v.is_finite() || t < since || t > until {
            continue;
        }
        let bucket = u128::from(t - since) * buckets / span;
        match &mut current {
            Some((b, low, high)) if *b == bucket => {
                if v < low.1 {
                    *low = (t, v);
                }
                if v > high.1 {
                    *high = (t, v);
                }
            }
            _ => {
                if let Some(done) = current.take() {
                    flush(&mut out, done);
                }
                current = Some((bucket, (t, v), (t, v)));
            }
        }
    }
    if let Some(done) = current {
        flush(&mut out, done);
    }
    out
}

/// Every numeric metric of a plugin's reports (`(received ms, data)`, oldest first),
/// by dotted path, thinned to `buckets`.
pub fn metrics(
    reports: &[Report],
    since: u64,
    until: u64,
    buckets: usize,
) -> BTreeMap<String, Series> {
    let mut raw: BTreeMap<String, Vec<Point>> = BTreeMap::new();
    for (t, data) in reports {
        for (path, v) in numeric_leaves(data) {
            raw.entry(path).or_default().push((*t, v));
        }
    }
    raw.into_iter()
        .map(|(path, points)| (path, thin(points, since, until, buckets)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn each_bucket_keeps_its_extremes_in_time_order() {
        // (points, since, until, buckets) -> expected points.
        type Case<'a> = (&'a [Point], u64, u64, usize, &'a [Point]);
        let cases: &[Case] = &[
            // Fewer points than buckets: all of them.
            (
                &[(0, 1.0), (5, 2.0), (9, 3.0)],
                0,
                9,
                10,
                &[(0, 1.0), (5, 2.0), (9, 3.0)],
            ),
            // One bucket: its low and high, the high first when it came first.
            (
                &[(0, 5.0), (1, 9.0), (2, 1.0), (3, 4.0)],
                0,
                3,
                1,
                &[(1, 9.0), (2, 1.0)],
            ),
            // Two buckets of [0,4] and [5,9]; a spike survives.
            (
                &[(0, 1.0), (2, 100.0), (4, 2.0), (5, 3.0), (9, 3.5)],
                0,
                9,
                2,
                &[(0, 1.0), (2, 100.0), (5, 3.0), (9, 3.5)],
            ),
            // Outside the range, NaN and infinity: left out.
            (
                &[(0, 1.0), (5, f64::NAN), (6, f64::INFINITY), (20, 4.0)],
                0,
                9,
                10,
                &[(0, 1.0)],
            ),
            // A flat bucket gives one point, not two.
            (&[(0, 2.0), (1, 2.0), (2, 2.0)], 0, 2, 1, &[(0, 2.0)]),
        ];
        for (points, since, until, buckets, want) in cases {
            let got = thin(points.iter().copied(), *since, *until, *buckets);
            let got: Vec<(u64, f64)> = got.t.into_iter().zip(got.v).collect();
            assert_eq!(&got, want, "{points:?} in {since}..={until} / {buckets}");
        }
    }

    #[test]
    fn a_year_of_minutely_samples_fits_two_points_per_pixel() {
        let minutes = 525_600u64;
        let points = (0..minutes).map(|m| (m * 60_000, (m % 1440) as f64));
        let s = thin(points, 0, (minutes - 1) * 60_000, 800);
        assert!(s.t.len() <= 1600, "{} points", s.t.len());
        assert!(s.t.windows(2).all(|w| w[0] < w[1]), "in time order");
        let (lo, hi) =
            s.v.iter()
                .fold((f64::MAX, f64::MIN), |(a, b), v| (a.min(*v), b.max(*v)));
        assert_eq!((lo, hi), (0.0, 1439.0), "the envelope is kept");
    }

    #[test]
    fn every_numeric_leaf_is_a_series() {
        let reports: Vec<(u64, Map<String, Value>)> = [
            (1_000, json!({"cpu": 10, "disk": {"/": 50.5}, "name": "x"})),
            (2_000, json!({"cpu": 20, "disk": {"/": 51.0}})),
        ]
        .into_iter()
        .map(|(t, v)| (t, v.as_object().cloned().unwrap()))
        .collect();
        let m = metrics(&reports, 0, 10_000, 100);
        assert_eq!(m.keys().collect::<Vec<_>>(), ["cpu", "disk./"]);
        assert_eq!(m["cpu"].v, [10.0, 20.0]);
        assert_eq!(m["disk./"].t, [1_000, 2_000]);
    }
}
