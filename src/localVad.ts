import { createVad, loadVadEngines, type AgentVadFields, type VadEngines, type VadKind } from "../media/vad/index.js";
import type { CallerVadFactory } from "../sessions/index.js";
import type { LocalVadSetting } from "./config.js";
import type { Logger } from "./log.js";

/**
 * How often queued Silero windows are run. Windows are 32 ms; a 10 ms tick keeps the wait for a batch
 * under a third of a window (barge-in latency) while still gathering many calls into one inference.
 */
export const VAD_TICK_MS = 10;
/** A failing model is logged at most this often, not every tick. */
const FLUSH_ERROR_LOG_MS = 10_000;

/**
 * The process's local VAD: engines loaded once, one stream per call, and the shared flush tick for
 * Silero, which runs only while some call has a stream open.
 */
export class LocalVad {
  readonly kind: VadKind;
  readonly #engines: VadEngines;
  readonly #log: Logger;
  #open = 0;
  #tick: NodeJS.Timeout | null = null;
  #lastFlushErrorAt = Number.NEGATIVE_INFINITY;

  readonly #minSpeechMs: number | undefined;

  private constructor(kind: VadKind, engines: VadEngines, minSpeechMs: number | undefined, log: Logger) {
    this.kind = kind;
    this.#minSpeechMs = minSpeechMs;
    this.#engines = engines;
    this.#log = log;
  }

  /** Loads the chosen engine; Silero falls back to WebRTC VAD if its model can't be loaded. Null for "off". */
  static async load(setting: LocalVadSetting, minSpeechMs: number | undefined, log: Logger): Promise<LocalVad | null> {
    if (setting === "off") return null;
    if (setting === "webrtc") return new LocalVad("webrtc", await loadVadEngines({ silero: false }), minSpeechMs, log);
    try {
      return new LocalVad("silero", await loadVadEngines({ webrtc: false }), minSpeechMs, log);
    } catch (err) {
      log.warn({ err }, "Silero VAD could not load; using WebRTC VAD for barge-in");
      return new LocalVad("webrtc", await loadVadEngines({ silero: false }), minSpeechMs, log);
    }
  }

  /** A stream factory for one call, tuned by the agent's `vad_*` fields. */
  factory(agent: AgentVadFields): CallerVadFactory {
    return (handlers) => {
      const stream = createVad(this.kind, {
        engines: this.#engines,
        callbacks: handlers,
        agent,
        ...(this.#minSpeechMs !== undefined ? { minSpeechMs: this.#minSpeechMs } : {}),
      });
      this.#opened();
      let closed = false;
      return {
        push: (pcm, frameEndMs) => stream.push(pcm, frameEndMs),
        close: () => {
          if (closed) return;
          closed = true;
          stream.close();
          this.#closed();
        },
      };
    };
  }

  #opened(): void {
    this.#open++;
    const silero = this.#engines.silero;
    if (this.#tick !== null || silero === undefined) return;
    this.#tick = setInterval(() => {
      silero.flush().catch((err: unknown) => {
        const now = performance.now();
        if (now - this.#lastFlushErrorAt < FLUSH_ERROR_LOG_MS) return;
        this.#lastFlushErrorAt = now;
        this.#log.error({ err }, "Silero VAD inference failed; barge-in falls back to the provider's own VAD");
      });
    }, VAD_TICK_MS);
  }

  #closed(): void {
    this.#open--;
    if (this.#open === 0 && this.#tick !== null) {
      clearInterval(this.#tick);
      this.#tick = null;
    }
  }
}
