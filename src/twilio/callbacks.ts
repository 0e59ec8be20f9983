/**
 * Twilio's callbacks about the calls we place: `/status`, `/recording`, `/amd-status`. Each is signed
 * (403 otherwise), each update is one idempotent statement, and an unknown CallSid is answered 200 so
 * Twilio doesn't retry what will never match.
 */
import type { FastifyInstance, FastifyRequest } from "fastify";
import { deliverToLiveCall } from "../calls/outboundLiveCall.js";
import { errorResponseSchema } from "../http/errors.js";
import type { AppServices } from "../http/services.js";
import {
  applyCallStatus,
  recordPlacedCallSid,
  isTerminalStatus,
  recordAnsweredBy,
  recordRecording,
  TWILIO_CALL_STATUSES,
  type TwilioCallStatus,
} from "../storage/index.js";
import { formBody, tenantParams, wholeNumber } from "./routeParts.js";
import { requireTwilioSignature } from "./tenantSignature.js";

// The params each callback reads; the schema makes the required ones present.
type CallbackRequest<B> = FastifyRequest<{ Params: { tenantId: string }; Body: B }>;
type StatusForm = { CallSid: string; CallStatus: string; CallDuration?: string; Timestamp?: string };
type RecordingForm = { CallSid: string; RecordingUrl: string; RecordingSid?: string; RecordingDuration?: string };
type AmdForm = { CallSid: string; AnsweredBy: string; MachineDetectionDuration?: string };

/** Final statuses of a call nobody answered: no media stream will ever come. */
const NOT_ANSWERED = new Set(["busy", "no-answer", "failed", "canceled"]);

const params = tenantParams;

const received = { type: "object", required: ["received"], properties: { received: { type: "boolean" } } } as const;
const responses = { 200: received, 403: errorResponseSchema, 422: errorResponseSchema };


/** Twilio's Timestamp (RFC 2822); now when absent or unreadable. */
function eventTime(value: string | undefined, now: Date): Date {
  const at = value === undefined ? Number.NaN : Date.parse(value);
  return Number.isNaN(at) ? now : new Date(at);
}

function isTwilioStatus(value: string): value is TwilioCallStatus {
  return (TWILIO_CALL_STATUSES as readonly string[]).includes(value);
}

export function twilioCallbackRoutes(app: FastifyInstance, services: AppServices): void {
  const { db, clock } = services;
  const common = {
    preValidation: requireTwilioSignature(services),
    // A callback can beat the REST answer that gives a placed call's log its SID: the call_id we put on
    // the callback URL lets the log adopt the SID first, so the update isn't lost.
    preHandler: async (req: FastifyRequest) => {
      const callId = (req.query as { call_id?: unknown }).call_id;
      const callSid = (req.body as { CallSid?: unknown } | undefined)?.CallSid;
      const { tenantId } = req.params as { tenantId: string };
      if (typeof callId === "string" && typeof callSid === "string") await recordPlacedCallSid(db, tenantId, callId, callSid);
    },
  };

  app.post(
    "/webhooks/twilio/:tenantId/status",
    {
      ...common,
      schema: {
        tags: ["twilio"],
        summary: "Twilio call status callback",
        description: "Status, duration and end time of a placed call. Statuses only move forward; final ones are never overwritten.",
        params,
        body: formBody(["CallSid", "CallStatus"], { CallSid: { type: "string" }, CallStatus: { type: "string" }, CallDuration: { type: "string" }, Timestamp: { type: "string" } }),
        response: responses,
      },
    },
    async (req: CallbackRequest<StatusForm>) => {
      const { tenantId } = req.params;
      const { CallSid: callSid, CallStatus: status } = req.body;
      if (!isTwilioStatus(status)) {
        req.log.warn({ callSid, status }, "status callback with a status we don't know; ignored");
        return { received: true };
      }
      const terminal = isTerminalStatus(status);
      const at = eventTime(req.body.Timestamp, clock.wallNow());
      const row = await applyCallStatus(db, tenantId, callSid, { status, at, durationSeconds: terminal ? wholeNumber(req.body.CallDuration) : null });
      if (row === null) {
        req.log.warn({ tenantId, callSid, status }, "status callback for a call we have no log of; ignored");
        return { received: true };
      }
      if (row.status !== status) req.log.debug({ callId: row.id, callSid, status, kept: row.status }, "stale status callback; kept the later status");
      if (NOT_ANSWERED.has(status)) await deliverToLiveCall(services, row.id, { type: "not_answered", status });
      return { received: true };
    },
  );

  app.post(
    "/webhooks/twilio/:tenantId/recording",
    {
      ...common,
      schema: {
        tags: ["twilio"],
        summary: "Twilio recording callback",
        description: "Stores the recording's URL and duration on the call log.",
        params,
        body: formBody(["CallSid", "RecordingUrl"], {
          CallSid: { type: "string" },
          RecordingUrl: { type: "string" },
          RecordingSid: { type: "string" },
          RecordingDuration: { type: "string" },
        }),
        response: responses,
      },
    },
    async (req: CallbackRequest<RecordingForm>) => {
      const { tenantId } = req.params;
      const { CallSid: callSid, RecordingUrl: url } = req.body;
      const id = await recordRecording(db, tenantId, callSid, {
        url,
        recordingSid: req.body.RecordingSid ?? null,
        durationSeconds: wholeNumber(req.body.RecordingDuration),
      });
      if (id === null) req.log.warn({ tenantId, callSid }, "recording callback for a call we have no log of; ignored");
      return { received: true };
    },
  );

  app.post(
    "/webhooks/twilio/:tenantId/amd-status",
    {
      ...common,
      schema: {
        tags: ["twilio"],
        summary: "Twilio answering-machine detection result",
        description: "Stores AnsweredBy and MachineDetectionDuration and hands them to the live call.",
        params,
        body: formBody(["CallSid", "AnsweredBy"], { CallSid: { type: "string" }, AnsweredBy: { type: "string" }, MachineDetectionDuration: { type: "string" } }),
        response: responses,
      },
    },
    async (req: CallbackRequest<AmdForm>) => {
      const { tenantId } = req.params;
      const { CallSid: callSid, AnsweredBy: answeredBy } = req.body;
      const detectionMs = wholeNumber(req.body.MachineDetectionDuration);
      const id = await recordAnsweredBy(db, tenantId, callSid, { answeredBy, detectionMs });
      if (id === null) {
        req.log.warn({ tenantId, callSid }, "amd-status callback for a call we have no log of; ignored");
        return { received: true };
      }
      const where = await deliverToLiveCall(services, id, { type: "answered_by", answered_by: answeredBy, detection_ms: detectionMs });
      req.log.info({ callId: id, callSid, answeredBy, detectionMs, deliveredTo: where }, "answering machine detection");
      return { received: true };
    },
  );
}
