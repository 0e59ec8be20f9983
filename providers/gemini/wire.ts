/**
 * Gemini Live wire mapping: our agent settings become a `LiveConnectConfig`, our commands become
 * client messages. Pure data translation, typed with the SDK's published types.
 */
import {
  EndSensitivity,
  Modality,
  StartSensitivity,
  ThinkingLevel,
  type FunctionDeclaration,
  type FunctionResponse,
  type LiveConnectConfig,
  type LiveSendClientContentParameters,
  type ThinkingConfig,
} from "@google/genai";
import type { AudioFormat } from "../../media/audioFormat.js";
import type { GeminiSensitivity, GeminiThinkingLevel } from "../agentFields.js";
import type { ProviderSessionConfig, ToolDefinition } from "../types.js";
import type { LiveModelTraits } from "./modelTraits.js";

/** Live takes PCM16 LE at 16 kHz in and speaks PCM16 LE at 24 kHz (μ-law is not accepted). */
export const GEMINI_INPUT_FORMAT: AudioFormat = Object.freeze({ encoding: "pcm16", rate: 16_000 });
export const GEMINI_OUTPUT_FORMAT: AudioFormat = Object.freeze({ encoding: "pcm16", rate: 24_000 });
export const INPUT_AUDIO_MIME = "audio/pcm;rate=16000";

/**
 * `realtimeInput.audio` as a string: what `sendRealtimeInput` would stringify, without a per-frame
 * object (base64 never needs escaping).
 */
const AUDIO_PREFIX = '{"realtimeInput":{"audio":{"data":"';
const AUDIO_SUFFIX = `","mimeType":"${INPUT_AUDIO_MIME}"}}}`;

export function audioInputFrame(payloadB64: string): string {
  return AUDIO_PREFIX + payloadB64 + AUDIO_SUFFIX;
}

const START_SENSITIVITY: Record<GeminiSensitivity, StartSensitivity> = {
  low: StartSensitivity.START_SENSITIVITY_LOW,
  high: StartSensitivity.START_SENSITIVITY_HIGH,
};
const END_SENSITIVITY: Record<GeminiSensitivity, EndSensitivity> = {
  low: EndSensitivity.END_SENSITIVITY_LOW,
  high: EndSensitivity.END_SENSITIVITY_HIGH,
};
const THINKING_LEVEL: Record<Exclude<GeminiThinkingLevel, "none">, ThinkingLevel> = {
  minimal: ThinkingLevel.MINIMAL,
  low: ThinkingLevel.LOW,
  medium: ThinkingLevel.MEDIUM,
  high: ThinkingLevel.HIGH,
};

/** `none` means fastest: budget 0 on 2.5; 3.1 cannot switch thinking off, MINIMAL is its floor. */
export function thinkingConfig(level: GeminiThinkingLevel, traits: LiveModelTraits): ThinkingConfig | undefined {
  switch (traits.thinking) {
    case "budget":
      return level === "none" ? { thinkingBudget: 0 } : undefined;
    case "level":
      return { thinkingLevel: level === "none" ? ThinkingLevel.MINIMAL : THINKING_LEVEL[level] };
    case "none":
      return undefined;
  }
}

function functionDeclaration(tool: ToolDefinition): FunctionDeclaration {
  return { name: tool.name, description: tool.description, parametersJsonSchema: tool.parameters };
}

/** The session setup; `resumeHandle` continues an earlier connection's conversation. */
export function liveConnectConfig(
  config: ProviderSessionConfig,
  traits: LiveModelTraits,
  resumeHandle: string | null,
): LiveConnectConfig {
  const agent = config.agent;
  const setup: LiveConnectConfig = {
    responseModalities: [Modality.AUDIO],
    speechConfig: {
      voiceConfig: { prebuiltVoiceConfig: { voiceName: config.voice } },
      ...(agent.gemini_language_code !== null ? { languageCode: agent.gemini_language_code } : {}),
    },
    systemInstruction: config.instructions,
    temperature: config.temperature,
    realtimeInputConfig: {
      automaticActivityDetection: {
        startOfSpeechSensitivity: START_SENSITIVITY[agent.gemini_start_sensitivity],
        endOfSpeechSensitivity: END_SENSITIVITY[agent.gemini_end_sensitivity],
        prefixPaddingMs: config.vad.prefixPaddingMs,
        silenceDurationMs: config.vad.silenceDurationMs,
      },
    },
    inputAudioTranscription: {},
    outputAudioTranscription: {},
    sessionResumption: resumeHandle !== null ? { handle: resumeHandle } : {},
    // Without compression an audio session is cut at 15 minutes.
    contextWindowCompression: { slidingWindow: {} },
  };
  if (agent.gemini_top_k !== null) setup.topK = agent.gemini_top_k;
  if (agent.gemini_top_p !== null) setup.topP = agent.gemini_top_p;
  const thinking = thinkingConfig(agent.gemini_thinking_level, traits);
  if (thinking !== undefined) setup.thinkingConfig = thinking;
  // Sent only when on: families without the feature reject the field even when it is false.
  if (agent.gemini_affective_dialog && traits.affectiveDialog) setup.enableAffectiveDialog = true;
  if (agent.gemini_proactive_audio && traits.proactiveAudio) setup.proactivity = { proactiveAudio: true };
  if (config.tools.length > 0) setup.tools = [{ functionDeclarations: config.tools.map(functionDeclaration) }];
  return setup;
}

/** The opening turn: the scripted greeting verbatim, or whatever the model opens a call with. */
export function greetingTurn(greeting: string | null): LiveSendClientContentParameters {
  const text = greeting?.trim() ?? "";
  const ask =
    text === ""
      ? "The phone call has just connected. Greet the caller and ask how you can help."
      : `The phone call has just connected. Greet the caller by saying exactly the following, word for word, and nothing else: "${text}"`;
  return { turns: [{ role: "user", parts: [{ text: ask }] }], turnComplete: true };
}

/** Context appended to the conversation; `turnComplete: false` so the model does not take it as a turn to answer. */
export function contextTurn(text: string): LiveSendClientContentParameters {
  return { turns: [{ role: "user", parts: [{ text }] }], turnComplete: false };
}

/**
 * A user turn the model answers at once (`turnComplete: true`): the instructions for one reply, or for
 * `say` the verbatim wrapper. With no instructions, just `turnComplete`: answer from the conversation.
 */
export function replyTurn(instructions: string | null): LiveSendClientContentParameters {
  if (instructions === null) return { turnComplete: true };
  return { turns: [{ role: "user", parts: [{ text: instructions }] }], turnComplete: true };
}

/** Live wants an object as the function's response: JSON objects pass through, anything else is `{result}`. */
export function toolResponseBody(output: string): Record<string, unknown> {
  try {
    const parsed: unknown = JSON.parse(output);
    if (typeof parsed === "object" && parsed !== null && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
    return { result: parsed };
  } catch {
    return { result: output };
  }
}

export function functionResponse(id: string, name: string, output: string): FunctionResponse {
  return { id, name, response: toolResponseBody(output) };
}

/**
 * Live reports errors by closing the socket. 1007 (invalid argument) and 1008 (policy: bad key,
 * unsupported model or field) repeat on every retry, so resuming after them only loops.
 */
export function isResumableClose(code: number): boolean {
  return code !== 1007 && code !== 1008;
}

/** The close that follows a rejected API key (the server upgrades, then closes with the reason). */
export function isAuthClose(code: number, reason: string): boolean {
  return (code === 1007 || code === 1008) && /api[ _-]?key/i.test(reason);
}
