/** CSV text (RFC 4180) safe to open in a spreadsheet. */

// A cell a spreadsheet would read as a formula (OWASP "CSV injection"): =, +, -, @, and tab/CR,
// which some spreadsheets strip before looking at the next character.
const FORMULA_START = /^[=+\-@\t\r]/;
const NEEDS_QUOTES = /[",\r\n]/;

export type CsvValue = string | number | null | undefined;

/** One field: text that could start a formula gets a leading apostrophe, then RFC 4180 quoting. */
export function csvField(value: CsvValue): string {
  if (value === null || value === undefined) return "";
  // Numbers are ours (durations, timings), never caller text: written as they are.
  if (typeof value === "number") return String(value);
  const text = FORMULA_START.test(value) ? `'${value}` : value;
  return NEEDS_QUOTES.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** One record, CRLF-terminated as RFC 4180 says. */
export function csvRecord(values: readonly CsvValue[]): string {
  return values.map(csvField).join(",") + "\r\n";
}
