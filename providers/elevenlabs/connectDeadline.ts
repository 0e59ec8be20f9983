/** One budget for the whole connect (signed URL, socket, metadata): a timeout and the caller's abort, as one signal. */
import { ProviderError } from "../types.js";

export class ConnectDeadline {
  readonly #controller = new AbortController();
  readonly #caller: AbortSignal;
  readonly #timeoutMs: number;
  readonly #timer: NodeJS.Timeout;
  #timedOut = false;
  readonly #onCallerAbort = (): void => this.#controller.abort(this.#caller.reason);

  constructor(timeoutMs: number, caller: AbortSignal) {
    this.#caller = caller;
    this.#timeoutMs = timeoutMs;
    this.#timer = setTimeout(() => {
      this.#timedOut = true;
      this.#controller.abort(new Error(`timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    if (caller.aborted) this.#onCallerAbort();
    else caller.addEventListener("abort", this.#onCallerAbort, { once: true });
  }

  /** Aborted when the time is up or the caller gave up. */
  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** Why the signal fired, as the error connect() rejects with. */
  error(): ProviderError {
    if (this.#timedOut) {
      return new ProviderError("provider_connect_timeout", `ElevenLabs did not start the conversation within ${this.#timeoutMs} ms`, false);
    }
    return new ProviderError("provider_connect_failed", "ElevenLabs connect aborted", false, { cause: this.#caller.reason });
  }

  /** Clears the timer and the caller listener; call once connect settles either way. */
  dispose(): void {
    clearTimeout(this.#timer);
    this.#caller.removeEventListener("abort", this.#onCallerAbort);
  }
}
