import type { CallStatus } from "./ports.js";

/**
 * Why a call ended: the one catalogue, stored as `metadata.end_reason` in the call log. A test keeps it in
 * step with docs/ARCHITECTURE.md.
 */
export const END_REASONS = {
  stream_stopped: { status: "completed", why: "Twilio sent `stop`: the caller hung up or the stream was stopped" },
  twilio_socket_closed: { status: "completed", why: "the media socket closed without a `stop`" },
  provider_error: { status: "failed", why: "the voice provider reported an error it cannot recover from" },
  provider_closed: { status: "failed", why: "the voice provider closed its socket mid-call" },
  provider_connect_failed: { status: "failed", why: "the voice provider session could not be opened" },
  provider_format_unsupported: { status: "failed", why: "the provider's audio format cannot be converted to and from μ-law 8 kHz" },
  media_timeout: { status: "failed", why: "Twilio never opened the media stream after the voice webhook" },
  shutdown: { status: "failed", why: "the server shut down while the call was live" },
  twilio_stream_stalled: { status: "failed", why: "no media from Twilio for too long while the socket stayed open" },
  agent_ended_call: { status: "completed", why: "the agent called `end_call`; its goodbye played, then Patchbay hung up" },
  max_duration: { status: "completed", why: "the call reached the agent's `max_call_duration_minutes`; a closing line played, then Patchbay hung up" },
  max_silence: { status: "completed", why: "the caller stayed silent past `max_silence_seconds` and an \"are you still there?\"; Patchbay hung up" },
  voicemail_hangup: { status: "completed", why: "an answering machine (or fax) answered and the agent's voicemail behaviour is to hang up" },
  voicemail_left: { status: "completed", why: "an answering machine answered; the voicemail message played after its greeting, then Patchbay hung up" },
  transferred: { status: "completed", why: "the caller was transferred to a person (see `metadata.transfer`)" },
  internal_error: { status: "failed", why: "a bug in Patchbay while handling the call (see the error log)" },
} as const satisfies Record<string, { status: CallStatus; why: string }>;

export type EndReason = keyof typeof END_REASONS;
