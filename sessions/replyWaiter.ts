/** A line to be played before hanging up or transferring gets this long (plus its own length) before we go on without it. */
export const REPLY_WAIT_MS = 8_000;
/** Spoken lines run at roughly this many ms per character; used only to size the wait. */
const MS_PER_CHARACTER = 90;

/** How long to wait for `text`, said word for word, to play before going on without it. */
export function spokenWaitMs(text: string): number {
  return REPLY_WAIT_MS + text.length * MS_PER_CHARACTER;
}

/**
 * Runs one thing once a reply has played to its end on the caller's phone: the goodbye before a hang-up,
 * the hand-off line before a transfer, the voicemail message before leaving. "Played" means the provider
 * said the reply is done and Twilio has echoed every mark sent so far. A newer wait replaces an older one.
 */
export interface ReplyWaiterDeps {
  /** False once the call has ended: nothing runs after that. */
  readonly live: () => boolean;
  /** True once Twilio has echoed every mark we sent. */
  readonly playedOut: () => boolean;
  /** The reply never finished within the wait; `then` runs anyway. */
  readonly onGaveUp: (maxWaitMs: number) => void;
}

interface Waiting {
  readonly then: () => void;
  /** True after `say`: wait for the new reply (the first one whose audio arrives next), not the current one. */
  readonly newReply: boolean;
  itemId: string | null;
  replyDone: boolean;
  readonly timer: NodeJS.Timeout;
}

export class ReplyWaiter {
  readonly #deps: ReplyWaiterDeps;
  #waiting: Waiting | null = null;

  constructor(deps: ReplyWaiterDeps) {
    this.#deps = deps;
  }

  /**
   * Run `then` once a reply has played: the current one (`newReply` false, e.g. the goodbye said with
   * end_call) or the next one (after `say`). `replyDone`: nothing more is coming, only the marks.
   * Gives up waiting after `maxWaitMs`.
   */
  wait(then: () => void, newReply: boolean, maxWaitMs: number, replyDone = false): void {
    this.cancel();
    const timer = setTimeout(() => {
      this.#deps.onGaveUp(maxWaitMs);
      this.#run();
    }, maxWaitMs);
    this.#waiting = { then, newReply, itemId: null, replyDone, timer };
    if (replyDone) this.#checkPlayedOut();
  }

  /** Agent audio for `itemId` is going to Twilio. Hot path: no allocation. */
  onAgentAudio(itemId: string): void {
    const waiting = this.#waiting;
    if (waiting !== null && waiting.newReply && waiting.itemId === null) waiting.itemId = itemId;
  }

  /** The provider finished a reply. */
  onResponseDone(itemId: string | null): void {
    const waiting = this.#waiting;
    if (waiting === null || waiting.replyDone) return;
    // After say(), an older reply we cut may still report done: only the new one counts.
    if (waiting.newReply && (itemId === null || itemId !== waiting.itemId)) return;
    waiting.replyDone = true;
    this.#checkPlayedOut();
  }

  /** Twilio echoed a mark: the reply may have played out. */
  onMarkEcho(): void {
    if (this.#waiting?.replyDone === true) this.#checkPlayedOut();
  }

  /** Forget the wait without running it (the call ended). */
  cancel(): void {
    if (this.#waiting !== null) clearTimeout(this.#waiting.timer);
    this.#waiting = null;
  }

  #checkPlayedOut(): void {
    if (this.#deps.playedOut()) this.#run();
  }

  #run(): void {
    const waiting = this.#waiting;
    if (waiting === null) return;
    this.cancel();
    if (this.#deps.live()) waiting.then();
  }
}
