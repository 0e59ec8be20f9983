import pino, { type Logger } from "pino";
import type { LogLevel } from "./config.js";

/** Paths that may hold secrets anywhere in a log object; pino replaces them before serialising. */
const REDACT = [
  "req.headers.authorization",
  "req.headers['x-api-key']",
  "req.headers['x-twilio-signature']",
  "headers.authorization",
  "headers['x-api-key']",
  "apiKey",
  "authToken",
  "key",
  "token",
  "*.apiKey",
  "*.authToken",
  "*.token",
  "auth_token",
  "*.auth_token",
  "twilio_auth_token_enc",
  "*.twilio_auth_token_enc",
  "encryptionKey",
  "*.encryptionKey",
];

export function createLogger(level: LogLevel): Logger {
  return pino({ level, redact: { paths: REDACT, censor: "[redacted]" }, base: { service: "patchbay" } });
}

export type { Logger };
