// Formatting for the live page. Decimals arrive as strings (no precision lost on the
// wire); they become numbers here only to be shown, never to be computed with.

const decimal = new Intl.NumberFormat("en-US", { maximumSignificantDigits: 6 });
const money = new Intl.NumberFormat("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
const percent = new Intl.NumberFormat("en-US", { style: "percent", maximumFractionDigits: 1 });
const compact = new Intl.NumberFormat("en-US", { notation: "compact", maximumFractionDigits: 1 });

const DASH = "–";
const missing = (value) => value === null || value === undefined;

function formatted(text, format) {
  if (missing(text)) return DASH;
  const value = Number(text);
  return Number.isFinite(value) ? format.format(value) : String(text);
}

/** A decimal string (or number) with up to 6 significant digits. */
export const formatDecimal = (text) => formatted(text, decimal);
/** A USD amount with cents. */
export const formatMoney = (text) => formatted(text, money);
/** A ratio (0.5) as a percentage (50%). */
export const formatRatio = (text) => formatted(text, percent);
/** A number in few characters (559.4K), for chart axes. */
export const formatCompact = (value) => compact.format(value);

/** A count with thousands separators. */
export function formatCount(value) {
  return missing(value) ? DASH : value.toLocaleString("en-US");
}

/** Unix seconds as "YYYY-MM-DD HH:MM:SS" (UTC). */
export function formatTime(seconds) {
  if (missing(seconds)) return DASH;
  return new Date(seconds * 1000).toISOString().replace("T", " ").slice(0, 19);
}

/** Seconds as minutes, hours or days. */
export function formatDuration(seconds) {
  if (missing(seconds)) return DASH;
  const hours = seconds / 3600;
  if (hours < 1) return `${Math.round(seconds / 60)} min`;
  if (hours < 48) return `${hours.toFixed(1)} h`;
  return `${(hours / 24).toFixed(1)} d`;
}

/** A long id or mint shortened to its ends: "2GaU…moon". */
export function shortId(text) {
  return text.length > 16 ? `${text.slice(0, 4)}…${text.slice(-4)}` : text;
}

/** "gain", "loss" or "" for a signed decimal string (a CSS class). */
export function signClass(text) {
  const value = Number(text);
  if (missing(text) || !Number.isFinite(value) || value === 0) return "";
  return value > 0 ? "gain" : "loss";
}
