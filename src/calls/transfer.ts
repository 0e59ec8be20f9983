/**
 * Warm transfer, the Twilio side: the transfer is written to the call log, the whisper summary starts in
 * the background, and the live call is redirected to a `<Dial>` whose number carries the whisper URL.
 * Twilio then stops the media stream; `/whisper/:callSid` and `/transfer-status` (src/twilio/transferRoutes.ts)
 * take it from there and tell the live session how it went.
 */
import { randomUUID } from "node:crypto";
import type { Kysely } from "kysely";
import type { TransferRequest } from "../../sessions/index.js";
import type { Config } from "../config.js";
import type { Logger } from "../log.js";
import { recordTransferStart, updateTransfer, type Database } from "../storage/index.js";
import { TwilioCredentialsError, twilioCredentialsFor } from "../twilio/credentials.js";
import { TwilioRestError, twilioRest, type TwilioRest } from "../twilio/rest.js";
import { dialWithWhisperTwiml } from "../twilio/twiml.js";
import { twilioWebhookUrl } from "./outbound.js";
import { E164 } from "./outboundRequest.js";
import { extractSummary, whisperSummary, WHISPER_SUMMARY_DEADLINE_MS } from "./whisperSummary.js";

/** About five rings: long enough for someone at a desk to pick up, short enough that the caller isn't left waiting before the agent takes them back. */
export const TRANSFER_DIAL_TIMEOUT_S = 25;


/** Why Twilio call control failed: one catalogue, each with whether trying again may help. */
export const CALL_CONTROL_ERRORS = {
  /** The transfer target's number is not E.164: the agent's `transfer_targets` need fixing. */
  invalid_target: { retryable: false },
  /** The call has already ended (or isn't the tenant's): there is nothing to redirect. */
  call_over: { retryable: false },
  /** No Twilio credentials for the tenant, or they can't be decrypted here. */
  twilio_unconfigured: { retryable: false },
  /** Twilio answered the request with an error of its own (bad number, permissions). */
  twilio_refused: { retryable: false },
  /** Twilio could not be reached, timed out, rate-limited or failed on its side. */
  twilio_unreachable: { retryable: true },
} as const satisfies Record<string, { retryable: boolean }>;

export type CallControlErrorCode = keyof typeof CALL_CONTROL_ERRORS;

export class CallControlError extends Error {
  override readonly name = "CallControlError";
  constructor(
    readonly code: CallControlErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }

  get retryable(): boolean {
    return CALL_CONTROL_ERRORS[this.code].retryable;
  }
}

export interface TransferDeps {
  readonly config: Config;
  readonly db: Kysely<Database>;
  readonly log: Logger;
}

/** The live call a transfer or hang-up acts on. */
export interface ControlledCall {
  readonly tenantId: string;
  /** The call log's id. */
  readonly callId: string;
  /** Twilio's CallSid of the live call. */
  readonly callSid: string;
  /** The agent's number: the caller id the transfer target sees. */
  readonly fromNumber: string;
  /** The agent's `whisper_enabled`: brief the person who answers. */
  readonly whisperEnabled: boolean;
}

export interface TransferStartRequest extends ControlledCall {
  readonly request: TransferRequest;
}

/** The tenant's Twilio REST API, or a CallControlError saying how to give it credentials. */
export async function tenantTwilioRest(deps: TransferDeps, tenantId: string): Promise<TwilioRest> {
  let creds;
  try {
    creds = await twilioCredentialsFor(deps.db, deps.config, tenantId);
  } catch (err) {
    if (!(err instanceof TwilioCredentialsError)) throw err;
    throw new CallControlError("twilio_unconfigured", `${err.message}; fix PATCHBAY_ENCRYPTION_KEY or PUT /tenants/me/twilio again`, { cause: err });
  }
  if (creds === null) {
    throw new CallControlError(
      "twilio_unconfigured",
      `tenant ${tenantId} has no Twilio credentials: PUT /tenants/me/twilio, or set TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN for the platform tenant`,
    );
  }
  return twilioRest(creds, deps.config.twilio.apiBaseUrl);
}

/** A REST failure as a CallControlError naming what was being done. */
export function controlErrorFrom(err: unknown, doing: string): CallControlError {
  if (err instanceof CallControlError) return err;
  if (err instanceof TwilioRestError) {
    const twilioSays = `Twilio ${err.status === 0 ? "was unreachable" : `answered ${err.status}${err.code === undefined ? "" : ` (code ${err.code})`}`}: ${err.message}`;
    return new CallControlError(err.retryable ? "twilio_unreachable" : "twilio_refused", `could not ${doing}: ${twilioSays}`, { cause: err });
  }
  const why = err instanceof Error ? err.message : String(err);
  return new CallControlError("twilio_unreachable", `could not ${doing}: ${why}`, { cause: err });
}

/** Where Twilio reports the dial's end and fetches the whisper, for one call. */
export function transferUrls(publicUrl: string, tenantId: string, callId: string, callSid: string): { actionUrl: string; whisperUrl: string } {
  return {
    actionUrl: twilioWebhookUrl(publicUrl, tenantId, `transfer-status?call_id=${encodeURIComponent(callId)}`),
    whisperUrl: twilioWebhookUrl(publicUrl, tenantId, `whisper/${encodeURIComponent(callSid)}`),
  };
}

/**
 * Starts a warm transfer of the live call. Resolves once Twilio has taken the new TwiML (the stream stops
 * next); rejects with a CallControlError — and marks the transfer failed in the log — when it can't start.
 */
export async function startTransfer(deps: TransferDeps, transfer: TransferStartRequest): Promise<void> {
  const { tenantId, callId, callSid, request } = transfer;
  const number = request.target.number.trim();
  if (!E164.test(number)) {
    throw new CallControlError(
      "invalid_target",
      `transfer target "${request.target.name}" has the number "${number}", which is not E.164 (+ country code, up to 15 digits): fix the agent's transfer_targets`,
    );
  }
  const rest = await tenantTwilioRest(deps, tenantId);
  const id = randomUUID();
  const reason = request.reason.trim() || request.target.reason?.trim() || "";
  // Started before the log write so the model has every millisecond until the callee answers; it never rejects.
  const summary = transfer.whisperEnabled ? summarize(deps, transfer, reason) : null;
  const extract = transfer.whisperEnabled ? extractSummary(request.transcript, request.target, reason) : null;
  const started = await recordTransferStart(deps.db, tenantId, callId, {
    id,
    target_name: request.target.name,
    number,
    reason,
    started_at: new Date().toISOString(),
    whisper_enabled: transfer.whisperEnabled,
    // The extract until the model's summary replaces it: the whisper has something to say from the start.
    summary: extract,
    summary_source: extract === null ? null : "extract",
  });
  if (!started) throw new CallControlError("call_over", `call ${callId} has already ended (or is not tenant ${tenantId}'s): nothing to transfer`);
  if (summary !== null) void storeSummary(deps, transfer, id, summary);
  await redirectToDial(deps, rest, transfer, id, number);
  deps.log.info({ callId, callSid, target: request.target.name, whisper: transfer.whisperEnabled }, "transfer dialling");
}

/** Replaces the call's TwiML with the `<Dial>`; a failure is recorded on transfer `id` and thrown. */
async function redirectToDial(deps: TransferDeps, rest: TwilioRest, transfer: TransferStartRequest, id: string, number: string): Promise<void> {
  const { tenantId, callId, callSid, request } = transfer;
  const twiml = dialWithWhisperTwiml({
    callerId: transfer.fromNumber,
    number,
    timeoutSeconds: TRANSFER_DIAL_TIMEOUT_S,
    ...transferUrls(deps.config.publicUrl, tenantId, callId, callSid),
  });
  let redirected: boolean;
  try {
    redirected = await rest.redirectCall(callSid, twiml);
  } catch (err) {
    const error = controlErrorFrom(err, `redirect call ${callSid} to dial ${request.target.name} (${number})`);
    await markNotStarted(deps, transfer, id, error.message);
    throw error;
  }
  if (!redirected) {
    const message = `call ${callSid} ended before it could be transferred to ${request.target.name}`;
    await markNotStarted(deps, transfer, id, message);
    throw new CallControlError("call_over", message);
  }
}

async function summarize(deps: TransferDeps, transfer: TransferStartRequest, reason: string) {
  const { request, callId } = transfer;
  return whisperSummary(request.transcript, request.target, reason, {
    openai: deps.config.openai,
    model: deps.config.summaryModel,
    deadlineMs: WHISPER_SUMMARY_DEADLINE_MS,
    onFallback: (why, err) =>
      err === undefined ? deps.log.info({ callId, why }, "whisper uses the transcript extract") : deps.log.warn({ callId, why, err }, "whisper uses the transcript extract"),
  });
}

/** The model's summary replaces the extract, unless another transfer of the call has begun meanwhile. */
async function storeSummary(deps: TransferDeps, transfer: TransferStartRequest, id: string, pending: ReturnType<typeof summarize>): Promise<void> {
  try {
    const summary = await pending;
    if (summary.source !== "model") return;
    await updateTransfer(deps.db, transfer.tenantId, transfer.callId, id, { summary: summary.text, summary_source: "model" });
  } catch (err) {
    deps.log.error({ err, callId: transfer.callId }, "could not store the whisper summary; the extract stays");
  }
}

async function markNotStarted(deps: TransferDeps, transfer: TransferStartRequest, id: string, error: string): Promise<void> {
  try {
    await updateTransfer(deps.db, transfer.tenantId, transfer.callId, id, {
      status: "failed",
      outcome: "redirect_failed",
      error,
      finished_at: new Date().toISOString(),
    });
  } catch (err) {
    deps.log.error({ err, callId: transfer.callId }, "could not record that the transfer did not start");
  }
}
