/**
 * How Patchbay signs the requests it sends to a tenant's function webhooks, so the receiver can tell
 * they came from us and were not replayed.
 *
 *   X-Patchbay-Timestamp: <t>
 *   X-Patchbay-Signature: t=<t>,v1=<hex HMAC-SHA256(secret, "<t>.<signed content>")>
 *
 * `t` is Unix time in seconds. The signed content is the raw request body exactly as sent (POST, PUT,
 * PATCH); for GET and DELETE, which carry no body, it is the request target — path and query string
 * exactly as sent (`/lookup?sku=A1`). The secret is the tenant's webhook signing secret
 * (`GET /tenants/me/webhook-secret`). A receiver recomputes the HMAC over the bytes it received,
 * compares it in constant time with `v1`, and rejects a `t` more than a few minutes from its clock.
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";

export const SIGNATURE_HEADER = "X-Patchbay-Signature";
export const TIMESTAMP_HEADER = "X-Patchbay-Timestamp";
/** Header names a tenant may not set on its webhooks: ours to fill in. */
export const RESERVED_HEADER_PREFIX = "x-patchbay-";

/** A new signing secret: recognisable prefix, 32 random bytes. */
export function generateWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString("base64url")}`;
}

function hmacHex(secret: string, timestamp: number, content: string | Buffer): string {
  return createHmac("sha256", secret).update(`${timestamp}.`).update(content).digest("hex");
}

/** The X-Patchbay-Signature value for content sent at `timestamp` (Unix seconds). */
export function signWebhook(secret: string, timestamp: number, content: string | Buffer): string {
  return `t=${timestamp},v1=${hmacHex(secret, timestamp, content)}`;
}

/** Reference verifier (what a receiver does); tolerance in seconds against `nowSeconds`. */
export function verifyWebhookSignature(
  secret: string,
  header: string,
  content: string | Buffer,
  opts: { nowSeconds: number; toleranceSeconds: number },
): boolean {
  const parts = new Map(header.split(",").map((part) => part.split("=", 2) as [string, string]));
  const t = Number(parts.get("t"));
  const v1 = parts.get("v1");
  if (!Number.isInteger(t) || v1 === undefined || Math.abs(opts.nowSeconds - t) > opts.toleranceSeconds) return false;
  const expected = Buffer.from(hmacHex(secret, t, content), "hex");
  const given = Buffer.from(v1, "hex");
  return given.length === expected.length && timingSafeEqual(given, expected);
}
