/** The multi-instance bus over Redis pub/sub: one publishing and one subscribing connection. */
import { Redis } from "ioredis";
import { Subscribers } from "./subscribers.js";
import { BusError, defaultOnError, encodeMessage, type Bus, type BusHandler, type BusOptions, type BusStats } from "./types.js";

/** Namespaces our channels so Patchbay can share a Redis with other applications. */
export const CHANNEL_PREFIX = "patchbay:";
// Fail a publish after a few reconnect attempts instead of queueing it for the ~20 ioredis allows.
const MAX_RETRIES_PER_REQUEST = 3;

export class RedisBus implements Bus {
  readonly kind = "redis";
  readonly #pub: Redis;
  readonly #sub: Redis;
  readonly #subscribers: Subscribers;
  /** Per channel, the SUBSCRIBE in flight or done, so later subscribers wait for the same one. */
  readonly #subscribed = new Map<string, Promise<unknown>>();
  #closed = false;

  private constructor(url: string, onError: (err: Error) => void) {
    const options = { lazyConnect: true, maxRetriesPerRequest: MAX_RETRIES_PER_REQUEST };
    this.#pub = new Redis(url, options);
    this.#sub = new Redis(url, options);
    this.#subscribers = new Subscribers(onError);
    // ioredis reconnects by itself; errors are reported, never thrown into the process.
    this.#pub.on("error", (err) => onError(new BusError("BUS_CONNECT_FAILED", "redis publisher error", true, { cause: err })));
    this.#sub.on("error", (err) => onError(new BusError("BUS_CONNECT_FAILED", "redis subscriber error", true, { cause: err })));
    this.#sub.on("message", (channel: string, raw: string) => this.#onMessage(channel, raw));
  }

  /** Connects both connections; rejects (and cleans up) if Redis is unreachable at start. */
  static async connect(url: string, opts: BusOptions = {}): Promise<RedisBus> {
    const bus = new RedisBus(url, opts.onError ?? defaultOnError);
    try {
      await Promise.all([bus.#pub.connect(), bus.#sub.connect()]);
    } catch (err) {
      bus.#pub.disconnect();
      bus.#sub.disconnect();
      throw new BusError("BUS_CONNECT_FAILED", "could not connect to Redis (REDIS_URL)", true, { cause: err });
    }
    return bus;
  }

  async publish(channel: string, message: unknown): Promise<void> {
    if (this.#closed) throw new BusError("BUS_CLOSED", "bus is closed");
    const text = encodeMessage(channel, message);
    await this.#pub.publish(CHANNEL_PREFIX + channel, text);
    this.#subscribers.stats.published++;
  }

  async subscribe(channel: string, handler: BusHandler): Promise<() => Promise<void>> {
    if (this.#closed) throw new BusError("BUS_CLOSED", "bus is closed");
    const { subscription, first } = this.#subscribers.add(channel, handler);
    let ready = this.#subscribed.get(channel);
    if (first || ready === undefined) {
      ready = this.#sub.subscribe(CHANNEL_PREFIX + channel);
      this.#subscribed.set(channel, ready);
    }
    try {
      await ready;
    } catch (err) {
      if (this.#subscribers.remove(subscription)) this.#subscribed.delete(channel);
      throw err;
    }
    return async () => {
      if (!this.#subscribers.remove(subscription)) return;
      this.#subscribed.delete(channel);
      // Commands on one connection run in order, so a later re-SUBSCRIBE cannot be undone by this.
      if (!this.#closed) await this.#sub.unsubscribe(CHANNEL_PREFIX + channel);
    };
  }

  stats(): BusStats {
    return { ...this.#subscribers.stats };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#subscribers.clear();
    this.#subscribed.clear();
    await Promise.all([quit(this.#pub), quit(this.#sub)]);
  }

  #onMessage(prefixed: string, raw: string): void {
    if (!prefixed.startsWith(CHANNEL_PREFIX)) return;
    const channel = prefixed.slice(CHANNEL_PREFIX.length);
    let message: unknown;
    try {
      message = JSON.parse(raw);
    } catch (err) {
      this.#subscribers.reportMalformed(channel, err);
      return;
    }
    this.#subscribers.deliver(this.#subscribers.snapshot(channel), message);
  }
}

/** QUIT politely; if the connection is already gone, just drop it. */
async function quit(client: Redis): Promise<void> {
  try {
    await client.quit();
  } catch {
    client.disconnect();
  }
}

export function createRedisBus(url: string, opts: BusOptions = {}): Promise<RedisBus> {
  return RedisBus.connect(url, opts);
}
