// uptime_js: an hbc plugin in JavaScript. Host uptime from /proc/uptime (grant it);
// WARNING when the host booted less than `min_uptime_s` seconds ago (default 600):
// an unexpected reboot is worth a look.
//
// Build: node build.mjs  (componentize-js from npm)
import { log, readFile } from "hbd:plugin/host@0.2.0";

// A file error (contract 0.2: a value, `{tag, val}`, not text) in words.
function why(e) {
  const error = e?.payload ?? e;
  switch (error?.tag) {
    case "not-granted": return "not granted to this plugin (grant it in wasm_plugins)";
    case "too-large": return `too large (${error.val} bytes)`;
    case "io": return error.val;
    default: return error?.tag ?? String(e);
  }
}

export function describe() {
  return {
    name: "uptime_js",
    kind: "monitor",
    defaultIntervalS: 60,
    version: "0.1.0",
    description: "host uptime, warns after a recent reboot (written in JavaScript)",
  };
}

export function collect(config) {
  const settings = Object.fromEntries(config);
  const min = Number(settings.min_uptime_s ?? 600);
  if (!Number.isFinite(min)) {
    throw `config min_uptime_s: ${settings.min_uptime_s} is not a number`;
  }
  let text;
  try {
    text = readFile("/proc/uptime");
  } catch (e) {
    throw `cannot read /proc/uptime: ${why(e)}`;
  }
  const uptime = Number(text.split(" ")[0]);
  log("debug", `uptime ${uptime}`);
  const recent = uptime < min;
  return {
    metrics: [
      { path: ["uptime_s"], value: { tag: "float", val: uptime } },
      { path: ["recent_reboot"], value: { tag: "boolean", val: recent } },
    ],
    status: recent ? "warning" : "ok",
    message: recent ? `booted ${Math.round(uptime)} s ago` : `up ${Math.round(uptime / 3600)} h`,
  };
}
