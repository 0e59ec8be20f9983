import type { EndReason } from "./endReasons.js";
import { findTransferTarget } from "./builtinTools.js";
import type { CallControl, Clock, SessionLogger, TranscriptEntry, TransferTarget } from "./ports.js";
import type { ToolCallRecord } from "./toolCallLog.js";

/** After a transfer fails, how long the caller's stream has to come back before the call is written off. */
const TRANSFER_RETURN_TIMEOUT_MS = 15_000;
/** After a transfer's redirect, how long to wait for Twilio to report its outcome before letting the call go. */
const TRANSFER_OUTCOME_TIMEOUT_MS = 120_000;

/** What a transfer needs from its call. */
export interface TransferHost {
  /** False once the call has ended: nothing more happens. */
  readonly live: () => boolean;
  /** The caller's media stream is still with us. */
  readonly hasStream: () => boolean;
  /** The conversation so far, for the whisper's summary. */
  readonly transcript: () => readonly TranscriptEntry[];
  readonly sendToolResult: (toolCallId: string, output: string) => void;
  readonly end: (reason: EndReason, detail: string) => void;
  /** Runs `then` once the reply now playing (the hand-off line) has been heard to its end, or after REPLY_WAIT_MS. */
  readonly afterReply: (then: () => void) => void;
  readonly log: SessionLogger;
  readonly clock: Clock;
}

interface Transfer {
  readonly target: TransferTarget;
  readonly toolCallId: string;
  /** waiting: the hand-off line is playing; dialing: Twilio has the caller; failed: coming back to us. */
  state: "waiting" | "dialing" | "failed";
  failedStatus: string | null;
  timer: NodeJS.Timeout | null;
}

/**
 * A warm transfer, from the model's `transfer_call` to its outcome: the hand-off line plays, Twilio takes the
 * caller to the target, and either the callee answers (the call ends `transferred`) or the dial fails and
 * the caller comes back on a new stream, with the model told why.
 */
export class TransferFlow {
  readonly #host: TransferHost;
  readonly #targets: readonly TransferTarget[];
  readonly #control: CallControl | undefined;
  #transfer: Transfer | null = null;

  constructor(host: TransferHost, targets: readonly TransferTarget[], control: CallControl | undefined) {
    this.#host = host;
    this.#targets = targets;
    this.#control = control;
  }

  /** From the model's request until the caller is with a person, back with the agent, or gone. */
  get underway(): boolean {
    return this.#transfer !== null;
  }

  /** Twilio has the caller (ringing the target, or sending them back): the stream's stop is part of that. */
  get holdsCaller(): boolean {
    return this.#transfer !== null && this.#transfer.state !== "waiting";
  }

  /** The model called `transfer_call`; `callEnding` when a goodbye or voicemail is already under way. */
  request(toolCallId: string, args: Record<string, unknown>, record: ToolCallRecord, callEnding: boolean): void {
    const target = findTransferTarget(this.#targets, args.target);
    const control = this.#control;
    if (target === undefined || control === undefined || this.#transfer !== null || callEnding) {
      const error =
        target === undefined
          ? `no transfer target named ${JSON.stringify(args.target)}; the targets are ${this.#targets.map((t) => t.name).join(", ")}`
          : "a transfer can't be made on this call";
      record.ok = false;
      record.error = error;
      this.#host.sendToolResult(toolCallId, JSON.stringify({ transferred: false, error }));
      return;
    }
    const reason = typeof args.reason === "string" ? args.reason : "";
    this.#transfer = { target, toolCallId, state: "waiting", failedStatus: null, timer: null };
    this.#host.log.info({ target: target.name }, "transfer requested");
    // The hand-off line ("let me put you through") plays first; Twilio's redirect would cut it off.
    this.#host.afterReply(() => this.#dial(control, target, reason, record));
  }

  /** The callee answered (the whisper was fetched): the caller is theirs now. */
  answered(): void {
    const transfer = this.#transfer;
    if (!this.#host.live() || transfer === null || transfer.state === "waiting") return;
    this.#host.end("transferred", transfer.target.name);
  }

  /**
   * The `<Dial>` failed (`status` is Twilio's DialCallStatus): the caller is coming back to the agent, or,
   * with `callerGone`, hung up while it rang and the call is over.
   */
  failed(status: string, callerGone: boolean): void {
    const transfer = this.#transfer;
    if (!this.#host.live() || transfer === null || transfer.state === "waiting") return;
    transfer.failedStatus = status;
    transfer.state = "failed";
    if (callerGone) {
      this.#host.end("stream_stopped", `the caller hung up during the transfer to ${transfer.target.name} (${status})`);
      return;
    }
    this.#host.log.info({ target: transfer.target.name, status }, "transfer failed; waiting for the caller's stream to come back");
    // No stream back (the caller hung up while it rang): the call is over, and it was not transferred.
    this.#setTimer(transfer, TRANSFER_RETURN_TIMEOUT_MS, `transfer to ${transfer.target.name} ${status}; the caller did not come back`, "stream_stopped");
  }

  /** The caller is back on a new stream after a failed transfer: the model hears why, and carries on. */
  resume(): void {
    const transfer = this.#transfer;
    if (transfer === null) {
      this.#host.log.warn({}, "a stream came back with no failed transfer to resume");
      return;
    }
    this.#clearTimer(transfer);
    this.#transfer = null;
    const status = transfer.failedStatus ?? "failed";
    this.#host.log.info({ target: transfer.target.name, status }, "caller back with the agent after a failed transfer");
    this.#host.sendToolResult(
      transfer.toolCallId,
      JSON.stringify({
        transferred: false,
        outcome: status,
        message: `The transfer to ${transfer.target.name} did not connect (${status}). The caller is back on the line with you: tell them, and offer another way to help.`,
      }),
    );
  }

  /** The call ended: no timer outlives it. */
  dispose(): void {
    if (this.#transfer !== null) this.#clearTimer(this.#transfer);
  }

  #dial(control: CallControl, target: TransferTarget, reason: string, record: ToolCallRecord): void {
    const transfer = this.#transfer;
    if (!this.#host.live() || transfer === null) return;
    const started = this.#host.clock.now();
    transfer.state = "dialing";
    this.#setTimer(transfer, TRANSFER_OUTCOME_TIMEOUT_MS, `${target.name}: no outcome reported`, "transferred");
    control.transfer({ target, reason, transcript: [...this.#host.transcript()] }).then(
      () => {
        record.ok = true;
        record.duration_ms = Math.round(this.#host.clock.now() - started);
        this.#host.log.info({ target: target.name }, "caller redirected to the transfer target");
      },
      (err: unknown) => {
        const error = err instanceof Error ? err.message : String(err);
        record.ok = false;
        record.error = error;
        this.#host.log.warn({ err, target: target.name }, "transfer could not be started");
        this.#clearTimer(transfer);
        this.#transfer = null;
        // The stream already went (the caller hung up, or Twilio did redirect and only its answer was lost):
        // nobody is left on this side to talk to.
        if (!this.#host.hasStream()) {
          this.#host.end("stream_stopped", `transfer to ${target.name} could not be confirmed: ${error}`);
          return;
        }
        if (this.#host.live()) this.#host.sendToolResult(transfer.toolCallId, JSON.stringify({ transferred: false, error: "the transfer could not be started" }));
      },
    );
  }

  #setTimer(transfer: Transfer, ms: number, detail: string, reason: EndReason): void {
    this.#clearTimer(transfer);
    transfer.timer = setTimeout(() => this.#host.end(reason, detail), ms);
  }

  #clearTimer(transfer: Transfer): void {
    if (transfer.timer) clearTimeout(transfer.timer);
    transfer.timer = null;
  }
}
