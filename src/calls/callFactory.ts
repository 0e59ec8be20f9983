import type { Kysely } from "kysely";
import { CallSession, type CallerVadFactory, type Clock, type SessionRegistry } from "../../sessions/index.js";
import type { RealtimeProvider } from "../../providers/types.js";
import type { Logger } from "../log.js";
import { getAgent, getCallLog, type AgentRow, type CallLogRow, type Database } from "../storage/index.js";
import { callLogPortFor } from "./callLogPort.js";
import { providerConfigFor } from "./providerConfig.js";

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
  providers: ProviderRegistry;
  sessions: SessionRegistry;
  clock: Clock;
  log: Logger;
}

/** Builds, registers and starts a CallSession for a call log. */
export class CallFactory {
  constructor(private readonly deps: CallFactoryDeps) {}

  start(tenantId: string, callLog: CallLogRow, agent: AgentRow, provider: RealtimeProvider): CallSession {
    const { db, clock, log, sessions } = this.deps;
    const startedAt = new Date(callLog.started_at);
    const session = new CallSession({
      callId: callLog.id,
      callSid: callLog.twilio_call_sid,
      startedAt,
      // Monotonic start, anchored to the stored wall time so a resumed session still counts from the webhook.
      startedAtMono: clock.now() - Math.max(0, clock.wallNow().getTime() - startedAt.getTime()),
      provider,
      providerConfig: providerConfigFor(agent, callLog),
      callLogs: callLogPortFor(db, tenantId),
      clock,
      log: log.child({ callId: callLog.id, callSid: callLog.twilio_call_sid, tenantId }),
      vad: this.deps.vadFor(agent),
    });
    sessions.add(session);
    session.start();
    return session;
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
    return this.deps.sessions.get(callId) ?? this.start(tenantId, callLog, agent, provider);
  }
}
