/**
 * xAI Grok voice (Voice Agent API) wire mapping. xAI speaks the GA Realtime event names, so server events
 * and most client events use the OpenAI SDK's types (../openaiCompatible/wire.ts); the session is a
 * hybrid shape the SDK does not describe (top-level `voice` and `turn_detection`, no `session.type`),
 * so it is typed here. Pure data translation.
 */
import type { RealtimeFunctionTool } from "openai/resources/realtime/realtime";
import { SESSION_UPDATE_EVENT_ID, functionTool } from "../openaiCompatible/wire.js";
import type { ProviderSessionConfig } from "../types.js";

export { RESPONSE_CREATE, contextItemEvent } from "../openaiCompatible/wire.js";

/** G.711 at 8 kHz needs no rate; linear PCM names one (xAI accepts 8–48 kHz). */
export type XaiAudioFormat = { type: "audio/pcmu" } | { type: "audio/pcma" } | { type: "audio/pcm"; rate?: number };

/** xAI's only turn detection: server VAD, or null for manual turns. */
export interface XaiServerVad {
  type: "server_vad";
  threshold?: number;
  silence_duration_ms?: number;
  prefix_padding_ms?: number;
}

export interface XaiSession {
  instructions?: string;
  voice?: string;
  turn_detection?: XaiServerVad | null;
  audio?: { input?: { format?: XaiAudioFormat }; output?: { format?: XaiAudioFormat } };
  tools?: RealtimeFunctionTool[];
}

export interface XaiSessionUpdateEvent {
  type: "session.update";
  session: XaiSession;
  event_id?: string;
}

/** xAI's acknowledgement of a `session.update`, echoing the effective session. */
export interface XaiSessionUpdatedEvent {
  type: "session.updated";
  event_id: string;
  session: XaiSession;
}

/** Grok's wrapping speech tags (`<whisper>…</whisper>`); every other tag is an instant one (`[laugh]`). */
const WRAPPING_TAGS: ReadonlySet<string> = new Set([
  "soft", "whisper", "loud", "emphasis", "slow", "fast", "higher-pitch", "lower-pitch",
  "build-intensity", "decrease-intensity", "laugh-speak", "sing-song", "singing",
]);

/** How a tag is written in speech: as the agent gave it if already marked up, else in Grok's syntax. */
function tagSyntax(tag: string): string {
  const name = tag.trim();
  if (name.startsWith("[") || name.startsWith("<")) return name;
  return WRAPPING_TAGS.has(name) ? `<${name}>…</${name}>` : `[${name}]`;
}

/** The agent's prompt, plus the scripted opening line and the delivery tags it may use. */
export function xaiInstructions(config: ProviderSessionConfig): string {
  const parts = [config.instructions];
  const greeting = config.greeting?.trim() ?? "";
  // Bare `response.create` is xAI's documented way to open a turn, so the scripted line rides in the prompt.
  if (config.aiSpeaksFirst && greeting !== "") {
    parts.push(`When the call connects, open by saying exactly the following, word for word: "${greeting}"`);
  }
  const tags = (config.agent.xai_audio_tags ?? []).map((t) => t.trim()).filter((t) => t !== "");
  if (tags.length > 0) {
    parts.push(
      `You may shape your delivery with these speech tags, and only these, where they help: ${tags.map(tagSyntax).join(", ")}. ` +
        "A [bracketed] tag goes where its sound belongs; an <angled>…</angled> pair encloses the words it colours.",
    );
  }
  return parts.filter((p) => p.trim() !== "").join("\n\n");
}

/** The hybrid session: μ-law both ways so Twilio audio passes through untouched. */
export function xaiSessionUpdateEvent(config: ProviderSessionConfig): XaiSessionUpdateEvent {
  return {
    type: "session.update",
    event_id: SESSION_UPDATE_EVENT_ID,
    session: {
      instructions: xaiInstructions(config),
      voice: config.voice,
      turn_detection: {
        type: "server_vad",
        threshold: config.vad.threshold,
        silence_duration_ms: config.vad.silenceDurationMs,
        prefix_padding_ms: config.vad.prefixPaddingMs,
      },
      audio: { input: { format: { type: "audio/pcmu" } }, output: { format: { type: "audio/pcmu" } } },
      tools: config.tools.map(functionTool),
    },
  };
}
