import { describe, expect, it } from "vitest";
import { csvField, csvRecord } from "../../src/http/csv.js";
import { parseIsoInstant } from "../../src/http/isoDate.js";
import { recordingFetchUrl } from "../../src/http/recordingUrl.js";

describe("csvField", () => {
  it("quotes only what RFC 4180 requires, doubling quotes", () => {
    expect(csvField("plain")).toBe("plain");
    expect(csvField("a,b")).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField("two\nlines")).toBe('"two\nlines"');
    expect(csvField("cr\r")).toBe('"cr\r"');
    expect(csvField(null)).toBe("");
    expect(csvField(undefined)).toBe("");
    expect(csvField(42)).toBe("42");
    expect(csvRecord(["a", null, 1])).toBe("a,,1\r\n");
  });

  it("defuses text a spreadsheet would run as a formula", () => {
    for (const text of ["=1+1", "+15550100", "-2", "@SUM(A1)", "\tTAB", "\rCR"]) expect(csvField(text).replace(/^"/, "")).toMatch(/^'/);
    expect(csvField('=HYPERLINK("x")')).toBe(`"'=HYPERLINK(""x"")"`);
    expect(csvField("a=1")).toBe("a=1");
    // Our own numbers are never caller text, so a negative number stays a number.
    expect(csvField(-3)).toBe("-3");
  });
});

describe("parseIsoInstant", () => {
  it("reads dates as the start of the UTC day and date-times with or without an offset", () => {
    expect(parseIsoInstant("2025-06-01")).toEqual({ at: new Date("2025-06-01T00:00:00Z"), dateOnly: true });
    expect(parseIsoInstant("2025-06-01T12:30:00Z")?.at.toISOString()).toBe("2025-06-01T12:30:00.000Z");
    expect(parseIsoInstant("2025-06-01T12:30")?.at.toISOString()).toBe("2025-06-01T12:30:00.000Z");
    expect(parseIsoInstant("2025-06-01T14:30:00+02:00")?.at.toISOString()).toBe("2025-06-01T12:30:00.000Z");
    expect(parseIsoInstant("2025-06-01T10:00:00-0530")?.at.toISOString()).toBe("2025-06-01T15:30:00.000Z");
    expect(parseIsoInstant("2025-06-01 12:30:00.123456Z")?.at.toISOString()).toBe("2025-06-01T12:30:00.123Z");
    expect(parseIsoInstant("2024-02-29")?.dateOnly).toBe(true);
  });

  it("refuses what is not a real ISO 8601 date or date-time", () => {
    for (const text of ["", "yesterday", "2025-6-1", "2025-02-29", "2025-13-01", "2025-06-31", "2025-06-01T24:00:00Z", "2025-06-01T12:60Z",
      "2025-06-01T12:00:00+24:00", "06/01/2025", "2025-06-01Z", "1717243200", "2025-06-01T12"]) {
      expect(parseIsoInstant(text), text).toBeNull();
    }
  });
});

describe("recordingFetchUrl", () => {
  const path = `/2010-04-01/Accounts/AC${"0".repeat(32)}/Recordings/RE${"a".repeat(32)}`;

  it("fetches Twilio recordings from Twilio's API, or from the configured origin instead", () => {
    expect(recordingFetchUrl(`https://api.twilio.com${path}`, undefined, undefined)?.href).toBe(`https://api.twilio.com${path}.mp3`);
    expect(recordingFetchUrl(`https://api.twilio.com${path}.wav?x=1#y`, undefined, undefined)?.href).toBe(`https://api.twilio.com${path}.wav`);
    expect(recordingFetchUrl(`https://api.twilio.com${path}.wav`, undefined, "mp3")?.href).toBe(`https://api.twilio.com${path}.mp3`);
    expect(recordingFetchUrl(`https://api.twilio.com${path}`, "http://127.0.0.1:9999/base", "wav")?.href).toBe(`http://127.0.0.1:9999${path}.wav`);
    expect(recordingFetchUrl(`http://127.0.0.1:9999${path}`, "http://127.0.0.1:9999", undefined)?.href).toBe(`http://127.0.0.1:9999${path}.mp3`);
  });

  it("refuses every other URL", () => {
    for (const url of [
      `http://127.0.0.1:9999${path}`,
      `https://evil.test${path}`,
      `https://api.twilio.com:8443${path}`,
      `https://user:pass@api.twilio.com${path}`,
      `https://api.twilio.com${path}.json`,
      `https://api.twilio.com/2010-04-01/Accounts/AC${"0".repeat(32)}/Calls.json`,
      `https://api.twilio.com${path}/../../Calls.json`,
      "not a url",
    ]) {
      expect(recordingFetchUrl(url, undefined, undefined), url).toBeNull();
    }
  });
});
