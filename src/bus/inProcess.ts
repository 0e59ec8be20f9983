/** The single-instance bus: same contract as Redis, including JSON copies of every message. */
import { Subscribers } from "./subscribers.js";
import { BusError, defaultOnError, encodeMessage, type Bus, type BusHandler, type BusOptions, type BusStats } from "./types.js";

export class InProcessBus implements Bus {
  readonly kind = "in-process";
  readonly #subscribers: Subscribers;
  #closed = false;

  constructor(opts: BusOptions = {}) {
    this.#subscribers = new Subscribers(opts.onError ?? defaultOnError);
  }

  async publish(channel: string, message: unknown): Promise<void> {
    if (this.#closed) throw new BusError("BUS_CLOSED", "bus is closed");
    // A JSON copy: subscribers never share an object with the publisher, exactly as over Redis.
    const copy: unknown = JSON.parse(encodeMessage(channel, message));
    const subscriptions = this.#subscribers.snapshot(channel);
    this.#subscribers.stats.published++;
    if (subscriptions.length === 0) return;
    // Deliver on a later microtask so a handler never runs inside its publisher's call stack.
    queueMicrotask(() => this.#subscribers.deliver(subscriptions, copy));
  }

  async subscribe(channel: string, handler: BusHandler): Promise<() => Promise<void>> {
    if (this.#closed) throw new BusError("BUS_CLOSED", "bus is closed");
    const { subscription } = this.#subscribers.add(channel, handler);
    return async () => {
      this.#subscribers.remove(subscription);
    };
  }

  stats(): BusStats {
    return { ...this.#subscribers.stats };
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#subscribers.clear();
  }
}

export function createInProcessBus(opts: BusOptions = {}): InProcessBus {
  return new InProcessBus(opts);
}
