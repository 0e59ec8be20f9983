import type { CallSession } from "./callSession.js";

/** The live calls this process holds, by call-log id. A session leaves when it has ended. */
export class SessionRegistry {
  readonly #byCallId = new Map<string, CallSession>();
  #closed = false;

  add(session: CallSession): void {
    this.#byCallId.set(session.callId, session);
    // A call that slipped in while shutting down is ended (and logged) like the rest.
    if (this.#closed) void session.end("shutdown");
    void session.ended.then(() => {
      if (this.#byCallId.get(session.callId) === session) this.#byCallId.delete(session.callId);
    });
  }

  get(callId: string): CallSession | undefined {
    return this.#byCallId.get(callId);
  }

  get size(): number {
    return this.#byCallId.size;
  }

  /** End every live call (server shutdown) and wait for their logs, including any added meanwhile. */
  async endAll(): Promise<void> {
    this.#closed = true;
    while (this.#byCallId.size > 0) {
      await Promise.all([...this.#byCallId.values()].map((s) => s.end("shutdown")));
    }
  }
}
