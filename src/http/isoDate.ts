/** ISO 8601 dates and date-times from query strings, parsed strictly (Date.parse accepts too much). */

export interface IsoInstant {
  /** The instant; a date alone is the start of that day in UTC. */
  at: Date;
  /** True for a date without a time, which means the whole day. */
  dateOnly: boolean;
}

// YYYY-MM-DD, optionally Thh:mm[:ss[.fff…]] and Z or ±hh[:mm]; a time without an offset is UTC.
const ISO = /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?(Z|z|[+-]\d{2}(?::?\d{2})?)?)?$/;

function offsetMinutes(zone: string | undefined): number | null {
  if (zone === undefined || zone === "Z" || zone === "z") return 0;
  const sign = zone.startsWith("-") ? -1 : 1;
  const digits = zone.slice(1).replace(":", "");
  const hours = Number(digits.slice(0, 2));
  const minutes = digits.length > 2 ? Number(digits.slice(2)) : 0;
  if (hours > 23 || minutes > 59) return null;
  return sign * (hours * 60 + minutes);
}

/** Null when `text` is not a real ISO 8601 date or date-time (2025-02-30 and 25:00 included). */
export function parseIsoInstant(text: string): IsoInstant | null {
  const m = ISO.exec(text);
  if (m === null) return null;
  const [, y, mo, d, h, mi, s, frac, zone] = m;
  const year = Number(y), month = Number(mo), day = Number(d);
  const hour = Number(h ?? 0), minute = Number(mi ?? 0), second = Number(s ?? 0);
  const ms = frac === undefined ? 0 : Number(frac.slice(0, 3).padEnd(3, "0"));
  const offset = offsetMinutes(zone);
  if (offset === null || month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return null;
  const at = new Date(0);
  // setUTCFullYear, not Date.UTC: Date.UTC maps years 0–99 to 1900–1999.
  at.setUTCFullYear(year, month - 1, day);
  if (at.getUTCDate() !== day) return null;
  at.setUTCHours(hour, minute - offset, second, ms);
  return { at, dateOnly: h === undefined };
}
