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
  TransferTarget,
  TwilioSink,
} from "./ports.js";
import { findTransferTarget } from "./builtinTools.js";
import { ReplyWaiter } from "./replyWaiter.js";
import { ToolCallLog, parseToolArgs, type ToolCallRecord } from "./toolCallLog.js";
import { SilenceWatch } from "./silenceWatch.js";
import { AnsweringMachine, amdLogEntry, type AmdVerdict, type GreetingEnd, type TwilioAnswer } from "./answeringMachine.js";
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
/** A line to be played before hanging up or transferring gets this long (plus its own length) before we go on without it. */
const REPLY_WAIT_MS = 8_000;
/** Spoken lines run at roughly this many ms per character; used only to size the wait above. */
const MS_PER_CHARACTER = 90;
/** A call over its limit while a transfer is under way is looked at again this often. */
const MAX_DURATION_RECHECK_MS = 5_000;
/** After a transfer fails, how long the caller's stream has to come back before the call is written off. */
const TRANSFER_RETURN_TIMEOUT_MS = 15_000;
/** After a transfer's redirect, how long to wait for Twilio to report its outcome before letting the call go. */
const TRANSFER_OUTCOME_TIMEOUT_MS = 120_000;
/** Voicemail audio goes to Twilio in pieces this long, each followed by a mark. */
const VOICEMAIL_CHUNK_BYTES = 8_000;
/** What the model is told when it reaches voicemail and the agent decides. */
const VOICEMAIL_REACHED =
  "You have reached an answering machine and its beep has just played. Leave a brief voicemail now: who you are, " +
  "why you called and how to reach you back. Speak only the message; the call ends when you finish.";
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

interface Transfer {
  readonly target: TransferTarget;
  readonly toolCallId: string;
  /** waiting: the hand-off line is playing; dialing: Twilio has the caller; failed: coming back to us. */
  state: "waiting" | "dialing" | "failed";
  failedStatus: string | null;
  timer: NodeJS.Timeout | null;
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
  #transfer: Transfer | null = null;
  readonly #toolCalls = new ToolCallLog();
  #toolsRunning = 0;
  #silence: SilenceWatch | null = null;
  #silenceTimer: NodeJS.Timeout | null = null;
  #maxDurationTimer: NodeJS.Timeout | null = null;
  #stillThereAsked = 0;
  /** The answering-machine assist on a placed call with AMD; null otherwise or once it has decided everything. */
  readonly #amd: AnsweringMachine | null;
  /** True while the greeting waits for the answering-machine verdict. */
  #amdHolding: boolean;
  #greeted = false;
  #voicemailGreetingEnd: GreetingEnd | null = null;
  /** A machine verdict that came when the call was already ending or being transferred. */
  #amdIgnored: "transfer" | "call_ending" | null = null;

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
    const amd = opts.policy?.amd ?? null;
    this.#amdHolding = amd !== null && amd.holdGreetingMs > 0;
    this.#amd =
      amd === null
        ? null
        : new AnsweringMachine(
            {
              onVerdict: (verdict) => this.#onAmdVerdict(verdict),
              onGreetingEnded: (end) => this.#onMachineGreetingEnded(end),
              onTwilioLate: (result, disagrees) => {
                if (disagrees) this.#log.info({ twilio: result.raw, local: this.#amd?.verdict?.answeredBy, source: this.#amd?.verdict?.source }, "Twilio's AMD result disagrees with ours; ours stands");
              },
            },
            { holdGreetingMs: amd.holdGreetingMs, speechEndLagMs: opts.providerConfig.vad.silenceDurationMs },
          );
    const listeners: CallerVad[] = [];
    if (opts.vad) {
      listeners.push(
        opts.vad({
          onSpeechStart: (atMs) => {
            // The greeting's shape only says who answered while nobody is talking to them yet.
            if (this.#amdHolding) this.#amd?.speechStart(atMs);
            this.#onCallerSpeech("local_vad");
          },
          onSpeechEnd: (atMs) => {
            if (this.#amdHolding) this.#amd?.speechEnd(atMs);
            this.#onCallerSpeechEnded();
          },
        }),
      );
    }
    const machine = this.#amd;
    if (machine !== null) listeners.push({ push: (pcm, endMs) => machine.pcm(pcm, endMs), close: () => machine.close() });
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
    if (this.#transfer !== null && this.#transfer.state !== "waiting" && this.#sink === null) {
      this.#useStream(sink, streamSid);
      this.#resumeAfterTransfer();
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
    if (this.#transfer?.state === "dialing" || this.#transfer?.state === "failed") this.#dropStream();
    else void this.end(reason, detail);
  }

  /**
   * The caller started talking. If the agent is audible: clear Twilio's queue, stop the reply and cut the
   * model's memory at what the caller actually heard. Later triggers for the same speech find nothing
   * playing and do nothing, so whichever trigger comes first wins, once.
   */
  bargeIn(trigger: BargeInTrigger): void {
    // A goodbye or hand-off line plays to its end: the caller talking over it doesn't stop the hang-up.
    if (this.#closing !== null || this.#transfer !== null) return;
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
    this.#amd?.twilioVerdict(answeredBy, detectionMs);
  }

  /** The transfer's callee answered: the caller is theirs now. */
  onTransferAnswered(): void {
    const transfer = this.#transfer;
    if (this.#phase === "ended" || transfer === null || transfer.state === "waiting") return;
    void this.end("transferred", transfer.target.name);
  }

  /**
   * The transfer's `<Dial>` failed (`status` is Twilio's DialCallStatus): the caller is coming back to the
   * agent, or, with `callerGone`, hung up while it rang and the call is over.
   */
  onTransferFailed(status: string, callerGone = false): void {
    const transfer = this.#transfer;
    if (this.#phase === "ended" || transfer === null || transfer.state === "waiting") return;
    transfer.failedStatus = status;
    transfer.state = "failed";
    if (callerGone) {
      void this.end("stream_stopped", `the caller hung up during the transfer to ${transfer.target.name} (${status})`);
      return;
    }
    this.#log.info({ target: transfer.target.name, status }, "transfer failed; waiting for the caller's stream to come back");
    // No stream back (the caller hung up while it rang): the call is over, and it was not transferred.
    if (transfer.timer) clearTimeout(transfer.timer);
    transfer.timer = setTimeout(() => void this.end("stream_stopped", `transfer to ${transfer.target.name} ${status}; the caller did not come back`), TRANSFER_RETURN_TIMEOUT_MS);
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
    if (this.#transfer?.timer) clearTimeout(this.#transfer.timer);
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
      ...amdLogEntry(this.#amd?.decision ?? null, this.#answeredBy, this.#amdIgnored),
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
    // A machine's greeting can end before the provider is up: the message goes now.
    if (this.#amdHolding && this.#voicemailGreetingEnd !== null && this.#isMachine()) this.#leaveVoicemail();
    this.#greetIfDue();
  }

  #isMachine(): boolean {
    const answered = this.#amd?.verdict?.answeredBy;
    return answered === "machine" || answered === "fax";
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
      if (this.#closing === null && this.#transfer === null && !this.#amdHolding) this.#provider.appendAudio(this.#toProvider!.convert(payload));
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
      if (this.#closing !== null || this.#transfer !== null) {
        record.ok = false;
        record.error = this.#transfer !== null ? "ignored during a transfer" : "ignored: the call is already ending";
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
      this.#onTransferCall(id, args, record);
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
      if (this.#phase !== "active" || this.#transfer !== null || this.#closing !== null || this.#amdHolding) return;
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
      if (this.#phase !== "ended" && this.#transfer === null && this.#closing === null && !this.#amdHolding) this.#provider?.sendToolResult(id, result.output);
    });
  }

  #onTransferCall(id: string, args: Record<string, unknown>, record: ToolCallRecord): void {
    const targets = this.#opts.policy?.transferTargets ?? [];
    const target = findTransferTarget(targets, args.target);
    const control = this.#opts.control;
    if (target === undefined || control === undefined || this.#transfer !== null || this.#closing !== null) {
      const error =
        target === undefined
          ? `no transfer target named ${JSON.stringify(args.target)}; the targets are ${targets.map((t) => t.name).join(", ")}`
          : "a transfer can't be made on this call";
      record.ok = false;
      record.error = error;
      this.#provider?.sendToolResult(id, JSON.stringify({ transferred: false, error }));
      return;
    }
    const reason = typeof args.reason === "string" ? args.reason : "";
    this.#transfer = { target, toolCallId: id, state: "waiting", failedStatus: null, timer: null };
    this.#log.info({ target: target.name }, "transfer requested");
    // The hand-off line ("let me put you through") plays first; Twilio's redirect would cut it off.
    this.#replies.wait(() => this.#startTransfer(control, target, reason, record), false, REPLY_WAIT_MS);
  }

  #startTransfer(control: CallControl, target: TransferTarget, reason: string, record: ToolCallRecord): void {
    const transfer = this.#transfer;
    if (this.#phase === "ended" || transfer === null) return;
    const started = this.#clock.now();
    transfer.state = "dialing";
    transfer.timer = setTimeout(() => void this.end("transferred", `${target.name}: no outcome reported`), TRANSFER_OUTCOME_TIMEOUT_MS);
    control.transfer({ target, reason, transcript: [...this.#transcript] }).then(
      () => {
        record.ok = true;
        record.duration_ms = Math.round(this.#clock.now() - started);
        this.#log.info({ target: target.name }, "caller redirected to the transfer target");
      },
      (err: unknown) => {
        const error = err instanceof Error ? err.message : String(err);
        record.ok = false;
        record.error = error;
        this.#log.warn({ err, target: target.name }, "transfer could not be started");
        if (transfer.timer) clearTimeout(transfer.timer);
        this.#transfer = null;
        // The stream already went (the caller hung up, or Twilio did redirect and only its answer was lost):
        // nobody is left on this side to talk to.
        if (this.#sink === null) {
          void this.end("stream_stopped", `transfer to ${target.name} could not be confirmed: ${error}`);
          return;
        }
        if (this.#phase === "active") this.#provider?.sendToolResult(transfer.toolCallId, JSON.stringify({ transferred: false, error: "the transfer could not be started" }));
      },
    );
  }

  /** The caller is back after a failed transfer: the model hears why, and carries on. */
  #resumeAfterTransfer(): void {
    const transfer = this.#transfer!;
    if (transfer.timer) clearTimeout(transfer.timer);
    this.#transfer = null;
    const status = transfer.failedStatus ?? "failed";
    this.#log.info({ target: transfer.target.name, status }, "caller back with the agent after a failed transfer");
    this.#silence?.callerSound(this.#clock.now());
    this.#provider?.sendToolResult(
      transfer.toolCallId,
      JSON.stringify({
        transferred: false,
        outcome: status,
        message: `The transfer to ${transfer.target.name} did not connect (${status}). The caller is back on the line with you: tell them, and offer another way to help.`,
      }),
    );
  }

  /**
   * Who answered a placed call is known: a person gets the greeting, a machine the voicemail behaviour. A
   * machine can come late too (Twilio overturning a verdict that timed out), after the agent has greeted.
   */
  #onAmdVerdict(verdict: AmdVerdict): void {
    if (this.#phase === "ended") return;
    this.#log.info({ answeredBy: verdict.answeredBy, source: verdict.source, atMs: Math.round(verdict.atMs) }, "answering machine verdict");
    if (verdict.answeredBy === "machine" || verdict.answeredBy === "fax") {
      this.#onMachine(verdict.answeredBy);
      return;
    }
    this.#amdHolding = false;
    this.#greetIfDue();
  }

  #onMachine(kind: "machine" | "fax"): void {
    const amd = this.#opts.policy?.amd;
    if (amd === undefined || amd === null) return;
    if (this.#closing !== null || this.#transfer !== null) {
      // Too late to matter: the call is already on its way out or with a person. The log says so.
      this.#amdIgnored = this.#transfer !== null ? "transfer" : "call_ending";
      this.#amd?.close();
      return;
    }
    this.#amdHolding = true;
    // The agent may have started talking (greeting not held, or held too briefly): the machine gets none of
    // it, nor of a reply still being generated.
    if (this.#cutReply() === false) this.#provider?.interrupt(null, 0);
    if (kind === "fax" || amd.behavior === "hangup") {
      this.#closing = "voicemail_hangup";
      this.#hangUp("voicemail_hangup", kind);
      return;
    }
    // The message waits for the greeting's end; it may already have come (Twilio's machine_end_*).
    if (this.#voicemailGreetingEnd !== null) this.#leaveVoicemail();
  }

  /** Comes only after a machine verdict. */
  #onMachineGreetingEnded(end: GreetingEnd): void {
    if (this.#phase === "ended") return;
    this.#voicemailGreetingEnd = end;
    this.#log.info({ source: end.source, atMs: Math.round(end.atMs) }, "answering machine greeting ended");
    if (this.#amdHolding) this.#leaveVoicemail();
  }

  /** After the machine's beep: play the audio, speak the message, or let the model leave one; then hang up. */
  #leaveVoicemail(): void {
    const amd = this.#opts.policy?.amd;
    if (amd === undefined || amd === null || this.#phase !== "active" || this.#closing !== null || this.#transfer !== null) return;
    switch (amd.behavior) {
      case "hangup":
        this.#closing = "voicemail_hangup";
        this.#hangUp("voicemail_hangup");
        return;
      case "agent_decides":
        this.#closing = "voicemail_left";
        this.#provider?.requestReply(VOICEMAIL_REACHED);
        this.#replies.wait(() => this.#hangUp("voicemail_left", "agent_decides"), true, REPLY_WAIT_MS * 4);
        return;
      case "static_message":
      case "dynamic_message":
        break;
    }
    this.#closing = "voicemail_left";
    const spoken = (): void => {
      if (amd.message === null) {
        this.#log.warn({}, "no voicemail message or audio to leave; hanging up");
        this.#hangUp("voicemail_hangup", "no voicemail message configured");
        return;
      }
      this.#provider?.say(amd.message);
      this.#replies.wait(() => this.#hangUp("voicemail_left", "message"), true, REPLY_WAIT_MS + amd.message.length * MS_PER_CHARACTER);
    };
    if (amd.audio === null) {
      spoken();
      return;
    }
    // Fetched when the call started; by the beep it has almost always arrived.
    void amd.audio.then((audio) => {
      if (this.#phase !== "active") return;
      if (audio === null || audio.length === 0) spoken();
      else this.#playVoicemailAudio(audio);
    });
  }

  /** Sends recorded audio straight to Twilio (no provider involved), then hangs up after its last mark. */
  #playVoicemailAudio(mulaw: Buffer): void {
    const sink = this.#sink;
    const writer = this.#writer;
    if (sink === null || writer === null) {
      this.#hangUp("voicemail_hangup", "no media stream to play the voicemail audio on");
      return;
    }
    const now = this.#clock.now();
    for (let at = 0; at < mulaw.length; at += VOICEMAIL_CHUNK_BYTES) {
      const chunk = mulaw.subarray(at, at + VOICEMAIL_CHUNK_BYTES).toString("base64");
      const mark = this.#playout.queue("voicemail-audio", mulawBase64Ms(chunk), now);
      sink.send(writer.media(chunk));
      sink.send(writer.mark(mark));
    }
    this.#log.info({ ms: Math.round(mulaw.length / 8) }, "playing the voicemail audio");
    this.#replies.wait(() => this.#hangUp("voicemail_left", "audio"), false, REPLY_WAIT_MS + mulaw.length / 8, true);
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
    if (this.#cutReply() === false) provider.interrupt(null, 0);
    provider.say(line);
    this.#replies.wait(() => this.#hangUp(reason), true, REPLY_WAIT_MS + line.length * MS_PER_CHARACTER);
  }

  /** Hang up through Twilio's REST API (works wherever the stream is) and end; closing the stream hangs up too. */
  #hangUp(reason: EndReason, detail?: string): void {
    this.#opts.control?.hangUp().catch((err: unknown) => this.#log.warn({ err }, "REST hang-up failed; closing the stream ends the call"));
    void this.end(reason, detail);
  }

  #onMaxDuration(): void {
    // Mid-transfer the caller may be with a person; if they come back, the limit applies again then.
    if (this.#transfer !== null) {
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
    if (this.#playout.isPlaying(now) || this.#toolsRunning > 0 || this.#transfer !== null || this.#closing !== null || this.#amdHolding) {
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
