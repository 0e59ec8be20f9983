/**
 * What a call does beyond talking, from the agent's stored settings: limits, the answering-machine
 * behaviour on calls we place, transfer targets, and the lines spoken word for word.
 */
import type { AmdPolicy, CallLines, CallPolicy } from "../../sessions/index.js";
import { agentCallSettings, type AgentCallSettings } from "../storage/agentSettings.js";
import type { AgentRow, CallLogRow } from "../storage/index.js";
import { callInputsFrom, templateValues } from "./outboundVariables.js";
import { fillTemplate } from "./template.js";

export const CALL_LINES: CallLines = Object.freeze({
  maxDuration: "I'm sorry, we've reached the time limit for this call. Thank you for calling. Goodbye.",
  stillThere: "Are you still there?",
  silenceGoodbye: "I haven't heard from you, so I'll end the call now. Goodbye.",
});

export interface CallPolicyOptions {
  /** Longest the greeting waits for the answering-machine verdict (AMD_HOLD_GREETING_MS). */
  readonly amdHoldGreetingMs: number;
  /** Fetches and converts the voicemail audio; started at once so it is ready when the beep comes. */
  readonly fetchVoicemailAudio: (url: string) => Promise<Buffer | null>;
}

/** The message to leave: literal for static_message, `{{variables}}` filled for dynamic_message. */
function voicemailMessage(settings: AgentCallSettings, callLog: CallLogRow): string | null {
  const message = settings.amd_voicemail_message;
  if (message === null || settings.amd_voicemail_behavior !== "dynamic_message") return message;
  return fillTemplate(message, templateValues(settings.variable_definitions, callInputsFrom(callLog.metadata)));
}

function amdPolicy(settings: AgentCallSettings, callLog: CallLogRow, opts: CallPolicyOptions): AmdPolicy | null {
  // Only calls we placed ask Twilio for AMD (see outbound.ts): an inbound caller is never a machine to us.
  if (callLog.direction !== "outbound" || !settings.amd_enabled) return null;
  // A caller back from a transfer (rebuilt on another instance) was answered long ago, by a person.
  if (callLog.metadata.transfer !== undefined) return null;
  const behavior = settings.amd_voicemail_behavior;
  const leavesMessage = behavior === "static_message" || behavior === "dynamic_message";
  const url = settings.amd_voicemail_audio_url;
  return {
    behavior,
    message: leavesMessage ? voicemailMessage(settings, callLog) : null,
    audio: leavesMessage && url !== null ? opts.fetchVoicemailAudio(url) : null,
    holdGreetingMs: opts.amdHoldGreetingMs,
  };
}

export function callPolicyFor(agent: AgentRow, callLog: CallLogRow, opts: CallPolicyOptions): CallPolicy {
  const settings = agentCallSettings(agent.settings ?? {});
  return {
    maxDurationMs: settings.max_call_duration_minutes * 60_000,
    maxSilenceMs: settings.max_silence_seconds * 1000,
    amd: amdPolicy(settings, callLog, opts),
    transferTargets: settings.transfer_targets ?? [],
    lines: CALL_LINES,
  };
}
