/**
 * What we have queued to Twilio and how much of it the caller has heard: the single source of truth for
 * truncation after barge-in. Pure: the caller passes the clock (`nowMs`, from performance.now()).
 *
 * Positions are milliseconds of audio within one playback generation. Every chunk is followed by a mark
 * named `<generation>:<endMs>`; Twilio echoes it once the audio before it has played. A `clear` starts a
 * new generation, because Twilio echoes every pending mark when it clears and those echoes prove nothing.
 * Between echoes playback runs at real time, so the played position is interpolated from the last echo.
 */
export class Playout {
  #generation = 0;
  #sentMs = 0;
  #confirmedMs = 0;
  #confirmedAt = Number.NEGATIVE_INFINITY;
  // Pending marks as parallel arrays (end position, time sent): no object per chunk.
  #pendingEnd: number[] = [];
  #pendingSentAt: number[] = [];
  #pendingHead = 0;
  // Reply items in this generation: id and [start, end) positions.
  #itemIds: string[] = [];
  #itemStart: number[] = [];
  #itemEnd: number[] = [];
  #staleEchoes = 0;

  get generation(): number {
    return this.#generation;
  }

  /** Ms of audio queued to Twilio in this generation. */
  get sentMs(): number {
    return this.#sentMs;
  }

  /** Ms confirmed played by mark echoes in this generation. */
  get confirmedMs(): number {
    return this.#confirmedMs;
  }

  /** Echoes of marks from cleared generations (expected after each clear). */
  get staleEchoes(): number {
    return this.#staleEchoes;
  }

  /**
   * Record a chunk of `ms` audio of reply `itemId` being queued at `nowMs`; returns the mark name to send
   * right after it.
   */
  queue(itemId: string, ms: number, nowMs: number): string {
    const last = this.#itemIds.length - 1;
    if (last < 0 || this.#itemIds[last] !== itemId) {
      this.#itemIds.push(itemId);
      this.#itemStart.push(this.#sentMs);
      this.#itemEnd.push(this.#sentMs);
    }
    this.#sentMs += ms;
    this.#itemEnd[this.#itemEnd.length - 1] = this.#sentMs;
    this.#pendingEnd.push(this.#sentMs);
    this.#pendingSentAt.push(nowMs);
    return this.#generation + ":" + this.#sentMs;
  }

  /** A mark came back. Returns false when it belongs to a cleared generation or isn't ours. */
  onMarkEcho(name: string, nowMs: number): boolean {
    const colon = name.indexOf(":");
    if (colon <= 0 || Number(name.slice(0, colon)) !== this.#generation) {
      this.#staleEchoes++;
      return false;
    }
    const endMs = Number(name.slice(colon + 1));
    if (!(endMs > this.#confirmedMs)) return true;
    this.#confirmedMs = endMs;
    this.#confirmedAt = nowMs;
    while (this.#pendingHead < this.#pendingEnd.length && this.#pendingEnd[this.#pendingHead]! <= endMs) {
      this.#pendingHead++;
    }
    if (this.#pendingHead === this.#pendingEnd.length) this.#resetPending();
    return true;
  }

  /** Best estimate of how much of this generation's audio has played by `nowMs`. */
  playedMs(nowMs: number): number {
    if (this.#pendingHead >= this.#pendingEnd.length) return this.#confirmedMs;
    // The first unconfirmed chunk began playing when both the previous audio had played and it had arrived.
    const began = Math.max(this.#confirmedAt, this.#pendingSentAt[this.#pendingHead]!);
    const estimate = this.#confirmedMs + Math.max(0, nowMs - began);
    return Math.min(estimate, this.#pendingEnd[this.#pendingHead]!);
  }

  /** True while queued audio is still playing to the caller. */
  isPlaying(nowMs: number): boolean {
    return this.playedMs(nowMs) < this.#sentMs;
  }

  /** The reply being heard at `nowMs` and how much of it has played, or null when nothing was queued. */
  heard(nowMs: number): { itemId: string; playedMs: number } | null {
    const n = this.#itemIds.length;
    if (n === 0) return null;
    const played = this.playedMs(nowMs);
    let i = n - 1;
    while (i > 0 && this.#itemStart[i]! >= played) i--;
    const start = this.#itemStart[i]!;
    const end = this.#itemEnd[i]!;
    return { itemId: this.#itemIds[i]!, playedMs: Math.min(Math.max(played - start, 0), end - start) };
  }

  /** Twilio was told to clear: everything queued is dropped and a new generation begins. */
  clear(): void {
    this.#generation++;
    this.#sentMs = 0;
    this.#confirmedMs = 0;
    this.#confirmedAt = Number.NEGATIVE_INFINITY;
    this.#resetPending();
    this.#itemIds.length = 0;
    this.#itemStart.length = 0;
    this.#itemEnd.length = 0;
  }

  #resetPending(): void {
    this.#pendingEnd.length = 0;
    this.#pendingSentAt.length = 0;
    this.#pendingHead = 0;
  }
}
