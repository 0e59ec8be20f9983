/**
 * AES-256-GCM for small secrets at rest (tenants' Twilio auth tokens).
 * A sealed value is `v1.<key id>.<iv>.<tag>.<ciphertext>`, the last three base64url: the version lets
 * the format change and the key id lets a later key rotation tell which key sealed a value.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto";

const VERSION = "v1";
const KEY_BYTES = 32;
// GCM's native IV size; random per value, so one key stays safe far beyond the values we will seal.
const IV_BYTES = 12;
const TAG_BYTES = 16;

export type SecretBoxErrorKind = "bad_key" | "malformed" | "unsupported_version" | "wrong_key" | "tampered";

/** Opening failed; `kind` says why. Never carries the key or the plaintext. */
export class SecretBoxError extends Error {
  override readonly name = "SecretBoxError";
  // The same input and key fail the same way again.
  readonly retryable = false;
  constructor(
    readonly kind: SecretBoxErrorKind,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

function checkKey(key: Buffer): void {
  if (key.length !== KEY_BYTES) throw new SecretBoxError("bad_key", `encryption key must be ${KEY_BYTES} bytes (got ${key.length})`);
}

/** A short, non-reversible fingerprint of the key, stored beside each value. */
export function keyId(key: Buffer): string {
  checkKey(key);
  return createHash("sha256").update("patchbay secretBox key id\0").update(key).digest("base64url").slice(0, 8);
}

/**
 * Encrypts `plaintext`. `context` is authenticated but not stored (e.g. which tenant and column the
 * value belongs to), so a sealed value copied to another row no longer opens.
 */
export function seal(key: Buffer, plaintext: string, context: string): string {
  checkKey(key);
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv("aes-256-gcm", key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(Buffer.from(context, "utf8"));
  const body = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
  const tag = cipher.getAuthTag();
  return [VERSION, keyId(key), iv.toString("base64url"), tag.toString("base64url"), body.toString("base64url")].join(".");
}

/** Decrypts a value from `seal` under the same key and context; throws SecretBoxError otherwise. */
export function open(key: Buffer, sealed: string, context: string): string {
  const parts = sealed.split(".");
  if (parts[0] !== VERSION) {
    throw parts.length === 5
      ? new SecretBoxError("unsupported_version", `sealed value has unknown format version "${parts[0]}"`)
      : new SecretBoxError("malformed", "sealed value is not in the secretBox format");
  }
  if (parts.length !== 5) throw new SecretBoxError("malformed", "sealed value is not in the secretBox format");
  const [, kid, ivText, tagText, bodyText] = parts as [string, string, string, string, string];
  if (kid !== keyId(key)) {
    throw new SecretBoxError("wrong_key", "sealed value was encrypted under a different key (was PATCHBAY_ENCRYPTION_KEY changed?)");
  }
  const iv = Buffer.from(ivText, "base64url");
  const tag = Buffer.from(tagText, "base64url");
  if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES) throw new SecretBoxError("malformed", "sealed value has a bad IV or tag length");
  const decipher = createDecipheriv("aes-256-gcm", key, iv, { authTagLength: TAG_BYTES });
  decipher.setAAD(Buffer.from(context, "utf8"));
  decipher.setAuthTag(tag);
  try {
    return Buffer.concat([decipher.update(Buffer.from(bodyText, "base64url")), decipher.final()]).toString("utf8");
  } catch (err) {
    throw new SecretBoxError("tampered", "sealed value failed authentication (altered, or sealed for another record)", { cause: err });
  }
}
