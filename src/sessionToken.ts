import { createHmac, timingSafeEqual } from "node:crypto";

/** Twilio opens the stream within seconds of our TwiML; a token older than this is refused. */
export const SESSION_TOKEN_TTL_MS = 5 * 60_000;

export type TokenCheck =
  | { ok: true; tenantId: string; callId: string }
  | { ok: false; reason: "malformed" | "bad_signature" | "expired" };

/**
 * Signed, expiring proof that a media stream belongs to the call our voice webhook answered. Carried in a
 * `<Parameter>`, never a query string. Binds the call-log id to Twilio's CallSid.
 */
export class SessionTokens {
  readonly #secret: Buffer;

  constructor(secret: string) {
    this.#secret = Buffer.from(secret, "utf8");
  }

  issue(tenantId: string, callId: string, callSid: string, nowMs: number = Date.now()): string {
    const exp = Math.floor((nowMs + SESSION_TOKEN_TTL_MS) / 1000).toString(36);
    return `${tenantId}.${callId}.${exp}.${this.#sign(tenantId, callId, callSid, exp)}`;
  }

  verify(token: string, callSid: string, nowMs: number = Date.now()): TokenCheck {
    const parts = token.split(".");
    if (parts.length !== 4) return { ok: false, reason: "malformed" };
    const [tenantId, callId, exp, sig] = parts as [string, string, string, string];
    const expected = Buffer.from(this.#sign(tenantId, callId, callSid, exp));
    const given = Buffer.from(sig);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, reason: "bad_signature" };
    if (parseInt(exp, 36) * 1000 < nowMs) return { ok: false, reason: "expired" };
    return { ok: true, tenantId, callId };
  }

  #sign(tenantId: string, callId: string, callSid: string, exp: string): string {
    return createHmac("sha256", this.#secret).update(`${tenantId}|${callId}|${callSid}|${exp}`).digest("base64url");
  }
}

/** The secret: SESSION_SECRET, else derived from the Twilio auth token so every instance agrees. */
export function sessionSecretFrom(sessionSecret: string | undefined, twilioAuthToken: string | undefined): string | undefined {
  if (sessionSecret) return sessionSecret;
  if (twilioAuthToken) return createHmac("sha256", twilioAuthToken).update("patchbay session tokens").digest("hex");
  return undefined;
}
