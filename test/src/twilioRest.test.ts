import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TWILIO_CLIENTS_MAX, TwilioRestError, cachedTwilioClients, twilioRest } from "../../src/twilio/rest.js";
import { FakeTwilioRestServer } from "../fakes/twilioRestServer.js";

const ACCOUNT = { accountSid: `AC${"1".repeat(32)}`, authToken: "token-one" };
const callSid = (): string => `CA${randomBytes(16).toString("hex")}`;

describe("Twilio REST clients", () => {
  let fake: FakeTwilioRestServer;

  beforeAll(async () => {
    fake = await FakeTwilioRestServer.start(ACCOUNT);
  });

  afterAll(async () => {
    await fake.close();
  });

  it("reuses one client per account and keeps at most TWILIO_CLIENTS_MAX, so tenants and rotated tokens can't grow it", async () => {
    const before = cachedTwilioClients();
    expect(await twilioRest(ACCOUNT, fake.url).hangUpCall(callSid())).toBe(true);
    expect(await twilioRest({ ...ACCOUNT }, fake.url).hangUpCall(callSid())).toBe(true);
    expect(cachedTwilioClients()).toBe(before + 1);

    // Other accounts (or an old token): Twilio refuses them, but each still got a client.
    const others = TWILIO_CLIENTS_MAX + 10;
    for (let i = 0; i < others; i++) {
      const account = { accountSid: `AC${i.toString(16).padStart(32, "0")}`, authToken: `rotated-${i}` };
      const refused = await twilioRest(account, fake.url)
        .hangUpCall(callSid())
        .catch((err: unknown) => err);
      expect(refused).toBeInstanceOf(TwilioRestError);
      expect((refused as TwilioRestError).status).toBe(401);
    }
    expect(cachedTwilioClients()).toBe(TWILIO_CLIENTS_MAX);
    expect(fake.requests).toHaveLength(2 + others);

    // The first account's client was the least recently used and went; a new one serves it.
    expect(await twilioRest(ACCOUNT, fake.url).hangUpCall(callSid())).toBe(true);
    expect(cachedTwilioClients()).toBe(TWILIO_CLIENTS_MAX);
  });
});
