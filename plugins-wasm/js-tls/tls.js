// tls_js: an hbc plugin in JavaScript (contract 0.3.0). The TLS certificate a server
// presents at `host`:`port` (default 443): days until it expires, WARNING below
// `warning_days` (default 30), CRITICAL below `critical_days` (default 7) or when the
// chain is not trusted (unless `require_trusted` is "false"). The agent lets it reach
// only what it is granted (`net`).
//
// Build: node build.mjs  (componentize-js from npm)
import { nowMs, tlsCertificates } from "hbd:plugin/host@0.3.0";

// A network error (a value, `{tag, val}`) in words.
function why(e) {
  const error = e?.payload ?? e;
  switch (error?.tag) {
    case "timeout": return "no answer in time";
    case undefined: return String(e);
    default: return `${error.tag}: ${error.val}`;
  }
}

export function describe() {
  return {
    name: "tls_js",
    kind: "monitor",
    defaultIntervalS: 3600,
    version: "0.1.0",
    description: "days until a TLS certificate expires (written in JavaScript)",
  };
}

export function collect(config) {
  const s = Object.fromEntries(config);
  if (!s.host) throw "config host is required";
  const port = Number(s.port ?? 443);
  const warning = Number(s.warning_days ?? 30);
  const critical = Number(s.critical_days ?? 7);
  let info;
  try {
    info = tlsCertificates(s.host, port, s.server_name, Number(s.timeout_ms ?? 5000));
  } catch (e) {
    throw `${s.host}:${port}: ${why(e)}`;
  }
  const leaf = info.chain[0];
  if (!leaf) throw `${s.host}:${port}: no certificate`;
  const days = Number(leaf.notAfterMs - nowMs()) / 86400000;
  const trusted = info.trusted.tag === "ok";
  let status = "ok";
  let message = `${s.host}:${port} certificate valid for ${days.toFixed(0)} more days`;
  if (!trusted && s.require_trusted !== "false") {
    status = "critical";
    message = `${s.host}:${port} certificate not trusted: ${info.trusted.val}`;
  } else if (days < critical) {
    status = "critical";
    message = `${s.host}:${port} certificate expires in ${days.toFixed(1)} days`;
  } else if (days < warning) {
    status = "warning";
    message = `${s.host}:${port} certificate expires in ${days.toFixed(1)} days`;
  }
  return {
    metrics: [
      { path: ["days_left"], value: { tag: "float", val: Math.round(days * 10) / 10 } },
      { path: ["trusted"], value: { tag: "boolean", val: trusted } },
      { path: ["protocol"], value: { tag: "text", val: info.protocol } },
    ],
    status,
    message,
  };
}
