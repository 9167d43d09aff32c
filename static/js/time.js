// How long something lasted or how long ago it was, written the same way on every page.

// A duration in seconds, in its two largest units: "2 d 4 h", "1 h 5 min", "8 min", "12 s".
export function span(s) {
  if (s === null || s === undefined) return '—';
  const d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
  return d ? `${d} d ${h} h` : h ? `${h} h ${m} min` : m ? `${m} min` : `${Math.round(s)} s`;
}

// A time `ms` milliseconds from now, in its largest unit: "8 min ago", "in 2 h".
export function relative(ms) {
  const s = Math.round(Math.abs(ms) / 1000);
  const unit = s < 60 ? `${s} s` : s < 3600 ? `${Math.floor(s / 60)} min` : s < 86400 ? `${Math.floor(s / 3600)} h` : `${Math.floor(s / 86400)} d`;
  return ms <= 0 ? `${unit} ago` : `in ${unit}`;
}
