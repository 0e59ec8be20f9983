/**
 * Max silence: when neither side has made a sound for `maxSilenceMs`, the agent asks once whether the
 * caller is still there; if the caller stays silent for `graceMs` more, the call is hung up. Pure: the
 * caller passes the clock.
 */
export type SilenceAction = "none" | "ask" | "hang_up";

export class SilenceWatch {
  readonly #maxSilenceMs: number;
  readonly #graceMs: number;
  #lastSoundAt: number;
  #asked = false;

  constructor(maxSilenceMs: number, graceMs: number, nowMs: number) {
    this.#maxSilenceMs = maxSilenceMs;
    this.#graceMs = graceMs;
    this.#lastSoundAt = nowMs;
  }

  /** The caller spoke: the question, if asked, is answered. */
  callerSound(nowMs: number): void {
    this.#lastSoundAt = nowMs;
    this.#asked = false;
  }

  /** The agent is audible or busy (a tool running): the silence isn't the caller's. */
  agentBusy(nowMs: number): void {
    this.#lastSoundAt = nowMs;
  }

  /** What to do now; "ask" and "hang_up" are each returned once per silence. */
  check(nowMs: number): SilenceAction {
    const quiet = nowMs - this.#lastSoundAt;
    if (!this.#asked) {
      if (quiet < this.#maxSilenceMs) return "none";
      this.#asked = true;
      this.#lastSoundAt = nowMs;
      return "ask";
    }
    if (quiet < this.#graceMs) return "none";
    this.#lastSoundAt = Number.POSITIVE_INFINITY;
    return "hang_up";
  }
}
