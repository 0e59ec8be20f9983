// The webhooks module alone: the package root loads every REST resource (~0.25 s of boot).
import { validateRequest } from "twilio/lib/webhooks/webhooks.js";

export type SignatureCheck = { ok: true } | { ok: false; reason: string };

/**
 * Checks `X-Twilio-Signature` over the URL Twilio signed (our public URL, not the one we were reached on
 * behind a proxy) and the form params. Without an auth token nothing can be verified, so nothing passes.
 */
export function checkTwilioSignature(
  authToken: string | undefined,
  signature: string | string[] | undefined,
  signedUrl: string,
  params: Record<string, string>,
): SignatureCheck {
  if (!authToken) return { ok: false, reason: "TWILIO_AUTH_TOKEN is not set, so Twilio requests cannot be verified" };
  if (typeof signature !== "string" || signature === "") return { ok: false, reason: "missing X-Twilio-Signature" };
  return validateRequest(authToken, signature, signedUrl, params)
    ? { ok: true }
    : { ok: false, reason: "X-Twilio-Signature does not match" };
}

/** The wss:// (or ws:// for a plain-http PUBLIC_URL) origin Twilio opens the media stream on. */
export function mediaStreamUrl(publicUrl: string, tenantId?: string): string {
  const base = publicUrl.replace(/^http/, "ws") + "/media";
  // The tenant rides in the path Twilio signs (it drops a <Stream url> query), so the upgrade can be
  // checked with that tenant's own auth token.
  return tenantId === undefined ? base : `${base}/${encodeURIComponent(tenantId)}`;
}
