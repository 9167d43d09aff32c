//! The remote_write wire format: Prometheus' `WriteRequest` protobuf (derived here with
//! prost, no protoc), samples grouped per series in time order, snappy block-compressed.

use std::collections::BTreeMap;

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

/// One request body: the samples grouped per series, each series' samples in time
/// order, protobuf-encoded and snappy-compressed.
pub fn encode(samples: &[Sample]) -> Vec<u8> {
    let mut series: BTreeMap<&[(String, String)], Vec<WireSample>> = BTreeMap::new();
    for s in samples {
        series.entry(&s.labels).or_default().push(WireSample {
            value: s.value,
            timestamp: s.ts_ms,
        });
    }
    let request = WriteRequest {
        timeseries: series
            .into_iter()
            .map(|(labels, mut samples)| {
                samples.sort_by_key(|s| s.timestamp);
                TimeSeries {
                    labels: labels
                        .iter()
                        .map(|(name, value)| Label {
                            name: name.clone(),
                            value: value.clone(),
                        })
                        .collect(),
                    samples,
                }
            })
            .collect(),
    };
    let raw = prost::Message::encode_to_vec(&request);
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
}
