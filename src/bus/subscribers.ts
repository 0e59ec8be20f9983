/** Local subscriptions per channel and their delivery, shared by both bus backends. */
import { BusError, type BusHandler, type BusStats } from "./types.js";

export interface Subscription {
  readonly channel: string;
  readonly handler: BusHandler;
  active: boolean;
}

export class Subscribers {
  readonly #channels = new Map<string, Set<Subscription>>();
  readonly #onError: (err: Error) => void;
  readonly stats: BusStats = { published: 0, delivered: 0, malformed: 0, handlerErrors: 0 };

  constructor(onError: (err: Error) => void) {
    this.#onError = onError;
  }

  /** Adds a subscription; `first` tells the caller the channel had none before. */
  add(channel: string, handler: BusHandler): { subscription: Subscription; first: boolean } {
    let set = this.#channels.get(channel);
    const first = set === undefined;
    if (set === undefined) {
      set = new Set();
      this.#channels.set(channel, set);
    }
    const subscription: Subscription = { channel, handler, active: true };
    set.add(subscription);
    return { subscription, first };
  }

  /** Removes a subscription; true when it was the channel's last. A second removal is a no-op. */
  remove(subscription: Subscription): boolean {
    if (!subscription.active) return false;
    subscription.active = false;
    const set = this.#channels.get(subscription.channel);
    if (set === undefined) return false;
    set.delete(subscription);
    if (set.size > 0) return false;
    this.#channels.delete(subscription.channel);
    return true;
  }

  /** The channel's current subscriptions, fixed at call time. */
  snapshot(channel: string): Subscription[] {
    const set = this.#channels.get(channel);
    return set === undefined ? [] : [...set];
  }

  /** Calls each still-active handler; one handler throwing never stops the others. */
  deliver(subscriptions: readonly Subscription[], message: unknown): void {
    for (const subscription of subscriptions) {
      if (!subscription.active) continue;
      try {
        subscription.handler(message);
        this.stats.delivered++;
      } catch (err) {
        this.stats.handlerErrors++;
        this.#onError(new BusError("BUS_HANDLER_FAILED", `handler for ${subscription.channel} threw`, false, { cause: err }));
      }
    }
  }

  reportMalformed(channel: string, cause: unknown): void {
    this.stats.malformed++;
    this.#onError(new BusError("BUS_MALFORMED_MESSAGE", `skipped a malformed message on ${channel}`, false, { cause }));
  }

  clear(): void {
    for (const set of this.#channels.values()) for (const subscription of set) subscription.active = false;
    this.#channels.clear();
  }
}
