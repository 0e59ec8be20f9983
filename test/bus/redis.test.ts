import { Redis } from "ioredis";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { CHANNEL_PREFIX, createRedisBus, type RedisBus } from "../../src/bus/redis.js";

const redisUrl = process.env.REDIS_URL !== undefined && process.env.REDIS_URL !== "" ? process.env.REDIS_URL : undefined;

let channelSeq = 0;
const channel = (name: string) => `test:${process.pid}:${Date.now()}:${channelSeq++}:${name}`;

describe.runIf(redisUrl !== undefined)("Redis bus on the wire", () => {
  const url = redisUrl ?? "";
  let raw: Redis;
  let bus: RedisBus;
  let errors: Error[];

  beforeEach(async () => {
    errors = [];
    raw = new Redis(url);
    bus = await createRedisBus(url, { onError: (err) => errors.push(err) });
  });
  afterEach(async () => {
    await bus.close();
    await raw.quit();
  });

  it("publishes JSON under the patchbay: prefix", async () => {
    const ch = channel("prefix");
    const seen: [string, string][] = [];
    const listener = new Redis(url);
    listener.on("message", (c: string, m: string) => seen.push([c, m]));
    await listener.subscribe(`${CHANNEL_PREFIX}${ch}`);
    await bus.publish(ch, { kind: "transfer", to: "+15550001111" });
    await vi.waitFor(() => expect(seen).toHaveLength(1));
    expect(seen[0]).toEqual([`patchbay:${ch}`, JSON.stringify({ kind: "transfer", to: "+15550001111" })]);
    await listener.quit();
  });

  it("skips and counts a malformed message, then keeps delivering", async () => {
    const ch = channel("malformed");
    const handler = vi.fn();
    await bus.subscribe(ch, handler);
    await raw.publish(`${CHANNEL_PREFIX}${ch}`, "{not json");
    await raw.publish(`${CHANNEL_PREFIX}${ch}`, JSON.stringify({ ok: true }));
    await vi.waitFor(() => expect(handler).toHaveBeenCalledTimes(1));
    expect(handler).toHaveBeenCalledWith({ ok: true });
    expect(bus.stats().malformed).toBe(1);
    expect(errors.map((e) => (e as Error & { code?: string }).code)).toEqual(["BUS_MALFORMED_MESSAGE"]);
  });

  it("carries messages between two instances", async () => {
    const other = await createRedisBus(url);
    try {
      const ch = channel("cross");
      const handler = vi.fn();
      await other.subscribe(ch, handler);
      await bus.publish(ch, { command: "hangup", callId: "c-1" });
      await vi.waitFor(() => expect(handler).toHaveBeenCalledWith({ command: "hangup", callId: "c-1" }));
    } finally {
      await other.close();
    }
  });

  it("lets concurrent first subscribers both wait for the live subscription", async () => {
    const ch = channel("concurrent");
    const a = vi.fn();
    const b = vi.fn();
    await Promise.all([bus.subscribe(ch, a), bus.subscribe(ch, b)]);
    await raw.publish(`${CHANNEL_PREFIX}${ch}`, "1");
    await vi.waitFor(() => expect(b).toHaveBeenCalledWith(1));
    expect(a).toHaveBeenCalledWith(1);
  });
});
