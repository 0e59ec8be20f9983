// The TwiML builder alone: the package root loads every REST resource (~0.25 s of boot).
import VoiceResponse from "twilio/lib/twiml/VoiceResponse.js";

/** `<Connect><Stream>` with the session token as a `<Parameter>` (Twilio drops query strings on stream URLs). */
export function connectStreamTwiml(streamUrl: string, params: Record<string, string>, sayFirst?: string): string {
  const response = new VoiceResponse();
  // Twilio speaks it before the stream opens: word for word, before the agent's greeting.
  if (sayFirst !== undefined) response.say(sayFirst);
  const stream = response.connect().stream({ url: streamUrl });
  for (const [name, value] of Object.entries(params)) stream.parameter({ name, value });
  return response.toString();
}

/** A short spoken apology, then hang up: for calls we cannot take. */
export function sayAndHangupTwiml(message: string): string {
  const response = new VoiceResponse();
  response.say(message);
  response.hangup();
  return response.toString();
}

export interface DialWithWhisper {
  /** Our number the callee sees (the agent's). */
  readonly callerId: string;
  /** E.164. */
  readonly number: string;
  readonly timeoutSeconds: number;
  /** Twilio POSTs DialCallStatus here when the dial ends. */
  readonly actionUrl: string;
  /** Twilio fetches this when the callee answers and plays its TwiML to them before bridging. */
  readonly whisperUrl: string;
}

/** A warm transfer: `<Dial answerOnBridge>` (the caller hears ringing until the bridge) with a whisper URL on the number. */
export function dialWithWhisperTwiml(dial: DialWithWhisper): string {
  const response = new VoiceResponse();
  response
    .dial({ callerId: dial.callerId, answerOnBridge: true, timeout: dial.timeoutSeconds, action: dial.actionUrl, method: "POST" })
    .number({ url: dial.whisperUrl, method: "POST" }, dial.number);
  return response.toString();
}

/** `<Say>` alone: a whisper, after which Twilio bridges the call. */
export function sayTwiml(message: string): string {
  const response = new VoiceResponse();
  response.say(message);
  return response.toString();
}

/** `<Response/>`: nothing to play (a whisper with nothing to say bridges at once). */
export function emptyTwiml(): string {
  return new VoiceResponse().toString();
}

/** `<Hangup/>` alone: the call has nothing left to do. */
export function hangupTwiml(): string {
  const response = new VoiceResponse();
  response.hangup();
  return response.toString();
}
