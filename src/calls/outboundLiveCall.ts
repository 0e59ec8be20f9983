/**
 * Hands what Twilio's callbacks learn about a placed call to the live CallSession: directly when it runs
 * in this process, else on the bus channel of its call id for the instance holding the stream.
 */
import type { SessionRegistry } from "../../sessions/index.js";
import type { Bus } from "../bus/index.js";
import type { Logger } from "../log.js";

/** The bus channel for one live call's events. */
export function callChannel(callId: string): string {
  return `call:${callId}`;
}

export type LiveCallEvent =
  | { type: "answered_by"; answered_by: string; detection_ms: number | null }
  /** Twilio ended the call before it was answered (busy, no-answer, failed, canceled). */
  | { type: "not_answered"; status: string };

export interface LiveCallDeps {
  sessions: SessionRegistry;
  bus: Bus;
  log: Logger;
}

/** Delivers `event`; says where it went. Bus failures are logged: the call log already holds the facts. */
export async function deliverToLiveCall(deps: LiveCallDeps, callId: string, event: LiveCallEvent): Promise<"local" | "bus"> {
  const session = deps.sessions.get(callId);
  if (session !== undefined) {
    switch (event.type) {
      case "answered_by":
        session.onAnsweredBy(event.answered_by, event.detection_ms);
        break;
      case "not_answered":
        // Its log is already final; ending the session only stops the provider and its timers.
        void session.end("media_timeout", `Twilio reported the call ${event.status} before its media stream opened`);
        break;
    }
    return "local";
  }
  try {
    await deps.bus.publish(callChannel(callId), event);
  } catch (err) {
    deps.log.warn({ err, callId, event: event.type }, "could not publish a call event on the bus");
  }
  return "bus";
}
