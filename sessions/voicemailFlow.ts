import { AnsweringMachine, type AmdDecision, type AmdVerdict, type GreetingEnd } from "./answeringMachine.js";
import type { EndReason } from "./endReasons.js";
import type { AmdPolicy, CallerVad, SessionLogger } from "./ports.js";
import { REPLY_WAIT_MS, spokenWaitMs } from "./replyWaiter.js";

/** What the model is told when it reaches voicemail and the agent decides. */
const VOICEMAIL_REACHED =
  "You have reached an answering machine and its beep has just played. Leave a brief voicemail now: who you are, " +
  "why you called and how to reach you back. Speak only the message; the call ends when you finish.";

/** Why a machine verdict changed nothing: the call was already with a person or on its way out. */
export type VerdictIgnored = "transfer" | "call_ending";

/** What the voicemail flow needs from its call. */
export interface VoicemailHost {
  /** The call has begun (stream and provider both came up) and has not ended. */
  readonly active: () => boolean;
  /** False once the call has ended. */
  readonly live: () => boolean;
  /** Non-null when a transfer or a closing line already has the call: a machine verdict is too late then. */
  readonly busy: () => VerdictIgnored | null;
  /** Let the agent open, if it hasn't and may. */
  readonly greet: () => void;
  /** Stop whatever the agent is saying or about to say. */
  readonly silenceAgent: () => void;
  /** The call is on its way out for `reason`: no barge-in, no caller audio to the model. */
  readonly startClosing: (reason: EndReason) => void;
  readonly hangUp: (reason: EndReason, detail?: string) => void;
  readonly say: (text: string) => void;
  readonly requestReply: (instructions: string) => void;
  /** Runs `then` once a reply has played (see ReplyWaiter.wait). */
  readonly afterReply: (then: () => void, newReply: boolean, maxWaitMs: number, replyDone?: boolean) => void;
  /** Sends μ-law audio straight to the caller's line; the play time in ms, or null with no stream to play it on. */
  readonly playAudio: (mulaw: Buffer) => number | null;
  readonly log: SessionLogger;
}

/**
 * Answering machines on a placed call: holds the agent's greeting (and the caller's audio) from the model
 * until the verdict, greets a person, and gives a machine the agent's voicemail behaviour once its greeting
 * has ended.
 */
export class VoicemailFlow {
  readonly #host: VoicemailHost;
  readonly #policy: AmdPolicy;
  readonly #machine: AnsweringMachine;
  #holding: boolean;
  #greetingEnd: GreetingEnd | null = null;
  #ignored: VerdictIgnored | null = null;

  constructor(host: VoicemailHost, policy: AmdPolicy, speechEndLagMs: number) {
    this.#host = host;
    this.#policy = policy;
    this.#holding = policy.holdGreetingMs > 0;
    this.#machine = new AnsweringMachine(
      {
        onVerdict: (verdict) => this.#onVerdict(verdict),
        onGreetingEnded: (end) => this.#onGreetingEnded(end),
        onTwilioLate: (result, disagrees) => {
          if (!disagrees) return;
          const ours = this.#machine.verdict;
          host.log.info({ twilio: result.raw, local: ours?.answeredBy, source: ours?.source }, "Twilio's AMD result disagrees with ours; ours stands");
        },
      },
      { holdGreetingMs: policy.holdGreetingMs, speechEndLagMs },
    );
  }

  /**
   * True while the model must not hear the line or be heard on it: waiting for the verdict (never, with no
   * hold), and from a machine verdict to the hang-up. Read on the hot path.
   */
  get holding(): boolean {
    return this.#holding;
  }

  /** The beep detector and silence clock: fed every caller frame as PCM. */
  readonly listener: CallerVad = {
    push: (pcm, endMs) => this.#machine.pcm(pcm, endMs),
    close: () => this.#machine.close(),
  };

  /** The local VAD heard speech start; its shape says who answered only while nobody talks to them yet. */
  speechStart(atMs: number): void {
    if (this.#holding) this.#machine.speechStart(atMs);
  }

  speechEnd(atMs: number): void {
    if (this.#holding) this.#machine.speechEnd(atMs);
  }

  /** Twilio's async AMD result. */
  twilioVerdict(answeredBy: string, detectionMs: number | null): void {
    this.#machine.twilioVerdict(answeredBy, detectionMs);
  }

  /** The call just came up: a machine's greeting may have ended before the provider was ready. */
  onCallActive(): void {
    if (this.#holding && this.#greetingEnd !== null && this.#isMachine()) this.#leaveMessage();
  }

  /** What decided who answered, and when, for the call log. */
  get decision(): AmdDecision {
    return this.#machine.decision;
  }

  /** Set when a machine verdict came too late for the call to act on it. */
  get ignored(): VerdictIgnored | null {
    return this.#ignored;
  }

  #isMachine(): boolean {
    const answered = this.#machine.verdict?.answeredBy;
    return answered === "machine" || answered === "fax";
  }

  /**
   * A person gets the greeting, a machine the voicemail behaviour. A machine can come late too (Twilio
   * overturning a verdict that timed out), after the agent has greeted.
   */
  #onVerdict(verdict: AmdVerdict): void {
    if (!this.#host.live()) return;
    this.#host.log.info({ answeredBy: verdict.answeredBy, source: verdict.source, atMs: Math.round(verdict.atMs) }, "answering machine verdict");
    if (verdict.answeredBy === "machine" || verdict.answeredBy === "fax") {
      this.#onMachine(verdict.answeredBy);
      return;
    }
    this.#holding = false;
    this.#host.greet();
  }

  #onMachine(kind: "machine" | "fax"): void {
    const busy = this.#host.busy();
    if (busy !== null) {
      // Too late to matter: the call is already on its way out or with a person. The log says so.
      this.#ignored = busy;
      this.#machine.close();
      return;
    }
    this.#holding = true;
    // The agent may have started talking (greeting not held, or held too briefly): the machine gets none
    // of it, nor of a reply still being generated.
    this.#host.silenceAgent();
    if (kind === "fax" || this.#policy.behavior === "hangup") {
      this.#host.startClosing("voicemail_hangup");
      this.#host.hangUp("voicemail_hangup", kind);
      return;
    }
    // The message waits for the greeting's end; it may already have come (Twilio's machine_end_*).
    if (this.#greetingEnd !== null) this.#leaveMessage();
  }

  /** Comes only after a machine verdict. */
  #onGreetingEnded(end: GreetingEnd): void {
    if (!this.#host.live()) return;
    this.#greetingEnd = end;
    this.#host.log.info({ source: end.source, atMs: Math.round(end.atMs) }, "answering machine greeting ended");
    if (this.#holding) this.#leaveMessage();
  }

  /** After the machine's beep: play the audio, speak the message, or let the model leave one; then hang up. */
  #leaveMessage(): void {
    const host = this.#host;
    const policy = this.#policy;
    if (!host.active() || host.busy() !== null) return;
    switch (policy.behavior) {
      case "hangup":
        host.startClosing("voicemail_hangup");
        host.hangUp("voicemail_hangup");
        return;
      case "agent_decides":
        host.startClosing("voicemail_left");
        host.requestReply(VOICEMAIL_REACHED);
        host.afterReply(() => host.hangUp("voicemail_left", "agent_decides"), true, REPLY_WAIT_MS * 4);
        return;
      case "static_message":
      case "dynamic_message":
        break;
    }
    host.startClosing("voicemail_left");
    const spoken = (): void => {
      if (policy.message === null) {
        host.log.warn({}, "no voicemail message or audio to leave; hanging up");
        host.hangUp("voicemail_hangup", "no voicemail message configured");
        return;
      }
      host.say(policy.message);
      host.afterReply(() => host.hangUp("voicemail_left", "message"), true, spokenWaitMs(policy.message));
    };
    if (policy.audio === null) {
      spoken();
      return;
    }
    // Fetched when the call started; by the beep it has almost always arrived.
    void policy.audio.then((audio) => {
      if (!host.active()) return;
      if (audio === null || audio.length === 0) spoken();
      else this.#playAudio(audio);
    });
  }

  /** Recorded audio goes straight to Twilio (no provider involved); hung up after its last mark. */
  #playAudio(mulaw: Buffer): void {
    const host = this.#host;
    const playMs = host.playAudio(mulaw);
    if (playMs === null) {
      host.hangUp("voicemail_hangup", "no media stream to play the voicemail audio on");
      return;
    }
    host.log.info({ ms: Math.round(playMs) }, "playing the voicemail audio");
    host.afterReply(() => host.hangUp("voicemail_left", "audio"), false, REPLY_WAIT_MS + playMs, true);
  }
}
