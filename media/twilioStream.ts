import type { TwilioInboundMessage, TwilioStartMessage } from "./twilioWire.js";

/** Why an inbound frame was skipped. Counted per call; never ends a call by itself. */
export type FrameFault = "malformed_json" | "unknown_event" | "bad_field" | "bad_base64" | "binary_frame";

/** A zeroed counter per fault kind. */
export function emptyFaultCounts(): Record<FrameFault, number> {
  return { malformed_json: 0, unknown_event: 0, bad_field: 0, bad_base64: 0, binary_frame: 0 };
}

export type ParsedFrame =
  | { readonly ok: true; readonly message: TwilioInboundMessage }
  | { readonly ok: false; readonly fault: FrameFault; readonly detail: string };

// Standard base64 with optional padding; Twilio payloads are always padded to a multiple of 4.
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const DIGITS = /^\d+$/;

function fail(fault: FrameFault, detail: string): ParsedFrame {
  return { ok: false, fault, detail };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function isDigits(v: unknown): boolean {
  return typeof v === "string" && DIGITS.test(v);
}

export function isBase64(s: string): boolean {
  return (s.length & 3) === 0 && BASE64.test(s);
}

/**
 * Parse one text frame from Twilio into a typed message. One `JSON.parse`, validation in place, no copies:
 * the returned message is the parsed object itself.
 */
export function parseTwilioFrame(text: string): ParsedFrame {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return fail("malformed_json", text.length > 80 ? text.slice(0, 80) + "…" : text);
  }
  if (!isRecord(raw)) return fail("malformed_json", "frame is not a JSON object");
  switch (raw.event) {
    case "media":
      return checkMedia(raw);
    case "mark":
      return isRecord(raw.mark) && typeof raw.mark.name === "string"
        ? ok(raw)
        : fail("bad_field", "mark.name missing");
    case "start":
      return checkStart(raw);
    case "stop":
      return ok(raw);
    case "dtmf":
      return isRecord(raw.dtmf) && typeof raw.dtmf.digit === "string"
        ? ok(raw)
        : fail("bad_field", "dtmf.digit missing");
    case "connected":
      return ok(raw);
    default:
      return fail("unknown_event", String(raw.event));
  }
}

function ok(raw: Record<string, unknown>): ParsedFrame {
  // Shape checked by the caller's case; the wire type is the contract from here on.
  return { ok: true, message: raw as unknown as TwilioInboundMessage };
}

function checkMedia(raw: Record<string, unknown>): ParsedFrame {
  const media = raw.media;
  if (!isRecord(media)) return fail("bad_field", "media missing");
  const payload = media.payload;
  if (typeof payload !== "string") return fail("bad_field", "media.payload missing");
  if (!isBase64(payload)) return fail("bad_base64", "media.payload is not base64");
  if (!isDigits(media.timestamp)) return fail("bad_field", "media.timestamp is not a digit string");
  return ok(raw);
}

function checkStart(raw: Record<string, unknown>): ParsedFrame {
  const start = raw.start;
  if (!isRecord(start)) return fail("bad_field", "start missing");
  if (typeof start.callSid !== "string") return fail("bad_field", "start.callSid missing");
  if (typeof raw.streamSid !== "string") return fail("bad_field", "streamSid missing");
  if (start.customParameters === undefined) start.customParameters = {};
  if (!isRecord(start.customParameters)) return fail("bad_field", "start.customParameters is not an object");
  return ok(raw);
}

export function customParameter(start: TwilioStartMessage, name: string): string | undefined {
  const v = start.start.customParameters[name];
  return typeof v === "string" ? v : undefined;
}

/**
 * Builds outbound frames for one stream by string concatenation; the JSON-escaped streamSid is computed
 * once. Mark names are ours and must be JSON-safe (letters, digits, `:` `.` `_` `-`).
 */
export class TwilioFrameWriter {
  readonly #mediaPrefix: string;
  readonly #markPrefix: string;
  readonly #clear: string;

  constructor(streamSid: string) {
    const sid = JSON.stringify(streamSid);
    this.#mediaPrefix = '{"event":"media","streamSid":' + sid + ',"media":{"payload":"';
    this.#markPrefix = '{"event":"mark","streamSid":' + sid + ',"mark":{"name":"';
    this.#clear = '{"event":"clear","streamSid":' + sid + "}";
  }

  media(payloadB64: string): string {
    return this.#mediaPrefix + payloadB64 + '"}}';
  }

  mark(name: string): string {
    return this.#markPrefix + name + '"}}';
  }

  clear(): string {
    return this.#clear;
  }
}
