/** The tool calls a scripted session made and the results our server sent back, with waiters for them. */

/** How long `waitForToolResult` waits by default: the server answers a tool call within milliseconds. */
export const TOOL_RESULT_WAIT_MS = 5_000;

interface Waiter {
  readonly resolve: (output: string) => void;
  readonly reject: (error: Error) => void;
  readonly timer: NodeJS.Timeout;
}

export class ToolResults {
  /** Every call id issued: `null` until its result arrives. */
  readonly #outputs = new Map<string, string | null>();
  readonly #waiters = new Map<string, Waiter[]>();
  #closedReason: string | null = null;

  issued(callId: string): void {
    this.#outputs.set(callId, null);
  }

  /** Records the result; false when no such call was issued (or it was already answered). */
  deliver(callId: string, output: string): boolean {
    if (this.#outputs.get(callId) !== null) return false;
    this.#outputs.set(callId, output);
    for (const waiter of this.#waiters.get(callId) ?? []) {
      clearTimeout(waiter.timer);
      waiter.resolve(output);
    }
    this.#waiters.delete(callId);
    return true;
  }

  wait(callId: string, timeoutMs: number): Promise<string> {
    const output = this.#outputs.get(callId);
    if (output === undefined) return Promise.reject(new Error(`no tool call ${callId} was made on this scripted session`));
    if (output !== null) return Promise.resolve(output);
    if (this.#closedReason !== null) return Promise.reject(this.#closedError(callId));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#drop(callId, waiter);
        reject(new Error(`no result for tool call ${callId} within ${timeoutMs} ms`));
      }, timeoutMs);
      const waiter: Waiter = { resolve, reject, timer };
      this.#waiters.set(callId, [...(this.#waiters.get(callId) ?? []), waiter]);
    });
  }

  /** The session ended: pending waits fail now, so no timer outlives it. */
  close(reason: string): void {
    this.#closedReason = reason;
    for (const [callId, waiters] of this.#waiters) {
      for (const waiter of waiters) {
        clearTimeout(waiter.timer);
        waiter.reject(this.#closedError(callId));
      }
    }
    this.#waiters.clear();
  }

  #closedError(callId: string): Error {
    return new Error(`scripted session closed (${this.#closedReason ?? "closed"}) before tool call ${callId} got a result`);
  }

  #drop(callId: string, waiter: Waiter): void {
    const rest = (this.#waiters.get(callId) ?? []).filter((w) => w !== waiter);
    if (rest.length === 0) this.#waiters.delete(callId);
    else this.#waiters.set(callId, rest);
  }
}
