import type { Kysely } from "kysely";
import { CallSession, type CallerVadFactory, type CallFunctions, type Clock, type SessionRegistry } from "../../sessions/index.js";
import type { RealtimeProvider, ToolDefinition } from "../../providers/types.js";
import type { Bus } from "../bus/index.js";
import type { Config } from "../config.js";
import type { Logger } from "../log.js";
import { agentCallSettings, getAgent, getCallLog, type AgentRow, type CallLogRow, type Database } from "../storage/index.js";
import { callControlFor, agentNumberOf } from "./callControl.js";
import { loadCallFunctions } from "./callFunctions.js";
import { callLogPortFor } from "./callLogPort.js";
import { callPolicyFor } from "./callPolicy.js";
import { applyLiveCallEvent, asLiveCallEvent, callChannel } from "./outboundLiveCall.js";
import { providerConfigFor } from "./providerConfig.js";
import { fetchVoicemailAudio } from "./voicemailAudio.js";

export interface ProviderRegistry {
  /** Providers this server can run, in the order the API lists them. */
  readonly names: readonly string[];
  /** The provider for an agent's `voice_provider`, or undefined when it isn't configured here. */
  get(name: string): RealtimeProvider | undefined;
}

export interface CallFactoryDeps {
  /** The local VAD stream factory for an agent's call, once the VAD has loaded (undefined before or when off). */
  vadFor(agent: AgentRow): CallerVadFactory | undefined;
  db: Kysely<Database>;
  config: Config;
  bus: Bus;
  providers: ProviderRegistry;
  sessions: SessionRegistry;
  clock: Clock;
  log: Logger;
}

/** Builds, registers and starts a CallSession for a call log. */
export class CallFactory {
  constructor(private readonly deps: CallFactoryDeps) {}

  async start(tenantId: string, callLog: CallLogRow, agent: AgentRow, provider: RealtimeProvider): Promise<CallSession> {
    const { db, clock, config, sessions } = this.deps;
    const log = this.deps.log.child({ callId: callLog.id, callSid: callLog.twilio_call_sid, tenantId });
    const startedAt = new Date(callLog.started_at);
    const settings = agentCallSettings(agent.settings ?? {});
    const { definitions, functions } = await this.#functionsFor(tenantId, callLog, agent, log);
    // Another start for the same call won the race while functions loaded: that one is the call. Checked
    // before building ours, which would open a VAD stream and start the voicemail download for nothing.
    const live = sessions.get(callLog.id);
    if (live !== undefined) return live;
    const session = new CallSession({
      callId: callLog.id,
      callSid: callLog.twilio_call_sid,
      startedAt,
      // Monotonic start, anchored to the stored wall time so a resumed session still counts from the webhook.
      startedAtMono: clock.now() - Math.max(0, clock.wallNow().getTime() - startedAt.getTime()),
      provider,
      providerConfig: providerConfigFor(agent, callLog, definitions),
      callLogs: callLogPortFor(db, tenantId),
      clock,
      log,
      vad: this.deps.vadFor(agent),
      policy: callPolicyFor(agent, callLog, {
        amdHoldGreetingMs: config.amdHoldGreetingMs,
        fetchVoicemailAudio: (url) =>
          fetchVoicemailAudio(url, { allowHosts: config.ssrfAllowHosts }).catch((err: unknown) => {
            log.warn({ err }, "voicemail audio could not be used; the message will be spoken instead");
            return null;
          }),
      }),
      control: callControlFor(
        { config, db, log },
        { tenantId, callId: callLog.id, callSid: callLog.twilio_call_sid, fromNumber: agentNumberOf(callLog), whisperEnabled: settings.whisper_enabled },
      ),
      ...(functions !== undefined ? { functions } : {}),
    });
    sessions.add(session);
    this.#listen(session, log);
    session.start();
    return session;
  }

  /** The agent's custom functions; a library that can't be read costs the call its functions, not the call. */
  async #functionsFor(
    tenantId: string,
    callLog: CallLogRow,
    agent: AgentRow,
    log: Logger,
  ): Promise<{ definitions: ToolDefinition[]; functions: CallFunctions | undefined }> {
    try {
      return await loadCallFunctions(this.deps.db, this.deps.config, tenantId, agent.id, {
        callId: callLog.id,
        callSid: callLog.twilio_call_sid,
        direction: callLog.direction,
        from: callLog.from_number,
        to: callLog.to_number,
      });
    } catch (err) {
      log.error({ err }, "could not load the agent's functions; the call goes on without them");
      return { definitions: [], functions: undefined };
    }
  }

  /** Twilio's callbacks for this call may land on another instance: they reach the session over the bus. */
  #listen(session: CallSession, log: Logger): void {
    this.deps.bus
      .subscribe(callChannel(session.callId), (message) => {
        const event = asLiveCallEvent(message);
        if (event === null) log.warn({}, "ignored a malformed live-call event from the bus");
        else applyLiveCallEvent(session, event);
      })
      .then(
        (unsubscribe) => void session.ended.finally(() => void unsubscribe().catch(() => {})),
        (err: unknown) => log.warn({ err }, "could not subscribe to this call's bus channel; callbacks from other instances won't reach it"),
      );
  }

  /**
   * The media stream reached an instance that didn't answer the webhook (or restarted since): rebuild the
   * session from the store. Null when the call is unknown, already finished, or its provider is missing.
   */
  async resume(tenantId: string, callId: string): Promise<CallSession | null> {
    const live = this.deps.sessions.get(callId);
    if (live) return live;
    const callLog = await getCallLog(this.deps.db, tenantId, callId);
    if (callLog === null || callLog.ended_at !== null || callLog.agent_id === null) return null;
    const agent = await getAgent(this.deps.db, tenantId, callLog.agent_id);
    const provider = agent ? this.deps.providers.get(agent.voice_provider) : undefined;
    if (agent === null || provider === undefined) return null;
    this.deps.log.info({ callId }, "resuming a call whose webhook another instance answered");
    return this.deps.sessions.get(callId) ?? (await this.start(tenantId, callLog, agent, provider));
  }
}
