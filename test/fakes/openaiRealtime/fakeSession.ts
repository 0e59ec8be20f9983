/**
 * The fake server's session configuration, per dialect: OpenAI's GA session (`session.type: "realtime"`,
 * turn detection under `audio.input`) or xAI's hybrid one (top-level `voice` and `turn_detection`).
 * Each says how the conversation opens, applies `session.update`, and tells the VAD what to do.
 */
import type {
  RealtimeServerEvent,
  RealtimeSessionCreateRequest,
  SessionUpdateEvent,
} from "openai/resources/realtime/realtime";
import type { XaiSession, XaiSessionUpdateEvent, XaiSessionUpdatedEvent } from "../../../providers/xai/wire.js";
import { OPENAI_VOICES, XAI_VOICES } from "../../../providers/agentFields.js";

/** A `session.update` merges into the session; audio input and output merge one level deeper, as the API does. */
function mergeSession<S extends { audio?: { input?: object; output?: object } | null }>(current: S, update: Partial<S>): S {
  return {
    ...current,
    ...update,
    audio: {
      input: { ...current.audio?.input, ...update.audio?.input },
      output: { ...current.audio?.output, ...update.audio?.output },
    },
  };
}

/** Both services reject a voice they don't have, as the API does, with the choices in the message. */
function unknownVoice(voice: string | undefined, voices: readonly string[]): string | null {
  if (voice === undefined || voices.includes(voice)) return null;
  return `Invalid value: '${voice}'. Supported values are: ${voices.map((v) => `'${v}'`).join(", ")}.`;
}

export type FakeDialect = "openai" | "xai";

/** Every server event the fake sends: the SDK's GA events, plus xAI's hybrid session echo. */
export type FakeServerEvent = RealtimeServerEvent | XaiSessionUpdatedEvent;

export interface FakeTurnDetection {
  /** Whether the server VAD listens at all (turn detection not null). */
  readonly enabled: boolean;
  readonly createResponse: boolean;
  readonly interruptResponse: boolean;
}

/** The outcome of a `session.update`: the ack to send, or the error message the API would give. */
export type FakeSessionUpdateResult = { readonly ack: FakeServerEvent } | { readonly error: string };

export interface FakeSessionConfig {
  /** The first server event on a new connection. */
  opening(eventId: string): FakeServerEvent;
  update(event: SessionUpdateEvent | XaiSessionUpdateEvent, eventId: string): FakeSessionUpdateResult;
  turnDetection(): FakeTurnDetection;
}

const OFF: FakeTurnDetection = Object.freeze({ enabled: false, createResponse: false, interruptResponse: false });

function isXaiUpdate(event: SessionUpdateEvent | XaiSessionUpdateEvent): event is XaiSessionUpdateEvent {
  return !("type" in event.session);
}

/** OpenAI GA: the API's defaults before any `session.update` (PCM16 24 kHz, server VAD on). */
class GaFakeSession implements FakeSessionConfig {
  #session: RealtimeSessionCreateRequest;

  constructor(model: string) {
    this.#session = {
      type: "realtime", model, instructions: "", output_modalities: ["audio"], tools: [],
      audio: {
        input: {
          format: { type: "audio/pcm", rate: 24000 },
          turn_detection: { type: "server_vad", threshold: 0.5, prefix_padding_ms: 300, silence_duration_ms: 500, create_response: true, interrupt_response: true },
        },
        output: { format: { type: "audio/pcm", rate: 24000 }, voice: "alloy" },
      },
    };
  }

  opening(eventId: string): FakeServerEvent {
    return { type: "session.created", event_id: eventId, session: this.#session };
  }

  update(event: SessionUpdateEvent | XaiSessionUpdateEvent, eventId: string): FakeSessionUpdateResult {
    if (isXaiUpdate(event) || event.session.type !== "realtime") {
      return { error: "Missing required parameter: 'session.type'. The fake server only supports realtime sessions." };
    }
    const badVoice = unknownVoice(event.session.audio?.output?.voice as string | undefined, OPENAI_VOICES);
    if (badVoice !== null) return { error: badVoice };
    this.#session = mergeSession(this.#session, event.session);
    return { ack: { type: "session.updated", event_id: eventId, session: this.#session } };
  }

  /** Semantic VAD is still speech detection: the energy VAD stands in for either type. */
  turnDetection(): FakeTurnDetection {
    const td = this.#session.audio?.input?.turn_detection;
    if (td === null || td === undefined) return OFF;
    return { enabled: true, createResponse: td.create_response !== false, interruptResponse: td.interrupt_response !== false };
  }
}

/** xAI: conversation first, a hybrid session, server VAD that answers and interrupts on its own. */
class XaiFakeSession implements FakeSessionConfig {
  #session: XaiSession = {
    instructions: "", voice: "ara", tools: [],
    turn_detection: { type: "server_vad", threshold: 0.5, silence_duration_ms: 500, prefix_padding_ms: 300 },
    audio: { input: { format: { type: "audio/pcm", rate: 24000 } }, output: { format: { type: "audio/pcm", rate: 24000 } } },
  };
  readonly #conversationId: string;

  constructor(conversationId: string) {
    this.#conversationId = conversationId;
  }

  opening(eventId: string): FakeServerEvent {
    return { type: "conversation.created", event_id: eventId, conversation: { id: this.#conversationId, object: "realtime.conversation" } };
  }

  update(event: SessionUpdateEvent | XaiSessionUpdateEvent, eventId: string): FakeSessionUpdateResult {
    if (!isXaiUpdate(event)) return { error: "Unknown field 'session.type'." };
    const badVoice = unknownVoice(event.session.voice, XAI_VOICES);
    if (badVoice !== null) return { error: badVoice };
    this.#session = mergeSession(this.#session, event.session);
    return { ack: { type: "session.updated", event_id: eventId, session: this.#session } };
  }

  turnDetection(): FakeTurnDetection {
    if (this.#session.turn_detection === null || this.#session.turn_detection === undefined) return OFF;
    return { enabled: true, createResponse: true, interruptResponse: true };
  }
}

export function fakeSessionConfig(dialect: FakeDialect, model: string, conversationId: string): FakeSessionConfig {
  switch (dialect) {
    case "openai":
      return new GaFakeSession(model);
    case "xai":
      return new XaiFakeSession(conversationId);
  }
}
