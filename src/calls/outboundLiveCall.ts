/**
 * Hands what Twilio's callbacks learn about a placed call to the live CallSession: directly when it runs
 * in this process, else on the bus channel of its call id for the instance holding the stream.
 */
import type { CallSession, SessionRegistry } from "../../sessions/index.js";
import type { Bus } from "../bus/index.js";
import type { Logger } from "../log.js";

/** The bus channel for one live call's events. */
export function callChannel(callId: string): string {
  return `call:${callId}`;
}

export type LiveCallEvent =
  | { type: "answered_by"; answered_by: string; detection_ms: number | null }
  /** Twilio ended the call before it was answered (busy, no-answer, failed, canceled). */
  | { type: "not_answered"; status: string }
  /** The transfer's callee picked up (Twilio fetched the whisper URL, or the Dial ended answered). */
  | { type: "transfer_answered" }
  /**
   * The transfer's `<Dial>` ended without a bridge (busy, no-answer, failed, canceled): the caller comes
   * back, unless `caller_gone` (they hung up while it rang).
   */
  | { type: "transfer_failed"; status: string; caller_gone?: true };

export interface LiveCallDeps {
  sessions: SessionRegistry;
  bus: Bus;
  log: Logger;
}

/** Hands one event to the session holding the call. */
export function applyLiveCallEvent(session: CallSession, event: LiveCallEvent): void {
  switch (event.type) {
    case "answered_by":
      session.onAnsweredBy(event.answered_by, event.detection_ms);
      return;
    case "not_answered":
      // Its log is already final; ending the session only stops the provider and its timers.
      void session.end("media_timeout", `Twilio reported the call ${event.status} before its media stream opened`);
      return;
    case "transfer_answered":
      session.onTransferAnswered();
      return;
    case "transfer_failed":
      session.onTransferFailed(event.status, event.caller_gone === true);
      return;
  }
}

/** A bus message that is one of ours; anything else (another version, garbage) is refused. */
export function asLiveCallEvent(message: unknown): LiveCallEvent | null {
  if (typeof message !== "object" || message === null) return null;
  const m = message as Record<string, unknown>;
  switch (m.type) {
    case "answered_by":
      return typeof m.answered_by === "string" && (typeof m.detection_ms === "number" || m.detection_ms === null)
        ? { type: "answered_by", answered_by: m.answered_by, detection_ms: m.detection_ms }
        : null;
    case "not_answered":
      return typeof m.status === "string" ? { type: m.type, status: m.status } : null;
    case "transfer_failed":
      if (typeof m.status !== "string") return null;
      return m.caller_gone === true ? { type: m.type, status: m.status, caller_gone: true } : { type: m.type, status: m.status };
    case "transfer_answered":
      return { type: "transfer_answered" };
    default:
      return null;
  }
}

/** Delivers `event`; says where it went. Bus failures are logged: the call log already holds the facts. */
export async function deliverToLiveCall(deps: LiveCallDeps, callId: string, event: LiveCallEvent): Promise<"local" | "bus"> {
  const session = deps.sessions.get(callId);
  if (session !== undefined) {
    applyLiveCallEvent(session, event);
    return "local";
  }
  try {
    await deps.bus.publish(callChannel(callId), event);
  } catch (err) {
    deps.log.warn({ err, callId, event: event.type }, "could not publish a call event on the bus");
  }
  return "bus";
}
