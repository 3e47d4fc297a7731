// Number, size, duration and time formatting for the dashboard.

const integer = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });
const oneDecimal = new Intl.NumberFormat(undefined, { minimumFractionDigits: 1, maximumFractionDigits: 1 });
const twoDecimals = new Intl.NumberFormat(undefined, { maximumFractionDigits: 2 });
const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
const timeOnly = new Intl.DateTimeFormat(undefined, { timeStyle: 'medium' });

export const DASH = '—';

export function fmtInt(n) {
  return n == null || !Number.isFinite(n) ? DASH : integer.format(n);
}

/** A rate with sensible precision: 0.42, 4.2, 42, 4,200. */
export function fmtNumber(n) {
  if (n == null || !Number.isFinite(n)) return DASH;
  const abs = Math.abs(n);
  if (abs >= 100) return integer.format(n);
  if (abs >= 10) return oneDecimal.format(n);
  return twoDecimals.format(n);
}

export function fmtPercent(p) {
  if (p == null || !Number.isFinite(p)) return DASH;
  const clamped = Math.min(100, Math.max(0, p));
  if (clamped === 100 || clamped === 0) return `${integer.format(clamped)}%`;
  return `${oneDecimal.format(Math.min(99.9, clamped))}%`;
}

const BYTE_UNITS = ['B', 'KB', 'MB', 'GB', 'TB', 'PB'];

export function fmtBytes(bytes) {
  if (bytes == null || !Number.isFinite(bytes)) return DASH;
  let value = Math.max(0, bytes);
  let unit = 0;
  while (value >= 1024 && unit < BYTE_UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  const text = unit === 0 ? integer.format(value) : value >= 100 ? integer.format(value) : oneDecimal.format(value);
  return `${text} ${BYTE_UNITS[unit]}`;
}

const pad = (n) => String(n).padStart(2, '0');

/** 42s, 3m 05s, 1h 02m 03s, 2d 04h 10m. */
export function fmtDuration(seconds) {
  if (seconds == null || !Number.isFinite(seconds)) return DASH;
  const total = Math.max(0, Math.round(seconds));
  const d = Math.floor(total / 86400);
  const h = Math.floor((total % 86400) / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  if (d) return `${d}d ${pad(h)}h ${pad(m)}m`;
  if (h) return `${h}h ${pad(m)}m ${pad(s)}s`;
  if (m) return `${m}m ${pad(s)}s`;
  return `${s}s`;
}

/** Milliseconds since the epoch, or null. */
export function parseTime(iso) {
  if (!iso) return null;
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? null : ms;
}

export function fmtDateTime(iso) {
  const ms = parseTime(iso);
  return ms == null ? DASH : dateTime.format(ms);
}

/** "just now", "12s ago", "5 min ago", "3 h ago", then the date and time. */
export function fmtRelative(iso, now = Date.now()) {
  const ms = parseTime(iso);
  if (ms == null) return DASH;
  const ago = Math.max(0, (now - ms) / 1000);
  if (ago < 5) return 'just now';
  if (ago < 60) return `${Math.floor(ago)}s ago`;
  if (ago < 3600) return `${Math.floor(ago / 60)} min ago`;
  if (ago < 86400) return `${Math.floor(ago / 3600)} h ago`;
  return dateTime.format(ms);
}

export function fmtTime(iso) {
  const ms = parseTime(iso);
  if (ms == null) return DASH;
  return Date.now() - ms < 86400000 ? timeOnly.format(ms) : dateTime.format(ms);
}

export function shortId(id) {
  if (!id) return '';
  return id.length > 12 ? `${id.slice(0, 8)}…` : id;
}

/** A value of a job's parameters or summary, for people. */
export function fmtValue(value) {
  if (value == null) return DASH;
  if (Array.isArray(value)) return value.length ? value.map((v) => fmtValue(v)).join(', ') : '(none)';
  if (typeof value === 'number') return Number.isInteger(value) ? fmtInt(value) : fmtNumber(value);
  if (typeof value === 'boolean') return value ? 'yes' : 'no';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

/** snake_case or camelCase key → "Sentence case". */
export function humanize(key) {
  const words = String(key).replace(/([a-z])([A-Z])/g, '$1 $2').replace(/[_-]+/g, ' ').trim().toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}
