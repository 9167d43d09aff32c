//! The live stream from a test's side: the next JSON message or the close frame of a
//! WebSocket (tungstenite) whose stream has a short read timeout, within a deadline.

use std::net::TcpStream;
use std::time::{Duration, Instant};

/// The next JSON text message on a WebSocket whose stream has a short read timeout,
/// within `limit` (`None`: nothing came, or it closed).
pub fn ws_next(
    ws: &mut tungstenite::WebSocket<TcpStream>,
    limit: Duration,
) -> Option<serde_json::Value> {
    match ws_hear(ws, limit)? {
        Heard::Text(value) => Some(value),
        Heard::Closed(code) => panic!("websocket closed with {code}"),
    }
}

/// What a WebSocket said: a JSON text message, or its close code.
#[derive(Debug)]
pub enum Heard {
    /// A text message.
    Text(serde_json::Value),
    /// The close frame's code (1005 without one).
    Closed(u16),
}

/// The next JSON text message or close frame on a WebSocket whose stream has a short
/// read timeout, within `limit` (`None`: nothing came).
pub fn ws_hear(ws: &mut tungstenite::WebSocket<TcpStream>, limit: Duration) -> Option<Heard> {
    let end = Instant::now() + limit;
    while Instant::now() < end {
        match ws.read() {
            Ok(tungstenite::Message::Text(text)) => {
                return Some(Heard::Text(serde_json::from_str(&text).unwrap()));
            }
            Ok(tungstenite::Message::Close(frame)) => {
                return Some(Heard::Closed(frame.map_or(1005, |f| u16::from(f.code))));
            }
            Ok(_) => {}
            Err(tungstenite::Error::Io(e))
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(e) => panic!("websocket: {e}"),
        }
    }
    None
}
