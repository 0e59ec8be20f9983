import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { keyId, open, seal, SecretBoxError } from "../../src/secretBox.js";

const key = randomBytes(32);
const token = "0123456789abcdef0123456789abcdef";
const context = "tenants.twilio_auth_token:tenant-a";

function failure(fn: () => unknown): SecretBoxError {
  try {
    fn();
  } catch (err) {
    if (err instanceof SecretBoxError) return err;
    throw err;
  }
  throw new Error("expected a SecretBoxError");
}

/** Flips one bit of a base64url part of a sealed value. */
function flipBit(sealed: string, part: number): string {
  const parts = sealed.split(".");
  const bytes = Buffer.from(parts[part] ?? "", "base64url");
  bytes[0] = (bytes[0] ?? 0) ^ 1;
  parts[part] = bytes.toString("base64url");
  return parts.join(".");
}

describe("secretBox", () => {
  it("round-trips, with a version, the key's id and a fresh IV every time", () => {
    const a = seal(key, token, context);
    const b = seal(key, token, context);
    expect(open(key, a, context)).toBe(token);
    expect(a).not.toBe(b);
    expect(a.split(".")).toHaveLength(5);
    expect(a.startsWith(`v1.${keyId(key)}.`)).toBe(true);
    expect(a).not.toContain(token);
    expect(open(key, seal(key, "", context), context)).toBe("");
    expect(open(key, seal(key, "héllo ☎", context), context)).toBe("héllo ☎");
  });

  it("refuses an altered ciphertext, tag or IV", () => {
    const sealed = seal(key, token, context);
    expect(failure(() => open(key, flipBit(sealed, 4), context)).kind).toBe("tampered");
    expect(failure(() => open(key, flipBit(sealed, 3), context)).kind).toBe("tampered");
    expect(failure(() => open(key, flipBit(sealed, 2), context)).kind).toBe("tampered");
  });

  it("refuses a value sealed for another record", () => {
    const sealed = seal(key, token, context);
    expect(failure(() => open(key, sealed, "tenants.twilio_auth_token:tenant-b")).kind).toBe("tampered");
  });

  it("refuses the wrong key, saying so", () => {
    const sealed = seal(key, token, context);
    const err = failure(() => open(randomBytes(32), sealed, context));
    expect(err.kind).toBe("wrong_key");
    expect(err.message).toMatch(/different key/);
    // Same key id but a different key (a forged id) still fails authentication.
    const other = randomBytes(32);
    const forged = [sealed.split(".")[0], keyId(other), ...sealed.split(".").slice(2)].join(".");
    expect(failure(() => open(other, forged, context)).kind).toBe("tampered");
  });

  it("names malformed values, unknown versions and bad keys", () => {
    expect(failure(() => open(key, "plaintext-token", context)).kind).toBe("malformed");
    expect(failure(() => open(key, "v9.a.b.c.d", context)).kind).toBe("unsupported_version");
    const sealed = seal(key, token, context).split(".");
    expect(failure(() => open(key, [...sealed.slice(0, 2), "AAAA", ...sealed.slice(3)].join("."), context)).kind).toBe("malformed");
    expect(failure(() => seal(randomBytes(16), token, context)).kind).toBe("bad_key");
  });

  it("never puts the key or the plaintext in an error", () => {
    const sealed = seal(key, token, context);
    const err = failure(() => open(randomBytes(32), sealed, context));
    expect(`${err.message} ${String(err.stack)}`).not.toContain(token);
    expect(err.message).not.toContain(key.toString("hex"));
  });
});
