/** Shared helpers for the provider adapter tests: record what a session tells the call, wait, and build caller audio. */
import { performance } from "node:perf_hooks";
import type { ProviderCloseInfo, ProviderError, RealtimeSessionHandlers, TranscriptRole } from "../../providers/types.js";

/** One thing a session told the call. */
export type Seen =
  | { kind: "audio"; payload: string; itemId: string }
  | { kind: "speechStarted" }
  | { kind: "transcript"; role: TranscriptRole; text: string; final: boolean }
  | { kind: "toolCall"; callId: string; name: string; args: string }
  | { kind: "responseDone"; itemId: string | null; status: string }
  | { kind: "error"; error: ProviderError }
  | { kind: "resumed"; reason: string }
  | { kind: "closed"; info: ProviderCloseInfo };

/** Extra callbacks, each run right after the matching event has been recorded. */
export type RecordingHooks = Partial<RealtimeSessionHandlers>;

/** Handlers that write down everything the session tells the call, in order. */
export function recordingHandlers(hooks: RecordingHooks = {}): { handlers: RealtimeSessionHandlers; seen: Seen[] } {
  const seen: Seen[] = [];
  const handlers: RealtimeSessionHandlers = {
    onAudio: (payload, itemId) => {
      seen.push({ kind: "audio", payload, itemId });
      hooks.onAudio?.(payload, itemId);
    },
    onSpeechStarted: () => {
      seen.push({ kind: "speechStarted" });
      hooks.onSpeechStarted?.();
    },
    onTranscript: (role, text, final) => {
      seen.push({ kind: "transcript", role, text, final });
      hooks.onTranscript?.(role, text, final);
    },
    onToolCall: (callId, name, args) => {
      seen.push({ kind: "toolCall", callId, name, args });
      hooks.onToolCall?.(callId, name, args);
    },
    onResponseDone: (itemId, status) => {
      seen.push({ kind: "responseDone", itemId, status });
      hooks.onResponseDone?.(itemId, status);
    },
    onError: (error) => {
      seen.push({ kind: "error", error });
      hooks.onError?.(error);
    },
    onResumed: (reason) => {
      seen.push({ kind: "resumed", reason });
      hooks.onResumed?.(reason);
    },
    onClosed: (info) => {
      seen.push({ kind: "closed", info });
      hooks.onClosed?.(info);
    },
  };
  return { handlers, seen };
}

export function only<K extends Seen["kind"]>(seen: readonly Seen[], kind: K): Array<Extract<Seen, { kind: K }>> {
  return seen.filter((s): s is Extract<Seen, { kind: K }> => s.kind === kind);
}

/** The agent audio recorded in `seen`, decoded: that of `itemId` only, or of every item when `itemId` is omitted. */
export function decodedAudio(seen: readonly Seen[], itemId?: string): Buffer {
  return Buffer.concat(
    only(seen, "audio")
      .filter((a) => itemId === undefined || a.itemId === itemId)
      .map((a) => Buffer.from(a.payload, "base64")),
  );
}

export async function until(condition: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Pseudo-random quiet μ-law (|sample| ≤ 120), so it never trips a fake's VAD. The same `seed` gives the same bytes. */
export function quietMulaw(bytes: number, seed = 12345): Buffer {
  const out = Buffer.alloc(bytes);
  for (let i = 0; i < bytes; i++) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    out[i] = (seed & 0x80 ? 0xf0 : 0x70) | ((seed >>> 8) & 0x0f);
  }
  return out;
}

/** μ-law audio cut into 20 ms (160-byte) base64 frames, as Twilio sends it. */
export function frames(audio: Buffer): string[] {
  const out: string[] = [];
  for (let i = 0; i < audio.length; i += 160) out.push(audio.subarray(i, i + 160).toString("base64"));
  return out;
}
