import type { FastifyInstance, FastifyReply } from "fastify";
import type { Kysely } from "kysely";
import type { Config } from "../config.js";
import type { CallFactory, ProviderRegistry } from "../calls/callFactory.js";
import type { SessionTokens } from "../sessionToken.js";
import type { SessionRegistry } from "../../sessions/index.js";
import {
  ConflictError,
  createCallLog,
  findActiveByNumber,
  findCallLogByCallSid,
  getTenant,
  type Database,
} from "../storage/index.js";
import { checkTwilioSignature, mediaStreamUrl } from "./signature.js";
import { connectStreamTwiml, sayAndHangupTwiml } from "./twiml.js";

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
type Rejection = "unknown_number" | "agent_inactive" | "provider_unavailable";

const SORRY: Record<Rejection, string> = {
  unknown_number: "Sorry, this number is not in service.",
  agent_inactive: "Sorry, no one is available to take your call right now. Goodbye.",
  provider_unavailable: "Sorry, we cannot take your call right now. Please try again later.",
};

type VoiceParams = Record<string, string>;

function sendTwiml(reply: FastifyReply, xml: string): FastifyReply {
  return reply.code(200).type("text/xml").send(xml);
}

/** `POST /webhooks/twilio/:tenantId/voice`: answer a call with a media stream to its agent. */
export function voiceWebhookRoute(app: FastifyInstance, deps: VoiceWebhookDeps): void {
  const { config, db } = deps;
  app.post<{ Params: { tenantId: string }; Body: VoiceParams }>(
    "/webhooks/twilio/:tenantId/voice",
    { schema: { tags: ["twilio"] } },
    async (req, reply) => {
      const params = req.body ?? {};
      const check = checkTwilioSignature(
        config.twilio.authToken,
        req.headers["x-twilio-signature"],
        config.publicUrl + req.url,
        params,
      );
      if (!check.ok) {
        req.log.warn({ reason: check.reason }, "voice webhook refused: bad Twilio signature");
        return reply.code(403).send({ error: "forbidden", message: check.reason });
      }
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

      // Twilio retries a webhook that timed out: answer the same call again instead of starting another.
      const existing = await findCallLogByCallSid(db, tenantId, callSid);
      if (existing !== null) return sendTwiml(reply, retriedTwiml(deps, tenantId, existing, callSid));

      // Our number is the one called on inbound calls and the caller id on the calls we place.
      const ours = direction === "outbound" ? from : to;
      const found = await findActiveByNumber(db, tenantId, ours);
      const agent = found?.agent ?? null;
      const provider = agent ? deps.providers.get(agent.voice_provider) : undefined;
      const rejection: Rejection | null =
        found === null ? "unknown_number" : agent === null || !agent.is_active ? "agent_inactive" : provider === undefined ? "provider_unavailable" : null;

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
      deps.calls.start(tenantId, callLog, agent, provider);
      req.log.info({ callId: callLog.id, callSid, agentId: agent.id }, "call answered");
      return sendTwiml(reply, streamTwiml(deps, tenantId, callLog.id, callSid));
    },
  );
}

/** A retried webhook: a call still in progress streams again (any instance can resume it); a finished one hangs up. */
function retriedTwiml(deps: VoiceWebhookDeps, tenantId: string, existing: { id: string; ended_at: Date | null }, callSid: string): string {
  return existing.ended_at === null ? streamTwiml(deps, tenantId, existing.id, callSid) : sayAndHangupTwiml(SORRY.provider_unavailable);
}

function streamTwiml(deps: VoiceWebhookDeps, tenantId: string, callId: string, callSid: string): string {
  const token = deps.tokens!.issue(tenantId, callId, callSid);
  return connectStreamTwiml(mediaStreamUrl(deps.config.publicUrl), { token });
}
