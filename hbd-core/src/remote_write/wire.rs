//! The remote_write wire format: Prometheus' `WriteRequest` protobuf (its messages
//! derived here with prost, no protoc; the body written by hand from borrowed labels),
//! samples grouped per series in time order, snappy block-compressed.

use std::collections::HashMap;

use super::series::Sample;

/// `prometheus.WriteRequest`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct WriteRequest {
    /// The series.
    #[prost(message, repeated, tag = "1")]
    pub timeseries: Vec<TimeSeries>,
}

/// `prometheus.TimeSeries`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TimeSeries {
    /// Sorted by name.
    #[prost(message, repeated, tag = "1")]
    pub labels: Vec<Label>,
    /// In time order.
    #[prost(message, repeated, tag = "2")]
    pub samples: Vec<WireSample>,
}

/// `prometheus.Label`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Label {
    /// Name.
    #[prost(string, tag = "1")]
    pub name: String,
    /// Value.
    #[prost(string, tag = "2")]
    pub value: String,
}

/// `prometheus.Sample`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct WireSample {
    /// Value.
    #[prost(double, tag = "1")]
    pub value: f64,
    /// Milliseconds since the Unix epoch.
    #[prost(int64, tag = "2")]
    pub timestamp: i64,
}

/// A series' labels as a grouping key: equal when the labels are, hashed over the
/// label values' bytes alone (one write each; the names follow from the values' places
/// in what hbd writes, and equality still compares everything).
#[derive(PartialEq, Eq)]
struct SeriesKey<'a>(&'a [(String, String)]);

impl std::hash::Hash for SeriesKey<'_> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        for (_, value) in self.0 {
            state.write(value.as_bytes());
            state.write_u8(0xff);
        }
    }
}

/// One series' points: (value, time in ms).
type Points = Vec<(f64, i64)>;

/// One request body: the samples grouped per series, each series' samples in time
/// order, protobuf-encoded and snappy-compressed.
///
/// Written straight from the samples' borrowed labels rather than through the message
/// types above (which the tests decode with): building those cloned every label of
/// every series, two allocations each, and that was most of the sender's time.
pub fn encode(samples: &[Sample]) -> Vec<u8> {
    use prost::encoding::{WireType, encode_key, encode_varint, encoded_len_varint, key_len};
    // Series in first-seen order; grouped by hash, not by comparing label lists.
    let mut index: HashMap<SeriesKey<'_>, usize, foldhash::fast::RandomState> =
        HashMap::with_capacity_and_hasher(samples.len(), Default::default());
    let mut series: Vec<(&[(String, String)], Points)> = Vec::new();
    for s in samples {
        let at = *index.entry(SeriesKey(&s.labels)).or_insert_with(|| {
            series.push((&s.labels, Vec::with_capacity(1)));
            series.len() - 1
        });
        series[at].1.push((s.value, s.ts_ms));
    }
    let bytes = |len: usize| encoded_len_varint(len as u64) + len;
    let label_len =
        |name: &str, value: &str| key_len(1) + bytes(name.len()) + key_len(2) + bytes(value.len());
    // A sample: the value (a fixed 8-byte double) and the time (a varint).
    let sample_len = |ts: i64| key_len(1) + 8 + key_len(2) + encoded_len_varint(ts as u64);
    let mut raw = Vec::with_capacity(samples.len() * 128);
    for (labels, points) in &mut series {
        points.sort_by_key(|&(_, ts)| ts);
        let len: usize = labels
            .iter()
            .map(|(n, v)| key_len(1) + bytes(label_len(n, v)))
            .chain(
                points
                    .iter()
                    .map(|&(_, ts)| key_len(2) + bytes(sample_len(ts))),
            )
            .sum();
        encode_key(1, WireType::LengthDelimited, &mut raw);
        encode_varint(len as u64, &mut raw);
        for (name, value) in labels.iter() {
            encode_key(1, WireType::LengthDelimited, &mut raw);
            encode_varint(label_len(name, value) as u64, &mut raw);
            for (tag, text) in [(1, name), (2, value)] {
                encode_key(tag, WireType::LengthDelimited, &mut raw);
                encode_varint(text.len() as u64, &mut raw);
                raw.extend_from_slice(text.as_bytes());
            }
        }
        for &(value, ts) in points.iter() {
            encode_key(2, WireType::LengthDelimited, &mut raw);
            encode_varint(sample_len(ts) as u64, &mut raw);
            encode_key(1, WireType::SixtyFourBit, &mut raw);
            raw.extend_from_slice(&value.to_le_bytes());
            encode_key(2, WireType::Varint, &mut raw);
            // int64 on the wire: the two's complement as a varint.
            encode_varint(ts as u64, &mut raw);
        }
    }
    // Compressing an in-memory buffer fails only past snappy's 4 GiB input limit,
    // which a batch (at most a few MB) never reaches.
    snap::raw::Encoder::new()
        .compress_vec(&raw)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_decodes_to_grouped_series_in_time_order() {
        let labels = |n: &str| {
            vec![
                ("__name__".to_owned(), n.to_owned()),
                ("host".to_owned(), "web1".to_owned()),
            ]
        };
        let samples = [
            Sample {
                labels: labels("hbd_host_up"),
                value: 1.0,
                ts_ms: 2000,
            },
            Sample {
                labels: labels("hbd_cpu_monitor_cpu_percent"),
                value: 37.5,
                ts_ms: 1500,
            },
            Sample {
                labels: labels("hbd_host_up"),
                value: 0.0,
                ts_ms: 1000,
            },
        ];
        let body = encode(&samples);
        let raw = snap::raw::Decoder::new().decompress_vec(&body).unwrap();
        let req: WriteRequest = prost::Message::decode(raw.as_slice()).unwrap();
        assert_eq!(req.timeseries.len(), 2);
        let up = req
            .timeseries
            .iter()
            .find(|t| t.labels[0].value == "hbd_host_up")
            .unwrap();
        assert_eq!(up.labels[1].name, "host");
        let times: Vec<i64> = up.samples.iter().map(|s| s.timestamp).collect();
        assert_eq!(times, [1000, 2000]);
    }

    /// The hand-written body decodes, through the derived messages, to exactly the
    /// series and samples given: long labels (multi-byte lengths), zero and negative
    /// values, zero and large times.
    #[test]
    fn the_hand_written_body_is_the_protobuf_prost_reads() {
        let long = "x".repeat(300);
        let labels = |name: &str, host: &str| {
            vec![
                ("__name__".to_owned(), name.to_owned()),
                ("host".to_owned(), host.to_owned()),
            ]
        };
        let samples = [
            Sample {
                labels: labels("a", &long),
                value: 0.0,
                ts_ms: 0,
            },
            Sample {
                labels: labels("b", "web1"),
                value: -1.5,
                ts_ms: 1_764_000_000_123,
            },
            Sample {
                labels: labels("a", &long),
                value: f64::MAX,
                ts_ms: i64::MAX,
            },
        ];
        let raw = snap::raw::Decoder::new()
            .decompress_vec(&encode(&samples))
            .unwrap();
        let req: WriteRequest = prost::Message::decode(raw.as_slice()).unwrap();
        let want = WriteRequest {
            timeseries: vec![
                TimeSeries {
                    labels: vec![
                        Label {
                            name: "__name__".into(),
                            value: "a".into(),
                        },
                        Label {
                            name: "host".into(),
                            value: long.clone(),
                        },
                    ],
                    samples: vec![
                        WireSample {
                            value: 0.0,
                            timestamp: 0,
                        },
                        WireSample {
                            value: f64::MAX,
                            timestamp: i64::MAX,
                        },
                    ],
                },
                TimeSeries {
                    labels: vec![
                        Label {
                            name: "__name__".into(),
                            value: "b".into(),
                        },
                        Label {
                            name: "host".into(),
                            value: "web1".into(),
                        },
                    ],
                    samples: vec![WireSample {
                        value: -1.5,
                        timestamp: 1_764_000_000_123,
                    }],
                },
            ],
        };
        assert_eq!(req, want);
    }
}
