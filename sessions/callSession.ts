import { MULAW_8K, mulawBase64Ms } from "../media/audioFormat.js";
import { DROP_FRAME, InboundTimeline, SILENCE_FRAME_B64 } from "../media/inboundTimeline.js";
import { Playout } from "../media/playout.js";
import { createTranscoder, type Transcoder } from "../media/transcoder.js";
import { TwilioFrameWriter, emptyFaultCounts, type FrameFault } from "../media/twilioStream.js";
import type { TwilioInboundMessage } from "../media/twilioWire.js";
import type {
  ProviderCloseInfo,
  ProviderError,
  ProviderSessionConfig,
  RealtimeProvider,
  RealtimeSession,
  RealtimeSessionHandlers,
  TranscriptRole,
} from "../providers/types.js";
import { END_REASONS, type EndReason } from "./endReasons.js";
import { CallerAudioTap } from "./callerAudio.js";
import type { CallerVadFactory, CallLogPort, Clock, SessionLogger, TranscriptEntry, TwilioSink } from "./ports.js";
import { finishWithRetry } from "./finishLog.js";
import { Keypad, isKeypadDigit, keypadContextText } from "./keypad.js";

/** Twilio must open the stream within this long of the voice webhook, or the call is written off. */
export const MEDIA_STREAM_TIMEOUT_MS = 30_000;
/** Twilio sends a frame every 20 ms, silence included; this long without one means the stream is dead. */
export const MEDIA_STALL_TIMEOUT_MS = 15_000;
/** How often the stall watchdog looks. */
const STALL_CHECK_MS = 5_000;
/** Caller audio kept while the provider is still connecting: 5 s of 20 ms frames, then oldest dropped. */
const EARLY_AUDIO_MAX_FRAMES = 250;
/** Log the first few bad frames of a call in full, then only every Nth, so a flood can't flood the log. */
const FAULT_LOG_FIRST = 5;
const FAULT_LOG_EVERY = 100;

export interface CallSessionOptions {
  readonly callId: string;
  readonly callSid: string;
  /** When the call log says the call started (the voice webhook), wall and monotonic. */
  readonly startedAt: Date;
  readonly startedAtMono: number;
  readonly provider: RealtimeProvider;
  readonly providerConfig: ProviderSessionConfig;
  readonly callLogs: CallLogPort;
  readonly clock: Clock;
  readonly log: SessionLogger;
  readonly mediaTimeoutMs?: number;
  /** Local VAD for the caller: a barge-in trigger that doesn't wait for the provider. */
  readonly vad?: CallerVadFactory;
}

/** What noticed the caller talking over the agent. */
export type BargeInTrigger = "local_vad" | "provider_vad";

type Phase = "connecting" | "active" | "ended";

/**
 * One phone call: bridges one Twilio media stream to one provider session. Created at the voice webhook so
 * the provider connects while Twilio is still opening the stream; ends exactly once and always finishes
 * the call log.
 */
export class CallSession {
  readonly callId: string;
  readonly callSid: string;
  readonly #opts: CallSessionOptions;
  readonly #clock: Clock;
  readonly #log: SessionLogger;
  readonly #playout = new Playout();
  readonly #timeline = new InboundTimeline();
  readonly #transcript: TranscriptEntry[] = [];
  readonly #faults = emptyFaultCounts();
  readonly #earlyAudio: string[] = [];
  readonly #interruptedItems = new Set<string>();
  readonly #providerErrors: string[] = [];
  readonly #abort = new AbortController();
  readonly #handlers: RealtimeSessionHandlers;
  readonly #tap: CallerAudioTap | null;
  readonly #bargeInsBy: Record<BargeInTrigger, number> = { local_vad: 0, provider_vad: 0 };
  readonly #keypad = new Keypad((digits, atMs) => this.#onKeypadEntry(digits, atMs));
  readonly #ended: Promise<void>;
  #resolveEnded!: () => void;
  #phase: Phase = "connecting";
  #provider: RealtimeSession | null = null;
  // Chosen once at connect: identity for μ-law providers, decode→resample→encode for PCM ones.
  #toProvider: Transcoder | null = null;
  #toTwilio: Transcoder | null = null;
  #sink: TwilioSink | null = null;
  #writer: TwilioFrameWriter | null = null;
  #streamSid: string | null = null;
  #streamStartedAt: number | null = null;
  #firstAgentAudioAt: number | null = null;
  #lastItemId: string | null = null;
  // When the current turns began, so transcript lines are stamped with the turn's start, not its end.
  #agentTurnAt: number | null = null;
  // One start time per caller utterance, taken in order by the caller's final transcripts.
  readonly #callerTurns: number[] = [];
  /** For providers that take turns from the local VAD: when the caller's latest turn began. */
  #localTurnAt: number | null = null;
  #lastMediaAt = 0;
  #stallTimer: NodeJS.Timeout | null = null;
  #mediaTimer: NodeJS.Timeout | null = null;
  #framesIn = 0;
  #earlyAudioDropped = 0;
  #lateAudioDropped = 0;
  #bargeIns = 0;
  #providerResumptions = 0;
  #endReason: EndReason | null = null;
  /** Twilio's answering-machine verdict on a call we placed, once it arrives. */
  #answeredBy: { answered_by: string; detection_ms: number | null } | null = null;

  constructor(opts: CallSessionOptions) {
    this.#opts = opts;
    this.callId = opts.callId;
    this.callSid = opts.callSid;
    this.#clock = opts.clock;
    this.#log = opts.log;
    this.#ended = new Promise((resolve) => (this.#resolveEnded = resolve));
    this.#handlers = {
      onAudio: (b64, itemId) => this.#onAgentAudio(b64, itemId),
      onSpeechStarted: () => this.#onCallerSpeech("provider_vad"),
      onTranscript: (role, text, final) => this.#onTranscript(role, text, final),
      onToolCall: (id, name) => this.#onToolCall(id, name),
      onResponseDone: () => {},
      onError: (err) => this.#onProviderError(err),
      onResumed: (reason) => {
        this.#providerResumptions++;
        this.#log.info({ reason }, "provider connection resumed");
      },
      onClosed: (info) => this.#onProviderClosed(info),
    };
    this.#tap = opts.vad
      ? new CallerAudioTap(opts.vad, {
          onSpeechStart: () => this.#onCallerSpeech("local_vad"),
          onSpeechEnd: () => this.#onCallerSpeechEnded(),
        })
      : null;
  }

  get phase(): Phase {
    return this.#phase;
  }

  /** Resolves once the call has ended and its log is written (or given up on). */
  get ended(): Promise<void> {
    return this.#ended;
  }

  get endReason(): EndReason | null {
    return this.#endReason;
  }

  /** Start connecting the provider now; Twilio's stream attaches later. */
  start(): void {
    const timeoutMs = this.#opts.mediaTimeoutMs ?? MEDIA_STREAM_TIMEOUT_MS;
    this.#mediaTimer = setTimeout(() => void this.end("media_timeout"), timeoutMs);
    this.#opts.provider.connect(this.#opts.providerConfig, this.#handlers, this.#abort.signal).then(
      (session) => this.#onProviderReady(session),
      (err: unknown) => {
        if (this.#phase === "ended") return;
        this.#log.error({ err }, "provider connect failed");
        void this.end("provider_connect_failed", err instanceof Error ? err.message : String(err));
      },
    );
  }

  /** Twilio's `start` arrived on a verified media socket. */
  attachStream(sink: TwilioSink, streamSid: string): void {
    if (this.#phase === "ended") {
      sink.close(1000, "call already ended");
      return;
    }
    // One stream per call: a replayed start (the token lives minutes) must not take the agent's audio.
    if (this.#sink !== null) {
      this.#log.warn({ streamSid }, "refused a second media stream for a call that has one");
      sink.close(1008, "call already has a stream");
      return;
    }
    if (this.#mediaTimer) clearTimeout(this.#mediaTimer);
    this.#mediaTimer = null;
    this.#sink = sink;
    this.#streamSid = streamSid;
    this.#writer = new TwilioFrameWriter(streamSid);
    this.#streamStartedAt = this.#clock.now();
    this.#lastMediaAt = this.#streamStartedAt;
    this.#stallTimer = setInterval(() => this.#checkStall(), STALL_CHECK_MS);
    this.#opts.callLogs.markInProgress(this.callId, { streamSid }).catch((err: unknown) => {
      this.#log.warn({ err }, "could not mark call in progress");
    });
    this.#maybeBegin();
  }

  /** One parsed Twilio message. The media case is the hot path: no awaits, no allocation, no logging. */
  onTwilioMessage(msg: TwilioInboundMessage): void {
    switch (msg.event) {
      case "media": {
        this.#framesIn++;
        this.#lastMediaAt = this.#clock.now();
        const payload = msg.media.payload;
        const fill = this.#timeline.onFrame(+msg.media.timestamp, mulawBase64Ms(payload));
        if (fill === DROP_FRAME) return;
        for (let i = 0; i < fill; i++) this.#callerAudio(SILENCE_FRAME_B64);
        this.#callerAudio(payload);
        return;
      }
      case "mark":
        this.#playout.onMarkEcho(msg.mark.name, this.#clock.now());
        return;
      case "stop":
        void this.end("stream_stopped");
        return;
      case "dtmf":
        this.#onKeypadPress(msg.dtmf.digit);
        return;
      case "connected":
      case "start":
        return;
    }
  }

  /** A frame we could not use: counted and (sparingly) logged; never ends the call. */
  onFrameFault(fault: FrameFault, detail: string): void {
    const n = ++this.#faults[fault];
    if (n <= FAULT_LOG_FIRST || n % FAULT_LOG_EVERY === 0) {
      this.#log.warn({ fault, detail, count: n }, "skipped bad media frame");
    }
  }

  /** The media socket closed. */
  onStreamClosed(code: number, reason: string): void {
    if (this.#phase !== "ended") void this.end("twilio_socket_closed", `code ${code}${reason ? ` ${reason}` : ""}`);
  }

  /**
   * The caller started talking. If the agent is audible: clear Twilio's queue, stop the reply and cut the
   * model's memory at what the caller actually heard. Later triggers for the same speech find nothing
   * playing and do nothing, so whichever trigger comes first wins, once.
   */
  bargeIn(trigger: BargeInTrigger): void {
    const sink = this.#sink;
    const writer = this.#writer;
    if (this.#phase !== "active" || sink === null || writer === null) return;
    const now = this.#clock.now();
    if (!this.#playout.isPlaying(now)) return;
    const heard = this.#playout.heard(now);
    sink.send(writer.clear());
    this.#playout.clear();
    this.#toTwilio?.reset();
    if (heard) this.#interruptedItems.add(heard.itemId);
    if (this.#lastItemId) this.#interruptedItems.add(this.#lastItemId);
    this.#provider?.interrupt(heard?.itemId ?? null, heard?.playedMs ?? 0);
    this.#bargeIns++;
    this.#bargeInsBy[trigger]++;
    this.#log.info({ trigger, itemId: heard?.itemId, playedMs: heard?.playedMs }, "barge-in");
  }

  /** Twilio's answering-machine verdict (async AMD): kept for the call log; acting on it is the voicemail flow's job. */
  onAnsweredBy(answeredBy: string, detectionMs: number | null): void {
    if (this.#phase === "ended") return;
    this.#answeredBy = { answered_by: answeredBy, detection_ms: detectionMs };
    this.#log.info({ answeredBy, detectionMs }, "answering machine detection result");
  }

  /** End the call once, for `reason`; finishes the call log. Later calls return the same promise. */
  end(reason: EndReason, detail?: string): Promise<void> {
    if (this.#phase === "ended") return this.#ended;
    this.#phase = "ended";
    this.#endReason = reason;
    if (this.#mediaTimer) clearTimeout(this.#mediaTimer);
    if (this.#stallTimer) clearInterval(this.#stallTimer);
    // Keys still inside their batch window reach the transcript; the model is past hearing them.
    this.#keypad.flush();
    this.#abort.abort();
    this.#provider?.close();
    this.#tap?.close();
    this.#toProvider?.close();
    this.#toTwilio?.close();
    this.#sink?.close(1000, reason);
    const endedAt = this.#clock.wallNow();
    const durationMs = this.#clock.now() - this.#opts.startedAtMono;
    const level = END_REASONS[reason].status === "completed" ? "info" : "warn";
    this.#log[level]({ reason, detail, durationMs: Math.round(durationMs) }, "call ended");
    const outcome = {
      status: END_REASONS[reason].status,
      endedAt,
      durationSeconds: Math.max(0, Math.round(durationMs / 1000)),
      transcript: this.#transcript,
      metadata: this.#metadata(reason, detail),
      onlyIfRinging: reason === "media_timeout",
    };
    void finishWithRetry(this.#opts.callLogs, this.callId, outcome, this.#log).finally(() => this.#resolveEnded());
    return this.#ended;
  }

  #metadata(reason: EndReason, detail: string | undefined): Record<string, unknown> {
    const faults = this.#faults;
    const malformed = Object.values(faults).reduce((a, b) => a + b, 0);
    return {
      end_reason: reason,
      ...(detail ? { end_detail: detail } : {}),
      ...(this.#streamSid !== null ? { stream_sid: this.#streamSid } : {}),
      ...(this.#answeredBy !== null ? { amd: this.#answeredBy } : {}),
      ...(this.#keypad.presses.length ? { dtmf: [...this.#keypad.presses] } : {}),
      barge_ins: this.#bargeIns,
      barge_ins_by: { ...this.#bargeInsBy },
      media: {
        frames_in: this.#framesIn,
        malformed_frames: malformed,
        frame_faults: { ...faults },
        early_audio_dropped: this.#earlyAudioDropped,
        gap_filled_frames: this.#timeline.filledFrames,
        late_frames_dropped: this.#timeline.droppedFrames,
        late_agent_audio_dropped: this.#lateAudioDropped,
        stale_mark_echoes: this.#playout.staleEchoes,
      },
      latency: {
        first_agent_audio_ms:
          this.#firstAgentAudioAt !== null && this.#streamStartedAt !== null
            ? Math.round(this.#firstAgentAudioAt - this.#streamStartedAt)
            : null,
      },
      ...(this.#providerErrors.length ? { provider_errors: this.#providerErrors } : {}),
      ...(this.#providerResumptions ? { provider_resumptions: this.#providerResumptions } : {}),
    };
  }

  #onProviderReady(session: RealtimeSession): void {
    if (this.#phase === "ended") {
      session.close();
      return;
    }
    this.#provider = session;
    try {
      this.#toProvider = createTranscoder(MULAW_8K, session.inputFormat);
      this.#toTwilio = createTranscoder(session.outputFormat, MULAW_8K);
    } catch (err) {
      void this.end("provider_format_unsupported", err instanceof Error ? err.message : String(err));
      return;
    }
    this.#maybeBegin();
  }

  /** Both sides are up: flush the caller's early audio and let the agent open. */
  #maybeBegin(): void {
    const provider = this.#provider;
    const toProvider = this.#toProvider;
    if (this.#phase !== "connecting" || provider === null || toProvider === null || this.#sink === null) return;
    this.#phase = "active";
    for (const payload of this.#earlyAudio) provider.appendAudio(toProvider.convert(payload));
    this.#earlyAudio.length = 0;
    if (this.#opts.providerConfig.aiSpeaksFirst) provider.startGreeting();
  }

  /** One 20 ms frame of caller audio, in order, gaps already filled. */
  #callerAudio(payload: string): void {
    this.#tap?.push(payload);
    if (this.#provider !== null && this.#phase === "active") this.#provider.appendAudio(this.#toProvider!.convert(payload));
    else this.#keepEarlyAudio(payload);
  }

  #keepEarlyAudio(payload: string): void {
    if (this.#phase === "ended") return;
    if (this.#earlyAudio.length >= EARLY_AUDIO_MAX_FRAMES) {
      this.#earlyAudio.shift();
      this.#earlyAudioDropped++;
    }
    this.#earlyAudio.push(payload);
  }

  #onAgentAudio(b64: string, itemId: string): void {
    const sink = this.#sink;
    const writer = this.#writer;
    if (this.#phase !== "active" || sink === null || writer === null) return;
    if (this.#interruptedItems.has(itemId)) {
      this.#lateAudioDropped++;
      return;
    }
    const mulaw = this.#toTwilio!.convert(b64);
    // A resampler's first call can return nothing while its filter fills.
    if (mulaw === "") return;
    const now = this.#clock.now();
    if (this.#firstAgentAudioAt === null) this.#firstAgentAudioAt = now;
    if (this.#lastItemId !== itemId) this.#agentTurnAt = now;
    this.#lastItemId = itemId;
    const mark = this.#playout.queue(itemId, mulawBase64Ms(mulaw), now);
    sink.send(writer.media(mulaw));
    sink.send(writer.mark(mark));
  }

  #onCallerSpeech(trigger: BargeInTrigger): void {
    if (this.#phase === "ended") return;
    // Caller turns are stamped by whichever VAD the provider takes turns from; otherwise local VAD only barges in.
    if (this.#takesLocalTurns()) {
      if (trigger === "local_vad") this.#localTurnAt = this.#clock.now();
    } else if (trigger === "provider_vad") {
      this.#callerTurns.push(this.#clock.now());
    }
    this.bargeIn(trigger);
  }

  /** Providers without turn detection of their own (scripted) take the local VAD's end of speech. */
  #onCallerSpeechEnded(): void {
    const provider = this.#provider;
    if (this.#phase !== "active" || provider === null || !provider.capabilities.needsLocalTurns) return;
    provider.callerSpeechEnded?.();
  }

  /** When the turn a caller transcript belongs to began; taken once per transcript. */
  #callerTurnStart(): number | null {
    return this.#takesLocalTurns() ? this.#localTurnAt : (this.#callerTurns.shift() ?? null);
  }

  #takesLocalTurns(): boolean {
    return this.#provider?.capabilities.needsLocalTurns === true;
  }

  #checkStall(): void {
    if (this.#clock.now() - this.#lastMediaAt > MEDIA_STALL_TIMEOUT_MS) void this.end("twilio_stream_stalled");
  }

  #onTranscript(role: TranscriptRole, text: string, final: boolean): void {
    if (!final || text.trim() === "") return;
    // A local-turn provider transcribes the turn the local VAD just ended; a queue of starts could drift
    // when some turns get no transcript.
    const turnAt = role === "agent" ? this.#agentTurnAt : this.#callerTurnStart();
    this.#addTranscriptLine(role, text.trim(), Math.round((turnAt ?? this.#clock.now()) - this.#opts.startedAtMono));
  }

  #addTranscriptLine(role: TranscriptRole, text: string, atMs: number): void {
    // Transcriptions finish out of order (the caller's often after the agent's reply began): keep time order.
    let i = this.#transcript.length;
    while (i > 0 && this.#transcript[i - 1]!.at_ms > atMs) i--;
    this.#transcript.splice(i, 0, { role, text, at_ms: atMs });
  }

  #onKeypadPress(digit: string): void {
    if (this.#phase === "ended") return;
    // Only keypad keys reach the model's context: anything else in the frame is not the caller's.
    if (!isKeypadDigit(digit)) {
      this.#log.warn({ digit: digit.slice(0, 8) }, "ignored a dtmf frame that is not a keypad key");
      return;
    }
    this.#keypad.press(digit, Math.round(this.#clock.now() - this.#opts.startedAtMono));
  }

  /** A batch of keys is complete: the log's reader sees it in the transcript, the model as context. */
  #onKeypadEntry(digits: string, atMs: number): void {
    this.#addTranscriptLine("caller", `[keypad] ${digits}`, atMs);
    if (this.#phase !== "active" || this.#provider === null) return;
    this.#provider.addContext(keypadContextText(digits));
    this.#log.info({ keys: digits.length }, "keypad entry sent to the model");
  }

  #onToolCall(id: string, name: string): void {
    // No tools are offered yet; answer so the model isn't left waiting on a result.
    this.#log.warn({ tool: name }, "model called a tool this agent does not offer");
    this.#provider?.sendToolResult(id, JSON.stringify({ error: `unknown tool ${name}` }));
  }

  #onProviderError(err: ProviderError): void {
    this.#providerErrors.push(`${err.code}: ${err.message}`);
    if (err.recoverable) {
      this.#log.warn({ code: err.code, message: err.message }, "provider error");
      return;
    }
    void this.end("provider_error", err.message);
  }

  #onProviderClosed(info: ProviderCloseInfo): void {
    if (this.#phase === "ended") return;
    void this.end(info.clean ? "provider_closed" : "provider_error", info.reason);
  }
}
