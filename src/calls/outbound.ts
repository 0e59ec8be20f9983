/**
 * Places an outbound call: checks the agent, the numbers and the variables, writes the call log, then asks
 * Twilio to dial with our voice webhook, status callback and (when the agent wants it) async AMD. The log
 * exists before Twilio is asked so that a webhook arriving fast still finds it.
 */
import type { Kysely } from "kysely";
import type { Clock } from "../../sessions/index.js";
import type { Config } from "../config.js";
import type { Logger } from "../log.js";
import { agentCallSettings } from "../storage/agentSettings.js";
import {
  createOutboundCallLog,
  failPlacedCall,
  getAgent,
  getPhoneNumber,
  listAgentPhoneNumbers,
  recordPlacedCallSid,
  type AgentRow,
  type CallLogRow,
  type Database,
  type PhoneNumberRow,
} from "../storage/index.js";
import type { TwilioCredentials } from "../twilio/credentials.js";
import { TwilioRestError, type CallCreateParams, type TwilioRest } from "../twilio/rest.js";
import type { ProviderRegistry } from "./callFactory.js";
import { invalidField, OutboundError } from "./outboundErrors.js";
import type { OutboundRateLimiter } from "./outboundRateLimit.js";
import type { OutboundRequest } from "./outboundRequest.js";
import { missingRequired } from "./outboundVariables.js";

export interface OutboundDeps {
  config: Config;
  db: Kysely<Database>;
  log: Logger;
  clock: Clock;
  providers: ProviderRegistry;
  limiter: OutboundRateLimiter;
  /** The tenant's Twilio account; null when none is configured. */
  credentials(tenantId: string): Promise<TwilioCredentials | null>;
  rest(credentials: TwilioCredentials): TwilioRest;
}

/** The reference's OutboundCallResponse. */
export interface PlacedOutboundCall {
  call_id: string;
  call_sid: string;
  status: string;
  from_number: string;
  to_number: string;
  agent_id: string;
  initiated_at: string;
}

/** Retry-After at the concurrency cap: a guess, since a slot frees only when some call ends (calls last minutes). */
export const CONCURRENCY_RETRY_AFTER_S = 30;

/** Twilio status callback events we ask for: every step a placed call takes. */
export const STATUS_CALLBACK_EVENTS = ["initiated", "ringing", "answered", "completed"];

/** `<PUBLIC_URL>/webhooks/twilio/<tenant>/<name>`: where Twilio reaches this tenant. */
export function twilioWebhookUrl(publicUrl: string, tenantId: string, name: string): string {
  return `${publicUrl}/webhooks/twilio/${encodeURIComponent(tenantId)}/${name}`;
}

/** The exact `calls.create` parameters for a placed call. */
export function callCreateParams(publicUrl: string, tenantId: string, log: CallLogRow, amdEnabled: boolean): CallCreateParams {
  // Every URL names our log: Twilio's callbacks may arrive before its REST answer tells us the CallSid.
  const url = (name: string) => `${twilioWebhookUrl(publicUrl, tenantId, name)}?call_id=${encodeURIComponent(log.id)}`;
  return {
    to: log.to_number,
    from: log.from_number,
    url: url("voice"),
    method: "POST",
    statusCallback: url("status"),
    statusCallbackEvent: STATUS_CALLBACK_EVENTS,
    statusCallbackMethod: "POST",
    // DetectMessageEnd waits for the greeting's end, so a voicemail message lands after the beep.
    ...(amdEnabled
      ? { machineDetection: "DetectMessageEnd", asyncAmd: "true", asyncAmdStatusCallback: url("amd-status"), asyncAmdStatusCallbackMethod: "POST" }
      : {}),
  };
}

async function callableAgent(deps: OutboundDeps, tenantId: string, agentId: string): Promise<AgentRow> {
  const agent = await getAgent(deps.db, tenantId, agentId);
  if (agent === null) throw new OutboundError("not_found", "agent not found");
  if (!agent.is_active) throw new OutboundError("agent_unavailable", `agent "${agent.name}" is inactive; activate it to place calls`);
  const mode = agentCallSettings(agent.settings).agent_mode;
  if (mode === "inbound") {
    throw new OutboundError("agent_unavailable", `agent "${agent.name}" takes inbound calls only (agent_mode "inbound"); set agent_mode to "outbound" or "both"`);
  }
  if (deps.providers.get(agent.voice_provider) === undefined) {
    throw new OutboundError("provider_unavailable", `voice provider "${agent.voice_provider}" has no credentials on this server`);
  }
  return agent;
}

async function fromNumber(deps: OutboundDeps, tenantId: string, agent: AgentRow, phoneNumberId: string | null): Promise<PhoneNumberRow> {
  if (phoneNumberId !== null) {
    const number = await getPhoneNumber(deps.db, tenantId, phoneNumberId);
    if (number === null) throw new OutboundError("not_found", "phone number not found");
    if (!number.is_active) throw invalidField(["body", "from_phone_number_id"], `${number.phone_number} is inactive`);
    return number;
  }
  const assigned = (await listAgentPhoneNumbers(deps.db, tenantId, agent.id)).find((n) => n.is_active);
  if (assigned === undefined) {
    throw invalidField(["body", "from_phone_number_id"], `agent "${agent.name}" has no active phone number to call from; assign one or pass from_phone_number_id`, "missing");
  }
  return assigned;
}

async function credentialsFor(deps: OutboundDeps, tenantId: string): Promise<TwilioCredentials> {
  let creds: TwilioCredentials | null;
  try {
    creds = await deps.credentials(tenantId);
  } catch (err) {
    // The detail (which key, why it won't decrypt) is for the operator's log, not the API caller.
    deps.log.error({ err, tenantId }, "tenant's Twilio credentials could not be read");
    throw new OutboundError("twilio_unconfigured", "the tenant's Twilio credentials can't be used right now; the server log has the reason", {}, { cause: err });
  }
  if (creds === null) {
    throw new OutboundError("twilio_unconfigured", "no Twilio credentials: set the tenant's Twilio account, or TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN on the server");
  }
  return creds;
}

/** Places the call; throws OutboundError for every reason it was not placed. */
export async function placeOutboundCall(deps: OutboundDeps, tenantId: string, req: OutboundRequest): Promise<PlacedOutboundCall> {
  const agent = await callableAgent(deps, tenantId, req.agentId);
  const settings = agentCallSettings(agent.settings);
  const from = await fromNumber(deps, tenantId, agent, req.fromPhoneNumberId);
  const inputs = { context: req.context, dynamicVariables: req.dynamicVariables };
  const missing = missingRequired(settings.variable_definitions, inputs);
  if (missing.length > 0) {
    const issues = missing.map((name) => ({ loc: ["body", "dynamic_variables", name], msg: "required by the agent's variable_definitions", type: "missing" }));
    throw new OutboundError("invalid_request", `missing required variables: ${missing.join(", ")}`, { issues });
  }
  const creds = await credentialsFor(deps, tenantId);

  const rate = deps.limiter.take(tenantId);
  if (!rate.ok) {
    throw new OutboundError("rate_limited", `at most ${deps.config.outbound.ratePerMinute} outbound calls per minute; retry in ${rate.retryAfterSeconds} s`, {
      retryAfterSeconds: rate.retryAfterSeconds,
    });
  }
  const initiatedAt = deps.clock.wallNow();
  let log: Awaited<ReturnType<typeof createOutboundCallLog>>;
  try {
    log = await createOutboundCallLog(
      deps.db,
      tenantId,
      {
        agent_id: agent.id,
        phone_number_id: from.id,
        from_number: from.phone_number,
        to_number: req.toNumber,
        status: "initiated",
        started_at: initiatedAt,
        voice_provider: agent.voice_provider,
        metadata: { initiated_at: initiatedAt.toISOString(), context: req.context, dynamic_variables: req.dynamicVariables },
      },
      deps.config.outbound.maxConcurrent,
    );
  } catch (err) {
    // Nothing was placed: the minute's slot goes back.
    deps.limiter.giveBack(tenantId);
    throw err;
  }
  if (log === null) {
    deps.limiter.giveBack(tenantId);
    throw new OutboundError("too_many_calls", `at most ${deps.config.outbound.maxConcurrent} outbound calls may be in progress at once; retry when one ends`, {
      retryAfterSeconds: CONCURRENCY_RETRY_AFTER_S,
    });
  }
  return dial(deps, tenantId, log, settings.amd_enabled, creds);
}

async function dial(deps: OutboundDeps, tenantId: string, log: CallLogRow, amdEnabled: boolean, creds: TwilioCredentials): Promise<PlacedOutboundCall> {
  const params = callCreateParams(deps.config.publicUrl, tenantId, log, amdEnabled);
  let sid: string;
  try {
    sid = (await deps.rest(creds).createCall(params)).sid;
  } catch (err) {
    const rest = err instanceof TwilioRestError ? err : new TwilioRestError(0, undefined, String(err), undefined, { cause: err });
    if (rest.status === 0) {
      // No answer (timeout, network): Twilio may still have placed the call. The log stays open so its
      // webhook can claim it; the caller is told the outcome is unknown rather than invited to retry.
      deps.log.warn({ callId: log.id, err: rest.message }, "no answer from Twilio placing an outbound call; outcome unknown");
      throw new OutboundError(
        "twilio_unreachable",
        `no answer from Twilio: the call may or may not have been placed; check GET /calls/${log.id} before retrying`,
        { callId: log.id },
        { cause: rest },
      );
    }
    await failPlacedCall(deps.db, tenantId, log.id, deps.clock.wallNow(), {
      end_reason: "twilio_refused",
      end_detail: rest.message,
      ...(rest.code !== undefined ? { twilio_error_code: rest.code } : {}),
    });
    deps.log.warn({ callId: log.id, twilioStatus: rest.status, twilioCode: rest.code, reason: rest.message }, "Twilio refused an outbound call");
    throw new OutboundError("twilio_refused", `Twilio refused the call: ${rest.message}`, { callId: log.id }, { cause: rest });
  }
  await recordPlacedCallSid(deps.db, tenantId, log.id, sid);
  deps.log.info({ callId: log.id, callSid: sid, agentId: log.agent_id }, "outbound call placed");
  return {
    call_id: log.id,
    call_sid: sid,
    status: log.status,
    from_number: log.from_number,
    to_number: log.to_number,
    agent_id: log.agent_id!,
    initiated_at: log.started_at.toISOString(),
  };
}
