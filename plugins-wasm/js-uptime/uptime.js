// uptime_js: an hbc plugin in JavaScript. Host uptime from /proc/uptime (grant it);
// WARNING when the host booted less than `min_uptime_s` seconds ago (default 600):
// an unexpected reboot is worth a look.
//
// Build: node build.mjs  (componentize-js from npm)
import { log, readFile } from "hbd:plugin/host@0.1.0";

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
  const text = readFile("/proc/uptime");
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
