import { describe, expect, it } from "vitest";
import { SESSION_TOKEN_TTL_MS, SessionTokens, sessionSecretFrom } from "../../src/sessionToken.js";

const T = "11111111-1111-1111-1111-111111111111";
const C = "22222222-2222-2222-2222-222222222222";

describe("SessionTokens", () => {
  const tokens = new SessionTokens("a-secret-of-enough-length");

  it("round-trips tenant and call for the CallSid it was issued for", () => {
    const token = tokens.issue(T, C, "CA1", 1_000);
    expect(tokens.verify(token, "CA1", 2_000)).toEqual({ ok: true, tenantId: T, callId: C });
    expect(token.length).toBeLessThan(400);
  });

  it("refuses another call's CallSid, a tampered token, an expired one, and garbage", () => {
    const token = tokens.issue(T, C, "CA1", 1_000);
    expect(tokens.verify(token, "CA2", 2_000)).toEqual({ ok: false, reason: "bad_signature" });
    expect(tokens.verify(token.replace(C, T), "CA1", 2_000)).toEqual({ ok: false, reason: "bad_signature" });
    expect(tokens.verify(token, "CA1", 1_000 + SESSION_TOKEN_TTL_MS + 2_000)).toEqual({ ok: false, reason: "expired" });
    expect(tokens.verify("x.y", "CA1")).toEqual({ ok: false, reason: "malformed" });
    expect(new SessionTokens("another-secret-entirely").verify(token, "CA1", 2_000).ok).toBe(false);
  });

  it("derives the same secret from the Twilio auth token on every instance", () => {
    expect(sessionSecretFrom(undefined, "tok")).toBe(sessionSecretFrom(undefined, "tok"));
    expect(sessionSecretFrom("explicit-secret-123", "tok")).toBe("explicit-secret-123");
    expect(sessionSecretFrom(undefined, undefined)).toBeUndefined();
  });
});
