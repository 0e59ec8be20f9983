import type { FastifyBaseLogger, FastifyInstance } from "fastify";
import { agentCallSettings } from "../storage/agentSettings.js";
import type { Kysely } from "kysely";
import type { Config } from "../config.js";
import type { CallFactory, ProviderRegistry } from "../calls/callFactory.js";
import type { SessionTokens } from "../sessionToken.js";
import type { SessionRegistry } from "../../sessions/index.js";
import {
  claimPlacedCall,
  ConflictError,
  createCallLog,
  findActiveByNumber,
  findCallLogByCallSid,
  finishCallLog,
  getAgent,
  getTenant,
  type CallLogRow,
  type Database,
} from "../storage/index.js";
import { disclosureFor, streamTwiml } from "./streamTwiml.js";
import { forbiddenResponse, sendTwiml, twimlResponse } from "./routeParts.js";
import { requireTwilioSignature } from "./tenantSignature.js";
import { sayAndHangupTwiml } from "./twiml.js";

export interface VoiceWebhookDeps {
  config: Config;
  db: Kysely<Database>;
  tokens: SessionTokens | undefined;
  providers: ProviderRegistry;
  sessions: SessionRegistry;
  calls: CallFactory;
  /** True while the server drains for shutdown. */
  draining(): boolean;
}

/** Why we refused a call at the webhook: stored as the call log's `end_reason`. */
type Rejection = "unknown_number" | "agent_inactive" | "agent_outbound_only" | "provider_unavailable";

const SORRY: Record<Rejection, string> = {
  unknown_number: "Sorry, this number is not in service.",
  agent_inactive: "Sorry, no one is available to take your call right now. Goodbye.",
  agent_outbound_only: "Sorry, this number does not take calls. Goodbye.",
  provider_unavailable: "Sorry, we cannot take your call right now. Please try again later.",
};

type VoiceParams = Record<string, string>;


/** `POST /webhooks/twilio/:tenantId/voice`: answer a call with a media stream to its agent. */
export function voiceWebhookRoute(app: FastifyInstance, deps: VoiceWebhookDeps): void {
  const { db } = deps;
  app.post<{ Params: { tenantId: string }; Querystring: { call_id?: string }; Body: VoiceParams }>(
    "/webhooks/twilio/:tenantId/voice",
    {
      // Signed with the auth token of the tenant's own Twilio account when it has one.
      preValidation: requireTwilioSignature(deps),
      schema: {
        tags: ["twilio"],
        summary: "Twilio voice webhook",
        description: "Answers a call with a media stream to its agent. Calls we place carry ?call_id= naming their call log.",
        querystring: { type: "object", properties: { call_id: { type: "string", description: "The placed call's log (outbound calls)" } } },
        response: {
          200: twimlResponse("TwiML: a media stream to the agent, or an apology and hang-up"),
          403: forbiddenResponse,
        },
      },
    },
    async (req, reply) => {
      const params = req.body ?? {};
      // A 5xx makes Twilio try the number's fallback URL (another instance) instead of a dying one.
      if (deps.draining()) {
        return reply.code(503).header("retry-after", "5").send({ error: "draining", message: "server is shutting down" });
      }
      const { tenantId } = req.params;
      if ((await getTenant(db, tenantId)) === null) {
        return reply.code(404).send({ error: "not_found", message: "tenant not found" });
      }
      const callSid = params.CallSid;
      const to = params.To;
      const from = params.From;
      if (!callSid || !to || !from) {
        return reply.code(400).send({ error: "bad_request", message: "CallSid, From and To are required" });
      }
      if (!deps.tokens) {
        req.log.error("no session secret: set SESSION_SECRET or TWILIO_AUTH_TOKEN");
        return sendTwiml(reply, sayAndHangupTwiml(SORRY.provider_unavailable));
      }
      const direction = params.Direction?.startsWith("outbound") ? "outbound" : "inbound";

      // A call we placed: its log was written at placement; the first delivery of this webhook claims it.
      const callId = req.query.call_id;
      if (direction === "outbound" && callId !== undefined) {
        const placed = await claimPlacedCall(db, tenantId, callId, callSid, new Date());
        if (placed !== null) return sendTwiml(reply, await answerPlacedCall(deps, req.log, tenantId, placed));
      }

      // Twilio retries a webhook that timed out: answer the same call again instead of starting another.
      const existing = await findCallLogByCallSid(db, tenantId, callSid);
      if (existing !== null) return sendTwiml(reply, retriedTwiml(deps, tenantId, existing, callSid));
      // A call we placed whose log can't be claimed (given up on, or not this tenant's): never answer it as
      // some other agent without its context; hang up.
      if (direction === "outbound" && callId !== undefined) {
        req.log.warn({ callId }, "placed call's log could not be claimed; hanging up");
        return sendTwiml(reply, sayAndHangupTwiml(SORRY.provider_unavailable));
      }

      // Our number is the one called on inbound calls and the caller id on the calls we place.
      const ours = direction === "outbound" ? from : to;
      const found = await findActiveByNumber(db, tenantId, ours);
      const agent = found?.agent ?? null;
      const provider = agent ? deps.providers.get(agent.voice_provider) : undefined;
      const rejection: Rejection | null =
        found === null
          ? "unknown_number"
          : agent === null || !agent.is_active
            ? "agent_inactive"
            : direction === "inbound" && agentCallSettings(agent.settings).agent_mode === "outbound"
              ? "agent_outbound_only"
              : provider === undefined
                ? "provider_unavailable"
                : null;

      const now = new Date();
      let callLog;
      try {
        callLog = await createCallLog(db, tenantId, {
          agent_id: agent?.id ?? null,
          phone_number_id: found?.phoneNumber.id ?? null,
          twilio_call_sid: callSid,
          direction,
          from_number: from,
          to_number: to,
          status: rejection ? "failed" : "ringing",
          started_at: now,
          ended_at: rejection ? now : null,
          duration_seconds: rejection ? 0 : null,
          voice_provider: agent?.voice_provider ?? null,
          metadata: rejection ? { end_reason: rejection } : {},
        });
      } catch (err) {
        // Two deliveries of the same webhook raced: the other one created the log; answer like a retry.
        const raced = err instanceof ConflictError ? await findCallLogByCallSid(db, tenantId, callSid) : null;
        if (raced === null) throw err;
        return sendTwiml(reply, retriedTwiml(deps, tenantId, raced, callSid));
      }

      if (rejection !== null || agent === null || provider === undefined) {
        req.log.warn({ callSid, number: ours, reason: rejection, voiceProvider: agent?.voice_provider }, "call rejected");
        return sendTwiml(reply, sayAndHangupTwiml(SORRY[rejection ?? "provider_unavailable"]));
      }

      // Connect the provider now, while Twilio opens the stream: it saves seconds on the first turn.
      await deps.calls.start(tenantId, callLog, agent, provider);
      req.log.info({ callId: callLog.id, callSid, agentId: agent.id }, "call answered");
      return sendTwiml(reply, streamTwiml(deps, tenantId, callLog.id, callSid, disclosureFor(agent)));
    },
  );
}

/** The first voice webhook of a call we placed: start its session with the agent it was placed for. */
async function answerPlacedCall(
  deps: VoiceWebhookDeps,
  log: FastifyBaseLogger,
  tenantId: string,
  placed: CallLogRow,
): Promise<string> {
  const agent = placed.agent_id === null ? null : await getAgent(deps.db, tenantId, placed.agent_id);
  const provider = agent ? deps.providers.get(agent.voice_provider) : undefined;
  if (agent === null || !agent.is_active || provider === undefined) {
    // Deactivated (or its provider removed) between placing the call and the answer.
    const reason: Rejection = agent === null || !agent.is_active ? "agent_inactive" : "provider_unavailable";
    await finishCallLog(deps.db, tenantId, placed.id, { status: "failed", endedAt: new Date(), durationSeconds: 0, transcript: [], metadata: { end_reason: reason } });
    log.warn({ callId: placed.id, callSid: placed.twilio_call_sid, reason }, "placed call rejected at answer");
    return sayAndHangupTwiml(SORRY[reason]);
  }
  await deps.calls.start(tenantId, placed, agent, provider);
  log.info({ callId: placed.id, callSid: placed.twilio_call_sid, agentId: agent.id }, "placed call answered");
  return streamTwiml(deps, tenantId, placed.id, placed.twilio_call_sid, disclosureFor(agent));
}

/** A retried webhook: a call still in progress streams again (any instance can resume it); a finished one hangs up. */
function retriedTwiml(deps: VoiceWebhookDeps, tenantId: string, existing: { id: string; ended_at: Date | null }, callSid: string): string {
  return existing.ended_at === null ? streamTwiml(deps, tenantId, existing.id, callSid) : sayAndHangupTwiml(SORRY.provider_unavailable);
}
