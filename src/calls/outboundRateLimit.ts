/**
 * Calls a tenant may place per minute: a sliding window of the last minute's placements, per tenant,
 * in this process. Several instances behind one load balancer each allow the full rate; a shared limit
 * needs the window in Redis (a sorted set per tenant: ZREMRANGEBYSCORE + ZCARD + ZADD in one MULTI).
 */

/** The window the rate is counted over. */
export const RATE_WINDOW_MS = 60_000;

export type RateDecision = { ok: true } | { ok: false; retryAfterSeconds: number };

export class OutboundRateLimiter {
  readonly #perWindow: number;
  readonly #now: () => number;
  // Monotonic times of each tenant's placements within the window, oldest first.
  readonly #placed = new Map<string, number[]>();

  constructor(perMinute: number, now: () => number) {
    this.#perWindow = perMinute;
    this.#now = now;
  }

  /** Takes a slot for one call, or says when the oldest one in the window frees. */
  take(tenantId: string): RateDecision {
    const now = this.#now();
    const times = this.#recent(tenantId, now);
    if (times.length >= this.#perWindow) {
      return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil((times[0]! + RATE_WINDOW_MS - now) / 1000)) };
    }
    times.push(now);
    this.#placed.set(tenantId, times);
    return { ok: true };
  }

  /** Returns the latest slot when the call was refused before it reached Twilio. */
  giveBack(tenantId: string): void {
    this.#placed.get(tenantId)?.pop();
  }

  #recent(tenantId: string, now: number): number[] {
    const times = this.#placed.get(tenantId) ?? [];
    let expired = 0;
    while (expired < times.length && times[expired]! <= now - RATE_WINDOW_MS) expired++;
    if (expired > 0) times.splice(0, expired);
    // A tenant that went quiet leaves nothing behind.
    if (times.length === 0) this.#placed.delete(tenantId);
    return times;
  }
}
