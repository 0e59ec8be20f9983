// The TwiML builder alone: the package root loads every REST resource (~0.25 s of boot).
import VoiceResponse from "twilio/lib/twiml/VoiceResponse.js";

/** `<Connect><Stream>` with the session token as a `<Parameter>` (Twilio drops query strings on stream URLs). */
export function connectStreamTwiml(streamUrl: string, params: Record<string, string>): string {
  const response = new VoiceResponse();
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
