/**
 * Twilio's side of a warm transfer (src/calls/transfer.ts starts it): the whisper URL Twilio fetches when
 * the callee answers, and the `<Dial action>` it posts when the dial ends. Both are signed with the
 * tenant's auth token (403 otherwise), read and write only the database (any instance can serve them),
 * and tell the live call what happened over `deliverToLiveCall`.
 */
import type { FastifyBaseLogger, FastifyInstance } from "fastify";
import { deliverToLiveCall, type LiveCallEvent } from "../calls/outboundLiveCall.js";
import { sayable } from "../calls/whisperSummary.js";
import { errorResponseSchema } from "../http/errors.js";
import type { AppServices } from "../http/services.js";
import { dialConnected, isTerminalStatus, markTransferAnswered, recordDialOutcome, type DialOutcomeResult, type TransferRecord } from "../storage/index.js";
import { streamTwiml } from "./streamTwiml.js";
import { requireTwilioSignature } from "./tenantSignature.js";
import { forbiddenResponse as forbidden, formBody, sendTwiml, tenantParams, twimlResponse as twiml, wholeNumber } from "./routeParts.js";
import { emptyTwiml, hangupTwiml, sayAndHangupTwiml, sayTwiml } from "./twiml.js";

type DialForm = { CallSid?: string; CallStatus?: string; DialCallStatus?: string; DialCallSid?: string; DialCallDuration?: string };

/** What the caller hears when the transfer failed and they can't be put back on the agent. */
const NOT_CONNECTED = "Sorry, we could not connect your call. Please try again later. Goodbye.";


export function twilioTransferRoutes(app: FastifyInstance, services: AppServices): void {
  const signed = requireTwilioSignature(services);

  app.route<{ Params: { tenantId: string; callSid: string } }>({
    method: ["GET", "POST"],
    url: "/webhooks/twilio/:tenantId/whisper/:callSid",
    preValidation: signed,
    schema: {
      tags: ["twilio"],
      summary: "Whisper for a transfer's callee",
      description:
        "Twilio fetches it when the person a call is transferred to answers (`<Number url>`): the call's transfer is marked answered, " +
        "the live call told, and the callee hears a 2–3 sentence summary before the bridge (with the agent's whisper_enabled). " +
        "Whisper off, an unknown call or any error: an empty `<Response/>`, which bridges at once.",
      params: {
        type: "object",
        required: ["tenantId", "callSid"],
        properties: { tenantId: { type: "string" }, callSid: { type: "string", description: "The transferred (parent) call's CallSid" } },
      },
      response: { 200: twiml("TwiML: `<Say>` with the summary, or an empty `<Response/>`"), 403: forbidden },
    },
    handler: async (req, reply) => sendTwiml(reply, await whisperTwiml(services, req.params.tenantId, req.params.callSid, req.log)),
  });

  app.post<{ Params: { tenantId: string }; Querystring: { call_id: string }; Body: DialForm }>(
    "/webhooks/twilio/:tenantId/transfer-status",
    {
      preValidation: signed,
      schema: {
        tags: ["twilio"],
        summary: "Transfer dial result",
        description:
          "The transfer's `<Dial action>`: DialCallStatus and DialCallDuration are stored on the call's transfer. " +
          "busy, no-answer, failed or canceled put the caller back on the agent (a fresh media stream); completed or answered hang up. " +
          "A final CallStatus (the caller hung up while it rang) ends the live call at once.",
        params: tenantParams,
        querystring: { type: "object", required: ["call_id"], properties: { call_id: { type: "string", description: "The transferred call's log" } } },
        body: formBody([], {
          CallSid: { type: "string" },
          CallStatus: { type: "string" },
          DialCallStatus: { type: "string" },
          DialCallSid: { type: "string" },
          DialCallDuration: { type: "string" },
        }),
        response: {
          200: twiml("TwiML: `<Connect><Stream>` back to the agent, or `<Hangup/>`"),
          403: forbidden,
          422: { description: "call_id missing", content: { "application/json": { schema: errorResponseSchema } } },
        },
      },
    },
    async (req, reply) => sendTwiml(reply, await dialEndedTwiml(services, req.params.tenantId, req.query.call_id, req.body ?? {}, req.log)),
  );
}

/** The whisper's TwiML; never throws (an error is logged and answered with an empty whisper). */
async function whisperTwiml(services: AppServices, tenantId: string, callSid: string, log: FastifyBaseLogger): Promise<string> {
  let answered;
  try {
    answered = await markTransferAnswered(services.db, tenantId, callSid, services.clock.wallNow());
  } catch (err) {
    log.error({ err, callSid }, "whisper: could not read the call's transfer; answering an empty whisper");
    return emptyTwiml();
  }
  if (answered === null || answered.transfer === null) {
    log.warn({ tenantId, callSid }, "whisper for a call with no transfer; answering an empty whisper");
    return emptyTwiml();
  }
  await deliver(services, answered.callId, { type: "transfer_answered" }, log);
  const text = whisperText(answered.transfer);
  log.info({ callId: answered.callId, callSid, whisper: text !== null, source: answered.transfer.summary_source }, "transfer answered");
  return text === null ? emptyTwiml() : sayTwiml(text);
}

function whisperText(transfer: TransferRecord): string | null {
  if (transfer.whisper_enabled !== true || typeof transfer.summary !== "string") return null;
  const text = sayable(transfer.summary);
  return text === "" ? null : text;
}

/** The `<Dial action>`'s TwiML: back to the agent when nobody was bridged, else hang up. */
async function dialEndedTwiml(services: AppServices, tenantId: string, callId: string, form: DialForm, log: FastifyBaseLogger): Promise<string> {
  // Twilio always sends DialCallStatus; without it, assume the worst and give the caller back to the agent.
  const sent = form.DialCallStatus ?? "failed";
  let result: DialOutcomeResult | null = null;
  let stored = true;
  try {
    result = await recordDialOutcome(services.db, tenantId, callId, {
      dialStatus: sent,
      durationSeconds: wholeNumber(form.DialCallDuration),
      dialCallSid: form.DialCallSid ?? null,
      at: services.clock.wallNow(),
    });
  } catch (err) {
    // The caller is still on the line: answer from what Twilio sent rather than drop them.
    stored = false;
    log.error({ err, callId, status: sent }, "transfer-status: could not store the dial outcome");
  }
  // A replayed or contradictory action follows the outcome stored first.
  const status = result?.transfer?.outcome ?? sent;
  const connected = dialConnected(status);
  if (stored && result === null) {
    log.warn({ tenantId, callId, status }, "transfer-status for a call we have no log of");
    return connected ? hangupTwiml() : sayAndHangupTwiml(NOT_CONNECTED);
  }
  log.info({ callId, status, durationSeconds: form.DialCallDuration, target: result?.transfer?.target_name }, "transfer dial ended");
  if (connected) {
    await deliver(services, callId, { type: "transfer_answered" }, log);
    return hangupTwiml();
  }
  // A final parent status means the caller hung up while the target rang; a log Twilio's status callback
  // already closed can't take the caller back either. The live call need not wait for a stream.
  const callerGone = form.CallStatus !== undefined && isTerminalStatus(form.CallStatus);
  const logClosed = result?.endedAt != null;
  await deliver(services, callId, callerGone || logClosed ? { type: "transfer_failed", status, caller_gone: true } : { type: "transfer_failed", status }, log);
  if (callerGone) return hangupTwiml();
  const callSid = result?.callSid ?? form.CallSid;
  if (logClosed || callSid === undefined || services.tokens === undefined) {
    log.warn({ callId, ended: logClosed, token: services.tokens !== undefined }, "transfer failed and the caller can't go back to the agent");
    return sayAndHangupTwiml(NOT_CONNECTED);
  }
  return streamTwiml(services, tenantId, callId, callSid);
}

async function deliver(services: AppServices, callId: string, event: LiveCallEvent, log: FastifyBaseLogger): Promise<void> {
  try {
    await deliverToLiveCall(services, callId, event);
  } catch (err) {
    log.error({ err, callId, event: event.type }, "could not hand a transfer event to the live call");
  }
}
