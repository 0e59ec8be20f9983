/**
 * The local answering-machine assist for an outbound call awaiting AMD. It decides two things, each
 * once: who answered (the verdict) and, when a machine did, where its greeting ended (when to start
 * the voicemail message). Evidence comes from three places, whichever speaks first wins:
 *
 * - Twilio's async AMD callback (`twilioVerdict`), arriving ~4 s after answer on average;
 * - the caller's audio: a voicemail beep (`pcm`, through `media/beepDetector.ts`);
 * - the shape of the greeting, from the local VAD's decisions (`speechStart` / `speechEnd`): a person
 *   says a short "Hello?" and waits; a machine talks on.
 *
 * A verdict reached only by timing out is revised once when Twilio later says machine or fax: the call
 * then gets the voicemail behaviour, with the greeting's end found as usual (capped at
 * `LATE_MACHINE_GREETING_MS`). A verdict from evidence stands; Twilio's contrary result is only recorded.
 *
 * No I/O and no timers: time is the stream clock (ms of caller audio since the stream started).
 * `pcm` advances it with every frame; `tick` advances it when no audio is flowing. A deadline fires on
 * the first call whose time reaches it, so the owner needs no timer of its own while frames arrive.
 */
import { BeepDetector, type Beep } from "../media/beepDetector.js";
import { AGENT_VAD_DEFAULTS } from "../media/vad/config.js";

/** Twilio's `AnsweredBy` values (AMD status callback). */
export const TWILIO_ANSWERED_BY = [
  "human",
  "machine_start",
  "machine_end_beep",
  "machine_end_silence",
  "machine_end_other",
  "fax",
  "unknown",
] as const;
export type TwilioAnsweredBy = (typeof TWILIO_ANSWERED_BY)[number];

export type AnsweredBy = "human" | "machine" | "fax" | "unknown";
export type VerdictSource = "twilio" | "beep" | "speech_pattern" | "timeout";
export type GreetingEndSource = "twilio" | "beep" | "silence" | "timeout";

/** Who answered. `atMs`: stream time the verdict was reached. */
export interface AmdVerdict {
  readonly answeredBy: AnsweredBy;
  readonly source: VerdictSource;
  readonly atMs: number;
}

/** The machine's greeting is over: start the message. `atMs`: where it ended (a beep's end) or when that became known. */
export interface GreetingEnd {
  readonly source: GreetingEndSource;
  readonly atMs: number;
}

/** Twilio's AMD result as it arrived. */
export interface TwilioAmdResult {
  /** Twilio's raw `AnsweredBy`, kept even when it is a value this code does not know. */
  readonly raw: string;
  readonly answeredBy: AnsweredBy;
  /** Twilio's `MachineDetectionDuration`, ms from answer; null when absent. */
  readonly detectionMs: number | null;
  /** Stream time it arrived. */
  readonly atMs: number;
}

/** Everything that decided, for the call log. */
export interface AmdDecision {
  readonly verdict: AmdVerdict | null;
  readonly greetingEnd: GreetingEnd | null;
  /** The latest Twilio result, if one arrived (before or after the verdict). */
  readonly twilio: TwilioAmdResult | null;
  /** Twilio's result names someone else than the verdict did (the verdict stands). */
  readonly twilioDisagrees: boolean;
  readonly beep: Beep | null;
  /** The timed-out verdict Twilio's late machine result replaced, if it did. */
  readonly revisedFrom: AmdVerdict | null;
}

export interface AnsweringMachineHandlers {
  /** Called with the first verdict; once more if Twilio's late machine or fax result revises a timed-out one. */
  onVerdict(verdict: AmdVerdict): void;
  /** Called at most once, after a machine verdict. */
  onGreetingEnded(end: GreetingEnd): void;
  /** Twilio's result arrived after the verdict and did not revise it; `disagrees` as in `AmdDecision`. */
  onTwilioLate?(result: TwilioAmdResult, disagrees: boolean): void;
}

export interface AnsweringMachineOptions {
  /**
   * `AmdPolicy.holdGreetingMs`: no verdict by then → "unknown" from "timeout". 0: the agent greets at once,
   * so the line's speech pattern says nothing; only a beep or Twilio decides, within `NO_HOLD_TIMEOUT_MS`.
   */
  readonly holdGreetingMs: number;
  /** Stream time AMD starts listening. Default 0. */
  readonly startMs?: number;
  /**
   * How long after a speech offset the VAD reports it (its silence duration / hangover). Speech is only
   * called long once it has outlasted `MACHINE_SPEECH_MS` by this much, so an end still on its way is not
   * mistaken for more speech. Default: the agent VAD default, 500 ms.
   */
  readonly speechEndLagMs?: number;
}

/** Nobody spoke this long after the stream started: someone picked up and is waiting for us (a machine greets sooner). */
export const INITIAL_SILENCE_HUMAN_MS = 2_500;
/** A person's greeting ("Hello?", "Hi, this is Ana") is shorter than this… */
export const HUMAN_GREETING_MAX_MS = 1_800;
/** …and is followed by a pause of at least this while they wait; machines run on between sentences. */
export const HUMAN_PAUSE_MS = 800;
/** Speech this long from the first onset is a recorded greeting: Twilio's default MachineDetectionSpeechThreshold. */
export const MACHINE_SPEECH_MS = 2_400;
/** A greeting between the two needs this much silence to count as a person: Twilio's default MachineDetectionSpeechEndThreshold. */
export const AMBIGUOUS_PAUSE_MS = 1_200;
/** Silence this long after a machine's last speech: no beep is coming, leave the message. */
export const GREETING_END_SILENCE_MS = 2_500;
/** After a revised machine verdict (the greeting already under way, its start unheard): its end comes within this long. */
export const LATE_MACHINE_GREETING_MS = 5_000;
/** Cap on the verdict when the greeting is not held (holdGreetingMs 0): Twilio's default MachineDetectionTimeout. */
export const NO_HOLD_TIMEOUT_MS = 30_000;

type Phase = "listening" | "greeting" | "done";
type Rule = "none" | "timeout" | "silent_start" | "long_speech" | "pause" | "greeting_silence" | "greeting_cap";

function fromTwilio(value: TwilioAnsweredBy): AnsweredBy {
  switch (value) {
    case "human":
      return "human";
    case "machine_start":
    case "machine_end_beep":
    case "machine_end_silence":
    case "machine_end_other":
      return "machine";
    case "fax":
      return "fax";
    case "unknown":
      return "unknown";
  }
}

function isTwilioAnsweredBy(value: string): value is TwilioAnsweredBy {
  return (TWILIO_ANSWERED_BY as readonly string[]).includes(value);
}

export class AnsweringMachine {
  readonly #handlers: AnsweringMachineHandlers;
  readonly #startMs: number;
  readonly #timeoutAtMs: number;
  readonly #speechEndLagMs: number;
  readonly #beepDetector: BeepDetector;
  /** False without a hold: the caller is hearing the agent, and their speech is a reply, not a greeting. */
  readonly #readsSpeechPattern: boolean;

  #phase: Phase = "listening";
  #closed = false;
  #now: number;
  /** The next deadline and the rule it belongs to; Infinity / "none" when nothing is pending. */
  #deadlineMs = Infinity;
  #rule: Rule = "none";
  /** The latest the greeting may end; only set by a revision. */
  #greetingCapMs = Infinity;

  #heardSpeech = false;
  #speaking = false;
  #firstOnsetMs = 0;
  #lastEndMs = 0;

  #verdict: AmdVerdict | null = null;
  #greetingEnd: GreetingEnd | null = null;
  #twilio: TwilioAmdResult | null = null;
  #beep: Beep | null = null;
  #revisedFrom: AmdVerdict | null = null;

  constructor(handlers: AnsweringMachineHandlers, options: AnsweringMachineOptions) {
    this.#handlers = handlers;
    this.#startMs = options.startMs ?? 0;
    this.#now = this.#startMs;
    this.#readsSpeechPattern = options.holdGreetingMs > 0;
    this.#timeoutAtMs = this.#startMs + (this.#readsSpeechPattern ? options.holdGreetingMs : NO_HOLD_TIMEOUT_MS);
    this.#speechEndLagMs = options.speechEndLagMs ?? AGENT_VAD_DEFAULTS.silenceDurationMs;
    this.#beepDetector = new BeepDetector({ onBeep: (beep) => this.#onBeep(beep) });
    this.#schedule();
  }

  /** Who answered, once decided. */
  get verdict(): AmdVerdict | null {
    return this.#verdict;
  }

  get decision(): AmdDecision {
    return {
      verdict: this.#verdict,
      greetingEnd: this.#greetingEnd,
      twilio: this.#twilio,
      twilioDisagrees: this.#disagrees(),
      beep: this.#beep,
      revisedFrom: this.#revisedFrom,
    };
  }

  /** True while a decision may still come: the verdict, or after a machine verdict the greeting's end. False after `close`. */
  get active(): boolean {
    return this.#phase !== "done";
  }

  /**
   * One frame of caller PCM16 at 8 kHz ending at stream time `frameEndMs`. Hot path: no allocation.
   * The samples are read before it returns, so the caller may reuse the buffer.
   */
  pcm(frame: Int16Array, frameEndMs: number): void {
    // The clock keeps time after the decisions too: a late Twilio result is stamped with it.
    if (frameEndMs > this.#now) this.#now = frameEndMs;
    if (this.#phase === "done") return;
    this.#beepDetector.push(frame, frameEndMs);
    if (this.#now >= this.#deadlineMs) this.#expire();
  }

  /** Advances the stream clock without audio (e.g. from the session's own timer when frames stall). */
  tick(nowMs: number): void {
    if (nowMs > this.#now) this.#now = nowMs;
    if (this.#phase === "done") return;
    if (this.#now >= this.#deadlineMs) this.#expire();
  }

  /** The local VAD's speech onset, at stream time `atMs` (of the onset itself, not of the decision). */
  speechStart(atMs: number): void {
    if (this.#phase === "done") return;
    if (atMs > this.#now) this.#now = atMs;
    if (!this.#heardSpeech) {
      this.#heardSpeech = true;
      this.#firstOnsetMs = atMs;
    }
    this.#speaking = true;
    this.#schedule();
    if (this.#now >= this.#deadlineMs) this.#expire();
  }

  /** The local VAD's speech offset, at stream time `atMs` (reported `speechEndLagMs` later). */
  speechEnd(atMs: number): void {
    if (this.#phase === "done" || !this.#speaking) return;
    if (atMs > this.#now) this.#now = atMs;
    this.#speaking = false;
    this.#lastEndMs = atMs;
    this.#schedule();
    if (this.#now >= this.#deadlineMs) this.#expire();
  }

  /** Twilio's async AMD result (`AnsweredBy`, `MachineDetectionDuration`). Unknown values count as "unknown". */
  twilioVerdict(answeredBy: string, detectionMs: number | null): void {
    if (this.#closed) return;
    const known = isTwilioAnsweredBy(answeredBy);
    const result: TwilioAmdResult = {
      raw: answeredBy,
      answeredBy: known ? fromTwilio(answeredBy) : "unknown",
      detectionMs,
      atMs: this.#now,
    };
    this.#twilio = result;
    const messageEnded = known && answeredBy.startsWith("machine_end_");
    if (this.#verdict === null) this.#decide(result.answeredBy, "twilio");
    else if (this.#overturns(result)) this.#revise(result);
    else this.#handlers.onTwilioLate?.(result, this.#disagrees());
    if (messageEnded && this.#phase === "greeting") this.#endGreeting("twilio", this.#now);
  }

  /** Stops everything: no more handlers fire. Idempotent. */
  close(): void {
    this.#closed = true;
    this.#phase = "done";
    this.#deadlineMs = Infinity;
    this.#rule = "none";
    this.#beepDetector.reset();
  }

  /** Only a verdict that merely timed out gives way, and only to a machine or fax: hanging up on a person is the worse mistake. */
  #overturns(result: TwilioAmdResult): boolean {
    return this.#verdict?.source === "timeout" && this.#revisedFrom === null && (result.answeredBy === "machine" || result.answeredBy === "fax");
  }

  #revise(result: TwilioAmdResult): void {
    this.#revisedFrom = this.#verdict;
    // machine_start: the greeting is playing and its onset went unheard; listen for its end from here.
    this.#heardSpeech = true;
    this.#speaking = true;
    this.#lastEndMs = this.#now;
    this.#greetingCapMs = this.#now + LATE_MACHINE_GREETING_MS;
    this.#beepDetector.reset();
    this.#decide(result.answeredBy, "twilio");
  }

  #disagrees(): boolean {
    const verdict = this.#verdict;
    const twilio = this.#twilio;
    return verdict !== null && twilio !== null && verdict.source !== "twilio" && verdict.answeredBy !== twilio.answeredBy;
  }

  #onBeep(beep: Beep): void {
    if (this.#phase === "done") return;
    this.#beep = beep;
    if (this.#phase === "listening") this.#decide("machine", "beep");
    if (this.#phase === "greeting") this.#endGreeting("beep", beep.endMs);
  }

  #decide(answeredBy: AnsweredBy, source: VerdictSource): void {
    const verdict: AmdVerdict = { answeredBy, source, atMs: this.#now };
    this.#verdict = verdict;
    this.#phase = answeredBy === "machine" ? "greeting" : "done";
    this.#schedule();
    this.#handlers.onVerdict(verdict);
  }

  #endGreeting(source: GreetingEndSource, atMs: number): void {
    const end: GreetingEnd = { source, atMs };
    this.#greetingEnd = end;
    this.#phase = "done";
    this.#schedule();
    this.#handlers.onGreetingEnded(end);
  }

  /** Fires every deadline the clock has passed, earliest first (one rule can lead to the next). */
  #expire(): void {
    while (this.#phase !== "done" && this.#now >= this.#deadlineMs) {
      const rule = this.#rule;
      switch (rule) {
        case "none":
          return;
        case "timeout":
          this.#decide("unknown", "timeout");
          break;
        case "silent_start":
        case "pause":
          this.#decide("human", "speech_pattern");
          break;
        case "long_speech":
          this.#decide("machine", "speech_pattern");
          break;
        case "greeting_silence":
          this.#endGreeting("silence", this.#now);
          break;
        case "greeting_cap":
          this.#endGreeting("timeout", this.#now);
          break;
      }
    }
  }

  /** Recomputes the next deadline from the phase and what has been heard. */
  #schedule(): void {
    switch (this.#phase) {
      case "listening":
        this.#scheduleVerdict();
        return;
      case "greeting": {
        const silentEnd = this.#speaking ? Infinity : this.#quietSinceMs() + GREETING_END_SILENCE_MS;
        if (this.#greetingCapMs < silentEnd) this.#setDeadline(this.#greetingCapMs, "greeting_cap");
        else this.#setDeadline(silentEnd, "greeting_silence");
        return;
      }
      case "done":
        this.#setDeadline(Infinity, "none");
        return;
    }
  }

  #scheduleVerdict(): void {
    let at: number;
    let rule: Rule;
    if (!this.#readsSpeechPattern) {
      this.#setDeadline(this.#timeoutAtMs, "timeout");
      return;
    }
    if (!this.#heardSpeech) {
      at = this.#startMs + INITIAL_SILENCE_HUMAN_MS;
      rule = "silent_start";
    } else if (this.#speaking) {
      at = this.#firstOnsetMs + MACHINE_SPEECH_MS + this.#speechEndLagMs;
      rule = "long_speech";
    } else {
      const spanMs = this.#lastEndMs - this.#firstOnsetMs;
      if (spanMs >= MACHINE_SPEECH_MS) {
        at = this.#now;
        rule = "long_speech";
      } else {
        at = this.#lastEndMs + (spanMs < HUMAN_GREETING_MAX_MS ? HUMAN_PAUSE_MS : AMBIGUOUS_PAUSE_MS);
        rule = "pause";
      }
    }
    // The cap wins ties: past it, the agent must not be held for one more rule.
    if (this.#timeoutAtMs <= at) this.#setDeadline(this.#timeoutAtMs, "timeout");
    else this.#setDeadline(at, rule);
  }

  /** Since when the line has been quiet during the greeting: the last speech end, else the verdict. */
  #quietSinceMs(): number {
    return this.#heardSpeech ? this.#lastEndMs : (this.#verdict?.atMs ?? this.#now);
  }

  #setDeadline(atMs: number, rule: Rule): void {
    this.#deadlineMs = atMs;
    this.#rule = rule;
  }
}

/** Twilio's AMD callback as the call log keeps it: its raw `AnsweredBy` and `MachineDetectionDuration`. */
export interface TwilioAnswer {
  readonly answered_by: string;
  readonly detection_ms: number | null;
}

/**
 * The call log's `amd` entry: Twilio's answer as sent, and what the local assist decided and from what;
 * `ignoredBecause` when a machine verdict came too late for the call to act on it.
 */
export function amdLogEntry(decision: AmdDecision | null, twilio: TwilioAnswer | null, ignoredBecause: string | null = null): { amd?: Record<string, unknown> } {
  if (decision === null) return twilio !== null ? { amd: { ...twilio } } : {};
  const { verdict, greetingEnd, beep, revisedFrom } = decision;
  return {
    amd: {
      ...(twilio ?? {}),
      answered_by_local: verdict?.answeredBy ?? null,
      decided_by: verdict?.source ?? null,
      decided_at_ms: verdict === null ? null : Math.round(verdict.atMs),
      twilio_disagrees: decision.twilioDisagrees,
      ...(revisedFrom !== null ? { revised_from: revisedFrom.source } : {}),
      ...(ignoredBecause !== null ? { verdict_ignored: ignoredBecause } : {}),
      ...(greetingEnd !== null ? { greeting_end: { source: greetingEnd.source, at_ms: Math.round(greetingEnd.atMs) } } : {}),
      ...(beep !== null ? { beep: { start_ms: Math.round(beep.startMs), end_ms: Math.round(beep.endMs), hz: Math.round(beep.hz) } } : {}),
    },
  };
}
