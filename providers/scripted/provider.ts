/** The `scripted` provider: offline and deterministic, for demos and tests. Speaks a loaded script. */
import {
  ProviderError,
  type ProviderSessionConfig,
  type RealtimeProvider,
  type RealtimeSession,
  type RealtimeSessionHandlers,
} from "../types.js";
import type { Script } from "./script.js";
import { ScriptedSession, TOOL_RESULT_TIMEOUT_MS, type ScriptedSessionControls } from "./session.js";

export interface ScriptedProviderOptions {
  readonly script: Script;
  /** How long a scripted tool call waits for its result before the line is spoken anyway. */
  readonly toolResultTimeoutMs?: number;
}

export type ScriptedSessionListener = (session: ScriptedSessionControls) => void;

export class ScriptedProvider implements RealtimeProvider {
  readonly name = "scripted";
  readonly #script: Script;
  readonly #toolResultTimeoutMs: number;
  readonly #live: ScriptedSession[] = [];
  readonly #listeners = new Set<ScriptedSessionListener>();

  constructor(options: ScriptedProviderOptions) {
    this.#script = options.script;
    this.#toolResultTimeoutMs = options.toolResultTimeoutMs ?? TOOL_RESULT_TIMEOUT_MS;
  }

  /** Live sessions, newest last: the stand-in for the remote end a network provider has. */
  get sessions(): readonly ScriptedSessionControls[] {
    return [...this.#live];
  }

  /** Hears of every session as it opens (a test keeps them to read their input after they close). */
  onSession(listener: ScriptedSessionListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  // The agent's own settings don't matter: the script decides every word, including the greeting.
  async connect(
    _config: ProviderSessionConfig,
    handlers: RealtimeSessionHandlers,
    signal: AbortSignal,
  ): Promise<RealtimeSession> {
    if (signal.aborted) {
      throw new ProviderError("provider_connect_failed", "scripted voice connect aborted", false, { cause: signal.reason });
    }
    const session = new ScriptedSession(this.#script, handlers, {
      toolResultTimeoutMs: this.#toolResultTimeoutMs,
      onEnded: (ended) => this.#forget(ended),
    });
    this.#live.push(session);
    for (const listener of this.#listeners) listener(session);
    return session;
  }

  #forget(session: ScriptedSession): void {
    const i = this.#live.indexOf(session);
    if (i >= 0) this.#live.splice(i, 1);
  }
}
