import { MULAW_8K, MULAW_BYTES_PER_MS, mulawBase64Ms } from "../media/audioFormat.js";
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
import type {
  CallControl,
  CallerVad,
  CallerVadFactory,
  CallFunctions,
  CallLogPort,
  CallPolicy,
  Clock,
  SessionLogger,
  TranscriptEntry,
  TwilioSink,
} from "./ports.js";
import { TransferFlow } from "./transferFlow.js";
import { REPLY_WAIT_MS, ReplyWaiter, spokenWaitMs } from "./replyWaiter.js";
import { ToolCallLog, parseToolArgs, type ToolCallRecord } from "./toolCallLog.js";
import { SilenceWatch } from "./silenceWatch.js";
import { amdLogEntry, type TwilioAnswer } from "./answeringMachine.js";
import { VoicemailFlow, type VoicemailHost } from "./voicemailFlow.js";
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
/** How often the silence watch looks. */
const SILENCE_CHECK_MS = 250;
/** After "are you still there?", how long the caller has to answer (at most; never longer than the limit itself). */
const STILL_THERE_GRACE_MS = 10_000;
/** A function still running after this long gets a spoken "one moment" so the caller isn't left in silence. */
const SPEAK_DURING_DELAY_MS = 700;
/** While the agent is still talking when that time comes, look again this often. */
const FILLER_RECHECK_MS = 250;
/** A call over its limit while a transfer is under way is looked at again this often. */
const MAX_DURATION_RECHECK_MS = 5_000;
/** Voicemail audio goes to Twilio in pieces this long, each followed by a mark. */
const VOICEMAIL_CHUNK_BYTES = 8_000;
/** What the model is asked to say while a function runs. */
const FUNCTION_FILLER =
  "A lookup you asked for is still running. In one short sentence, tell the caller you're checking; don't guess the result.";

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
  /** Limits, answering machines, transfer targets; none when absent. */
  readonly policy?: CallPolicy;
  /** Twilio call control (hang up, transfer); without it the session can only close its stream. */
  readonly control?: CallControl;
  /** The agent's custom functions on this call. */
  readonly functions?: CallFunctions;
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
  #answeredBy: TwilioAnswer | null = null;
  /** Set once the call is on its way out: no barge-in, no caller audio to the model, the last line plays. */
  #closing: EndReason | null = null;
  readonly #replies = new ReplyWaiter({
    live: () => this.#phase !== "ended",
    playedOut: () => this.#playout.confirmedMs >= this.#playout.sentMs,
    onGaveUp: (maxWaitMs) => this.#log.warn({ maxWaitMs }, "a reply we waited for did not finish playing; going on without it"),
  });
  readonly #transfer: TransferFlow;
  readonly #toolCalls = new ToolCallLog();
  #toolsRunning = 0;
  #silence: SilenceWatch | null = null;
  #silenceTimer: NodeJS.Timeout | null = null;
  #maxDurationTimer: NodeJS.Timeout | null = null;
  #stillThereAsked = 0;
  /** Answering machines on a placed call with AMD; null otherwise. */
  readonly #voicemail: VoicemailFlow | null;
  #greeted = false;

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
      onToolCall: (id, name, args) => this.#onToolCall(id, name, args),
      onResponseDone: (itemId) => this.#replies.onResponseDone(itemId),
      onError: (err) => this.#onProviderError(err),
      onResumed: (reason) => {
        this.#providerResumptions++;
        this.#log.info({ reason }, "provider connection resumed");
      },
      onClosed: (info) => this.#onProviderClosed(info),
    };
    this.#transfer = new TransferFlow(
      {
        live: () => this.#phase !== "ended",
        hasStream: () => this.#sink !== null,
        transcript: () => this.#transcript,
        sendToolResult: (toolCallId, output) => this.#provider?.sendToolResult(toolCallId, output),
        end: (reason, detail) => void this.end(reason, detail),
        afterReply: (then) => this.#replies.wait(then, false, REPLY_WAIT_MS),
        log: this.#log,
        clock: this.#clock,
      },
      opts.policy?.transferTargets ?? [],
      opts.control,
    );
    const amd = opts.policy?.amd ?? null;
    this.#voicemail = amd === null ? null : new VoicemailFlow(this.#voicemailHost(), amd, opts.providerConfig.vad.silenceDurationMs);
    const listeners: CallerVad[] = [];
    if (opts.vad) {
      listeners.push(
        opts.vad({
          onSpeechStart: (atMs) => {
            // The greeting's shape only says who answered while nobody is talking to them yet.
            this.#voicemail?.speechStart(atMs);
            this.#onCallerSpeech("local_vad");
          },
          onSpeechEnd: (atMs) => {
            this.#voicemail?.speechEnd(atMs);
            this.#onCallerSpeechEnded();
          },
        }),
      );
    }
    if (this.#voicemail !== null) listeners.push(this.#voicemail.listener);
    this.#tap = listeners.length > 0 ? new CallerAudioTap(listeners) : null;
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
    const maxDurationMs = this.#opts.policy?.maxDurationMs ?? 0;
    if (maxDurationMs > 0) {
      // Counted from the webhook (the call's start), so a resumed session keeps the original deadline.
      const left = Math.max(0, maxDurationMs - (this.#clock.now() - this.#opts.startedAtMono));
      this.#maxDurationTimer = setTimeout(() => this.#onMaxDuration(), left);
    }
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
    // A transfer that failed brings the caller back on a new stream.
    if (this.#transfer.holdsCaller && this.#sink === null) {
      this.#useStream(sink, streamSid);
      this.#silence?.callerSound(this.#clock.now());
      this.#transfer.resume();
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
    this.#useStream(sink, streamSid);
    this.#streamStartedAt = this.#clock.now();
    this.#opts.callLogs.markInProgress(this.callId, { streamSid }).catch((err: unknown) => {
      this.#log.warn({ err }, "could not mark call in progress");
    });
    this.#maybeBegin();
  }

  #useStream(sink: TwilioSink, streamSid: string): void {
    // A reconnected stream's media timestamps start again near zero.
    this.#timeline.restart();
    this.#sink = sink;
    this.#streamSid = streamSid;
    this.#writer = new TwilioFrameWriter(streamSid);
    this.#lastMediaAt = this.#clock.now();
    this.#stallTimer = setInterval(() => this.#checkStall(), STALL_CHECK_MS);
  }

  /** The stream went away during a transfer (Twilio's redirect stops it): the call isn't over. */
  #dropStream(): void {
    if (this.#stallTimer) clearInterval(this.#stallTimer);
    this.#stallTimer = null;
    this.#sink = null;
    this.#writer = null;
    this.#playout.clear();
    this.#toTwilio?.reset();
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
        this.#replies.onMarkEcho();
        return;
      case "stop":
        this.#streamGone("stream_stopped");
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

  /** The media socket closed; `sink` says which one, since a transfer that failed brings a second. */
  onStreamClosed(code: number, reason: string, sink?: TwilioSink): void {
    if (this.#phase === "ended") return;
    if (sink !== undefined && this.#sink !== null && sink !== this.#sink) return;
    this.#streamGone("twilio_socket_closed", `code ${code}${reason ? ` ${reason}` : ""}`);
  }

  /** The stream stopped or closed: the end of the call, unless Twilio took the caller for a transfer. */
  #streamGone(reason: EndReason, detail?: string): void {
    if (this.#transfer.holdsCaller) this.#dropStream();
    else void this.end(reason, detail);
  }

  /**
   * The caller started talking. If the agent is audible: clear Twilio's queue, stop the reply and cut the
   * model's memory at what the caller actually heard. Later triggers for the same speech find nothing
   * playing and do nothing, so whichever trigger comes first wins, once.
   */
  bargeIn(trigger: BargeInTrigger): void {
    // A goodbye or hand-off line plays to its end: the caller talking over it doesn't stop the hang-up.
    if (this.#closing !== null || this.#transfer.underway) return;
    const heard = this.#cutReply();
    if (heard === false) return;
    this.#bargeIns++;
    this.#bargeInsBy[trigger]++;
    this.#log.info({ trigger, itemId: heard?.itemId, playedMs: heard?.playedMs }, "barge-in");
  }

  /**
   * Stop what the agent is saying: clear Twilio's queue, stop the reply, cut the model's memory at what was
   * heard. False when nothing was playing.
   */
  #cutReply(): { itemId: string; playedMs: number } | null | false {
    const sink = this.#sink;
    const writer = this.#writer;
    if (this.#phase !== "active" || sink === null || writer === null) return false;
    const now = this.#clock.now();
    if (!this.#playout.isPlaying(now)) return false;
    const heard = this.#playout.heard(now);
    sink.send(writer.clear());
    this.#playout.clear();
    this.#toTwilio?.reset();
    if (heard) this.#interruptedItems.add(heard.itemId);
    if (this.#lastItemId) this.#interruptedItems.add(this.#lastItemId);
    this.#provider?.interrupt(heard?.itemId ?? null, heard?.playedMs ?? 0);
    return heard;
  }

  /** Twilio's answering-machine verdict (async AMD): kept for the call log and given to the answering-machine assist. */
  onAnsweredBy(answeredBy: string, detectionMs: number | null): void {
    if (this.#phase === "ended") return;
    this.#answeredBy = { answered_by: answeredBy, detection_ms: detectionMs };
    this.#log.info({ answeredBy, detectionMs }, "answering machine detection result");
    this.#voicemail?.twilioVerdict(answeredBy, detectionMs);
  }

  /** The transfer's callee answered: the caller is theirs now. */
  onTransferAnswered(): void {
    this.#transfer.answered();
  }

  /**
   * The transfer's `<Dial>` failed (`status` is Twilio's DialCallStatus): the caller is coming back to the
   * agent, or, with `callerGone`, hung up while it rang and the call is over.
   */
  onTransferFailed(status: string, callerGone = false): void {
    this.#transfer.failed(status, callerGone);
  }

  /** End the call once, for `reason`; finishes the call log. Later calls return the same promise. */
  end(reason: EndReason, detail?: string): Promise<void> {
    if (this.#phase === "ended") return this.#ended;
    this.#phase = "ended";
    this.#endReason = reason;
    if (this.#mediaTimer) clearTimeout(this.#mediaTimer);
    if (this.#stallTimer) clearInterval(this.#stallTimer);
    if (this.#silenceTimer) clearInterval(this.#silenceTimer);
    if (this.#maxDurationTimer) clearTimeout(this.#maxDurationTimer);
    this.#replies.cancel();
    this.#transfer.dispose();
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
      ...amdLogEntry(this.#voicemail?.decision ?? null, this.#answeredBy, this.#voicemail?.ignored ?? null),
      ...(this.#keypad.presses.length ? { dtmf: [...this.#keypad.presses] } : {}),
      ...this.#toolCallsEntry(),
      ...(this.#stillThereAsked ? { still_there_prompts: this.#stillThereAsked } : {}),
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
    // Held for AMD, early audio is the greeting of whoever answered: not for the model.
    if (!this.#amdHolding) for (const payload of this.#earlyAudio) provider.appendAudio(toProvider.convert(payload));
    this.#earlyAudio.length = 0;
    this.#startSilenceWatch();
    this.#voicemail?.onCallActive();
    this.#greetIfDue();
  }

  /** True while AMD keeps the model off the line: no verdict yet, or a machine answered. */
  get #amdHolding(): boolean {
    return this.#voicemail !== null && this.#voicemail.holding;
  }

  /** The agent opens once the call is up and, on a placed call, once we know a person answered. */
  #greetIfDue(): void {
    if (this.#phase !== "active" || this.#greeted || this.#amdHolding || this.#closing !== null) return;
    this.#greeted = true;
    if (this.#opts.providerConfig.aiSpeaksFirst) this.#provider?.startGreeting();
  }

  /** One 20 ms frame of caller audio, in order, gaps already filled. */
  #callerAudio(payload: string): void {
    this.#tap?.push(payload);
    if (this.#provider !== null && this.#phase === "active") {
      // On the way out or being handed over, the caller's words are not for the model.
      if (this.#closing === null && !this.#transfer.underway && !this.#amdHolding) this.#provider.appendAudio(this.#toProvider!.convert(payload));
    } else this.#keepEarlyAudio(payload);
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
    // Interrupted, or a reply (a tool result's) while a machine's greeting plays: the machine gets none of it.
    if (this.#interruptedItems.has(itemId) || (this.#amdHolding && this.#closing === null)) {
      this.#lateAudioDropped++;
      return;
    }
    const mulaw = this.#toTwilio!.convert(b64);
    // A resampler's first call can return nothing while its filter fills.
    if (mulaw === "") return;
    const now = this.#clock.now();
    if (this.#firstAgentAudioAt === null) this.#firstAgentAudioAt = now;
    this.#replies.onAgentAudio(itemId);
    if (this.#lastItemId !== itemId) this.#agentTurnAt = now;
    this.#lastItemId = itemId;
    const mark = this.#playout.queue(itemId, mulawBase64Ms(mulaw), now);
    sink.send(writer.media(mulaw));
    sink.send(writer.mark(mark));
  }

  #onCallerSpeech(trigger: BargeInTrigger): void {
    if (this.#phase === "ended") return;
    this.#silence?.callerSound(this.#clock.now());
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
    if (role === "caller") this.#silence?.callerSound(this.#clock.now());
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
    this.#silence?.callerSound(this.#clock.now());
    this.#keypad.press(digit, Math.round(this.#clock.now() - this.#opts.startedAtMono));
  }

  /** A batch of keys is complete: the log's reader sees it in the transcript, the model as context. */
  #onKeypadEntry(digits: string, atMs: number): void {
    this.#addTranscriptLine("caller", `[keypad] ${digits}`, atMs);
    if (this.#phase !== "active" || this.#provider === null) return;
    this.#provider.addContext(keypadContextText(digits));
    this.#log.info({ keys: digits.length }, "keypad entry sent to the model");
  }

  #onToolCall(id: string, name: string, argsJson: string): void {
    if (this.#phase === "ended") return;
    const record = this.#toolCalls.begin(name, id, this.#clock.now() - this.#opts.startedAtMono);
    const args = parseToolArgs(argsJson);
    if (name === "end_call" && this.#offers("end_call")) {
      // Already on the way out (a goodbye, a voicemail) or being handed over: that path ends the call.
      if (this.#closing !== null || this.#transfer.underway) {
        record.ok = false;
        record.error = this.#transfer.underway ? "ignored during a transfer" : "ignored: the call is already ending";
        return;
      }
      this.#log.info({ reason: args.reason }, "agent ended the call");
      record.ok = true;
      // No tool result: it would prompt another reply. The goodbye in this reply plays out, then we hang up.
      this.#closing = "agent_ended_call";
      this.#replies.wait(() => this.#hangUp("agent_ended_call", typeof args.reason === "string" ? args.reason : undefined), false, REPLY_WAIT_MS);
      return;
    }
    if (name === "transfer_call" && this.#offers("transfer_call")) {
      this.#transfer.request(id, args, record, this.#closing !== null);
      return;
    }
    const fn = this.#opts.functions?.lookup(name);
    if (fn === undefined) {
      this.#log.warn({ tool: name }, "model called a tool this agent does not offer");
      record.ok = false;
      record.error = "unknown tool";
      this.#provider?.sendToolResult(id, JSON.stringify({ error: `unknown tool ${name}` }));
      return;
    }
    this.#runFunction(id, name, argsJson, fn.speakDuringExecution, record);
  }

  #offers(tool: "end_call" | "transfer_call"): boolean {
    return this.#opts.providerConfig.tools.some((t) => t.name === tool);
  }

  #runFunction(id: string, name: string, argsJson: string, speakDuring: boolean, record: ToolCallRecord): void {
    const started = this.#clock.now();
    this.#toolsRunning++;
    let filler: NodeJS.Timeout | null = null;
    // The caller hears the agent already while it talks; only a silence gets the "one moment".
    const fillSilence = (): void => {
      if (this.#phase !== "active" || this.#transfer.underway || this.#closing !== null || this.#amdHolding) return;
      if (this.#playout.isPlaying(this.#clock.now())) filler = setTimeout(fillSilence, FILLER_RECHECK_MS);
      else this.#provider?.requestReply(FUNCTION_FILLER);
    };
    if (speakDuring) filler = setTimeout(fillSilence, SPEAK_DURING_DELAY_MS);
    void this.#opts.functions!.invoke(name, argsJson, this.#abort.signal).then((result) => {
      if (filler) clearTimeout(filler);
      this.#toolsRunning--;
      record.duration_ms = Math.round(this.#clock.now() - started);
      record.ok = result.ok;
      record.http_status = result.httpStatus;
      if (result.error !== null) record.error = result.error;
      this.#log.info({ tool: name, ok: result.ok, httpStatus: result.httpStatus, durationMs: record.duration_ms }, "function call finished");
      // During a transfer, a goodbye or a machine's greeting the model must not start another reply; the
      // result is logged, not sent.
      if (this.#phase !== "ended" && !this.#transfer.underway && this.#closing === null && !this.#amdHolding) this.#provider?.sendToolResult(id, result.output);
    });
  }

  /** What the voicemail flow may do to this call. */
  #voicemailHost(): VoicemailHost {
    return {
      active: () => this.#phase === "active",
      live: () => this.#phase !== "ended",
      busy: () => (this.#transfer.underway ? "transfer" : this.#closing !== null ? "call_ending" : null),
      greet: () => this.#greetIfDue(),
      silenceAgent: () => this.#silenceAgent(),
      startClosing: (reason) => (this.#closing = reason),
      hangUp: (reason, detail) => this.#hangUp(reason, detail),
      say: (text) => this.#provider?.say(text),
      requestReply: (instructions) => this.#provider?.requestReply(instructions),
      afterReply: (then, newReply, maxWaitMs, replyDone) => this.#replies.wait(then, newReply, maxWaitMs, replyDone),
      playAudio: (mulaw) => this.#playRecordedAudio(mulaw),
      log: this.#log,
    };
  }

  /** Sends recorded μ-law audio straight to Twilio, a mark after each piece; its length in ms, or null with no stream. */
  #playRecordedAudio(mulaw: Buffer): number | null {
    const sink = this.#sink;
    const writer = this.#writer;
    if (sink === null || writer === null) return null;
    const now = this.#clock.now();
    for (let at = 0; at < mulaw.length; at += VOICEMAIL_CHUNK_BYTES) {
      const chunk = mulaw.subarray(at, at + VOICEMAIL_CHUNK_BYTES).toString("base64");
      const mark = this.#playout.queue("voicemail-audio", mulawBase64Ms(chunk), now);
      sink.send(writer.media(chunk));
      sink.send(writer.mark(mark));
    }
    return mulaw.length / MULAW_BYTES_PER_MS;
  }

  /** Stop what the agent is saying and any reply still being generated, heard or not. */
  #silenceAgent(): void {
    if (this.#cutReply() === false) this.#provider?.interrupt(null, 0);
  }

  /** Speak `line` (cutting whatever is playing), then hang up once it has played. */
  #closeWith(reason: EndReason, line: string | null): void {
    if (this.#phase !== "active" || this.#closing !== null) return;
    this.#closing = reason;
    const provider = this.#provider;
    if (line === null || provider === null) {
      this.#hangUp(reason);
      return;
    }
    // A reply being generated but not yet heard is stopped too, or the line would wait behind it.
    this.#silenceAgent();
    provider.say(line);
    this.#replies.wait(() => this.#hangUp(reason), true, spokenWaitMs(line));
  }

  /** Hang up through Twilio's REST API (works wherever the stream is) and end; closing the stream hangs up too. */
  #hangUp(reason: EndReason, detail?: string): void {
    this.#opts.control?.hangUp().catch((err: unknown) => this.#log.warn({ err }, "REST hang-up failed; closing the stream ends the call"));
    void this.end(reason, detail);
  }

  #onMaxDuration(): void {
    // Mid-transfer the caller may be with a person; if they come back, the limit applies again then.
    if (this.#transfer.underway) {
      this.#maxDurationTimer = setTimeout(() => this.#onMaxDuration(), MAX_DURATION_RECHECK_MS);
      return;
    }
    this.#log.info({ maxDurationMs: this.#opts.policy?.maxDurationMs }, "call reached its maximum duration");
    if (this.#phase === "active") this.#closeWith("max_duration", this.#opts.policy?.lines.maxDuration ?? null);
    else void this.end("max_duration");
  }

  #startSilenceWatch(): void {
    const maxSilenceMs = this.#opts.policy?.maxSilenceMs ?? 0;
    if (maxSilenceMs <= 0 || this.#silence !== null) return;
    this.#silence = new SilenceWatch(maxSilenceMs, Math.min(maxSilenceMs, STILL_THERE_GRACE_MS), this.#clock.now());
    this.#silenceTimer = setInterval(() => this.#checkSilence(), SILENCE_CHECK_MS);
  }

  #checkSilence(): void {
    const silence = this.#silence;
    const provider = this.#provider;
    if (silence === null || provider === null || this.#phase !== "active") return;
    const now = this.#clock.now();
    // Not the caller's silence: the agent talking, a function running, a transfer or goodbye under way.
    if (this.#playout.isPlaying(now) || this.#toolsRunning > 0 || this.#transfer.underway || this.#closing !== null || this.#amdHolding) {
      silence.agentBusy(now);
      return;
    }
    switch (silence.check(now)) {
      case "none":
        return;
      case "ask":
        this.#stillThereAsked++;
        this.#log.info({}, "caller silent; asking if they are still there");
        provider.say(this.#opts.policy!.lines.stillThere);
        return;
      case "hang_up":
        this.#log.info({}, "caller still silent; hanging up");
        this.#closeWith("max_silence", this.#opts.policy!.lines.silenceGoodbye);
        return;
    }
  }

  #toolCallsEntry(): { tool_calls?: ToolCallRecord[] } {
    const entries = this.#toolCalls.entries();
    return entries === null ? {} : { tool_calls: entries };
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
