//! What the simulated hosts send, as agents write it: heartbeats and plugin reports,
//! signed under `--signed`; and the `seq` an ACK echoes back.

/// The key `--signed` heartbeats are signed with, and the daemon's `hb_key`.
pub(crate) const BENCH_KEY: &str = "hb-load benchmark key, 32 bytes+";

/// The heartbeats of a range of simulated hosts, as an agent writes them, and signed
/// as one does with `--signed`.
pub(crate) struct Beats {
    names: Vec<String>,
    /// One per host, when signed: its name as key id.
    signers: Vec<hb_proto::Signer>,
    /// The `run` of the signed heartbeats: new for every sender of every round, as an
    /// agent's is for every start, so that sequence numbers may start over.
    run: u64,
}

impl Beats {
    pub(crate) fn new(first: usize, count: usize, signed: bool, sender_id: u64) -> Beats {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64;
        let run = nanos ^ sender_id.rotate_right(8);
        let names: Vec<String> = (first..first + count)
            .map(|i| format!("load-{i:06}"))
            .collect();
        let signers = if signed {
            names
                .iter()
                .map(|name| hb_proto::Signer {
                    key_id: name.clone(),
                    key: hb_proto::Key::new(BENCH_KEY),
                })
                .collect()
        } else {
            Vec::new()
        };
        Beats {
            names,
            signers,
            run,
        }
    }

    /// Host `i`'s heartbeat number `seq`.
    pub(crate) fn datagram(&self, i: usize, seq: u64) -> Vec<u8> {
        let i = i % self.names.len();
        let name = &self.names[i];
        let Some(signer) = self.signers.get(i) else {
            return hbd_e2e::bench_heartbeat(name, seq, None).into_bytes();
        };
        let json = hbd_e2e::bench_heartbeat(name, seq, Some((hbd_e2e::unix_now(), self.run)));
        hb_proto::frame::encode_json(
            json.as_bytes(),
            Some(signer),
            hb_proto::frame::DEFAULT_COMPRESS_OVER,
        )
        .unwrap()
    }
}

/// The `seq` an ACK echoes; its JSON follows a signed frame's binary header.
pub(crate) fn seq_of(reply: &[u8]) -> Option<u64> {
    const KEY: &[u8] = b"\"seq\":";
    let at = reply.windows(KEY.len()).position(|w| w == KEY)? + KEY.len();
    let digits = &reply[at..];
    let end = digits
        .iter()
        .position(|b| !b.is_ascii_digit())
        .unwrap_or(digits.len());
    std::str::from_utf8(&digits[..end]).ok()?.parse().ok()
}

/// Host `i`'s report; signed with the replay fields under `--signed`.
pub(crate) fn plugin_report(i: usize, signed: bool) -> Vec<u8> {
    let mut interfaces = serde_json::Map::new();
    for n in 0..4 {
        interfaces.insert(
            format!("eth{n}"),
            serde_json::json!({"rx_bytes": 1_000_000 + i * 7 + n, "tx_bytes": 2_000_000 + i, "rx_packets": 4000, "tx_packets": 3000,
                               "rx_errors": 0, "tx_errors": 0, "rx_dropped": 0, "tx_dropped": 0,
                               "rx_bytes_per_s": 1234.5, "tx_bytes_per_s": 99.0}),
        );
    }
    let msg = serde_json::json!({
        "ID": "PLG", "name": format!("load-{i:06}"), "plugin": "network_monitor", "kind": "monitor",
        "duration_ms": 0.1, "status": "OK",
        "data": {"interfaces": interfaces, "errors_total": 0, "dropped_total": 0,
                 "tcp_connections": {"ESTABLISHED": 12, "TIME_WAIT": 3, "in_use": 20}},
    });
    let mut msg = msg;
    let signer = signed.then(|| {
        msg["ts"] = hbd_e2e::unix_now().into();
        msg["run"] = 1.into();
        msg["seq"] = 1.into();
        hb_proto::Signer {
            key_id: format!("load-{i:06}"),
            key: hb_proto::Key::new(BENCH_KEY),
        }
    });
    let json = serde_json::to_vec(&msg).unwrap();
    hb_proto::frame::encode_json(
        &json,
        signer.as_ref(),
        hb_proto::frame::DEFAULT_COMPRESS_OVER,
    )
    .unwrap()
}
