import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { BusError, createInProcessBus, openBus, type Bus, type BusStats } from "../../src/bus/index.js";
import { createRedisBus } from "../../src/bus/redis.js";

const redisUrl = process.env.REDIS_URL !== undefined && process.env.REDIS_URL !== "" ? process.env.REDIS_URL : undefined;

type TestBus = Bus & { stats(): BusStats };

interface BusBackend {
  kind: "in-process" | "redis";
  open(onError: (err: Error) => void): Promise<TestBus>;
}

const backends: BusBackend[] = [
  { kind: "in-process", open: async (onError) => createInProcessBus({ onError }) },
  ...(redisUrl !== undefined ? [{ kind: "redis" as const, open: (onError: (err: Error) => void) => createRedisBus(redisUrl, { onError }) }] : []),
];

let channelSeq = 0;
/** Channels unique per test run, so parallel files sharing one Redis never cross-talk. */
const channel = (name: string) => `test:${process.pid}:${Date.now()}:${channelSeq++}:${name}`;

/** Lets in-flight deliveries land: a microtask hop in-process, a round trip through Redis. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 50));

describe.each(backends)("$kind bus", (backend) => {
  let bus: TestBus;
  let errors: Error[];

  beforeEach(async () => {
    errors = [];
    bus = await backend.open((err) => errors.push(err));
  });
  afterEach(async () => {
    await bus.close();
  });

  it("says which kind it is", () => {
    expect(bus.kind).toBe(backend.kind);
  });

  it("delivers a JSON copy to every subscriber of the channel, never inside the publish call", async () => {
    const ch = channel("fanout");
    const first = vi.fn();
    const second = vi.fn();
    await bus.subscribe(ch, first);
    await bus.subscribe(ch, second);
    const message = { type: "hangup", callId: "c1", at: new Date("2025-01-01T00:00:00Z"), nested: [1, { a: null }] };
    const published = bus.publish(ch, message);
    // Publishers are never re-entered: nothing runs inside the publish call itself.
    expect(first).not.toHaveBeenCalled();
    await published;
    await vi.waitFor(() => expect(second).toHaveBeenCalledTimes(1));
    expect(first).toHaveBeenCalledTimes(1);
    const received: unknown = first.mock.calls[0]?.[0];
    expect(received).toEqual({ type: "hangup", callId: "c1", at: "2025-01-01T00:00:00.000Z", nested: [1, { a: null }] });
    expect(received).not.toBe(message);
  });

  it("keeps channels apart and preserves order within one", async () => {
    const a = channel("a");
    const b = channel("b");
    const got: unknown[] = [];
    await bus.subscribe(a, (m) => got.push(m));
    await bus.publish(b, "for b");
    for (let i = 0; i < 5; i++) await bus.publish(a, i);
    await vi.waitFor(() => expect(got).toHaveLength(5));
    await settle();
    expect(got).toEqual([0, 1, 2, 3, 4]);
  });

  it("stops delivering after unsubscribe, without affecting other subscribers", async () => {
    const ch = channel("unsub");
    const leaving = vi.fn();
    const staying = vi.fn();
    const unsubscribe = await bus.subscribe(ch, leaving);
    await bus.subscribe(ch, staying);
    await unsubscribe();
    await unsubscribe(); // idempotent
    await bus.publish(ch, "after");
    await vi.waitFor(() => expect(staying).toHaveBeenCalledWith("after"));
    await settle();
    expect(leaving).not.toHaveBeenCalled();
  });

  it("delivers again after the last subscriber leaves and a new one joins", async () => {
    const ch = channel("rejoin");
    const unsubscribe = await bus.subscribe(ch, () => undefined);
    await unsubscribe();
    const again = vi.fn();
    await bus.subscribe(ch, again);
    await bus.publish(ch, { n: 1 });
    await vi.waitFor(() => expect(again).toHaveBeenCalledWith({ n: 1 }));
  });

  it("reports a throwing handler and still delivers to the rest", async () => {
    const ch = channel("throws");
    const healthy = vi.fn();
    await bus.subscribe(ch, () => {
      throw new Error("handler bug");
    });
    await bus.subscribe(ch, healthy);
    await bus.publish(ch, "x");
    await vi.waitFor(() => expect(healthy).toHaveBeenCalledWith("x"));
    await vi.waitFor(() => expect(errors).toHaveLength(1));
    expect(errors[0]).toMatchObject({ code: "BUS_HANDLER_FAILED" });
    expect(bus.stats().handlerErrors).toBe(1);
  });

  it("rejects messages that JSON cannot carry, and anything after close", async () => {
    await expect(bus.publish(channel("bad"), { n: 1n })).rejects.toMatchObject({ code: "BUS_UNSERIALISABLE" });
    await expect(bus.publish(channel("bad"), undefined)).rejects.toBeInstanceOf(BusError);
    await bus.close();
    await expect(bus.publish(channel("closed"), 1)).rejects.toMatchObject({ code: "BUS_CLOSED" });
    await expect(bus.subscribe(channel("closed"), () => undefined)).rejects.toMatchObject({ code: "BUS_CLOSED" });
  });
});

describe("openBus", () => {
  it("is in-process without a Redis URL", async () => {
    const bus = await openBus({});
    expect(bus.kind).toBe("in-process");
    await bus.close();
    const empty = await openBus({ redisUrl: "" });
    expect(empty.kind).toBe("in-process");
    await empty.close();
  });

  it("fails fast with a typed error when Redis is unreachable", async () => {
    const onError = vi.fn();
    const err: unknown = await openBus({ redisUrl: "redis://127.0.0.1:1", onError }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BusError);
    expect(err).toMatchObject({ code: "BUS_CONNECT_FAILED", retryable: true });
  });
});
