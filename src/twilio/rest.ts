/**
 * Twilio's REST API through the official client, loaded on first use: the package root pulls in every
 * REST resource (~0.25 s of boot) that an inbound-only server never needs.
 */
import { createHash } from "node:crypto";
import { LRUCache } from "lru-cache";
import type { CallListInstanceCreateOptions } from "twilio/lib/rest/api/v2010/account/call.js";
import type { TwilioCredentials } from "./credentials.js";

/** A REST call that hangs this long is failed; Twilio answers calls.create in well under a second. */
export const TWILIO_REST_TIMEOUT_MS = 15_000;
/** Clients kept at most: one per busy tenant account; a rotated token's old client ages out. */
export const TWILIO_CLIENTS_MAX = 256;

export type CallCreateParams = CallListInstanceCreateOptions;

export interface PlacedCall {
  readonly sid: string;
  readonly status: string;
}

/** The slice of Twilio's REST API Patchbay uses. */
export interface TwilioRest {
  createCall(params: CallCreateParams): Promise<PlacedCall>;
  /** Ends a live call; true when Twilio ended it, false when it was already over (20404). */
  hangUpCall(callSid: string): Promise<boolean>;
  /** Replaces a live call's TwiML (Twilio stops its media stream); false when the call is already over. */
  redirectCall(callSid: string, twiml: string): Promise<boolean>;
}

/** Twilio's "resource not found": the call has ended and can no longer be updated. */
const CALL_OVER_CODE = 20404;

/** Twilio said no (`status`/`code` are Twilio's), or it could not be reached (`status` 0). */
export class TwilioRestError extends Error {
  override readonly name = "TwilioRestError";
  constructor(
    readonly status: number,
    readonly code: number | undefined,
    message: string,
    readonly moreInfo: string | undefined,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }

  /** Twilio rejected the request itself (bad number, permissions): retrying the same one won't help. */
  get retryable(): boolean {
    return this.status === 0 || this.status === 429 || this.status >= 500;
  }
}

type TwilioModule = typeof import("twilio/lib/rest/Twilio.js");
type TwilioClient = InstanceType<TwilioModule>;

let loading: Promise<TwilioModule> | undefined;
// One client per account and base URL, so its keep-alive agent is reused across calls; the least recently
// used goes once there are more accounts than that, so tenants and rotated tokens can't grow it forever.
const clients = new LRUCache<string, TwilioClient>({ max: TWILIO_CLIENTS_MAX });

async function twilioModule(): Promise<TwilioModule> {
  loading ??= import("twilio/lib/rest/Twilio.js").then((m) => m.default);
  return loading;
}

function clientKey(creds: TwilioCredentials, apiBaseUrl: string | undefined): string {
  // Hashed so the map never holds an auth token in a form a heap dump or debugger shows as text.
  return createHash("sha256").update(`${creds.accountSid}\0${creds.authToken}\0${apiBaseUrl ?? ""}`).digest("hex");
}

async function clientFor(creds: TwilioCredentials, apiBaseUrl: string | undefined): Promise<TwilioClient> {
  const key = clientKey(creds, apiBaseUrl);
  const cached = clients.get(key);
  if (cached) return cached;
  const Twilio = await twilioModule();
  const client = new Twilio(creds.accountSid, creds.authToken, { timeout: TWILIO_REST_TIMEOUT_MS, autoRetry: false });
  // TWILIO_API_BASE_URL (a loopback fake, a proxy) replaces api.twilio.com for the Api domain.
  if (apiBaseUrl !== undefined) client.api.baseUrl = apiBaseUrl.replace(/\/+$/, "");
  clients.set(key, client);
  return client;
}

/** How many clients are cached now; the tests check the bound with it. */
export function cachedTwilioClients(): number {
  return clients.size;
}

function asRestError(err: unknown): TwilioRestError {
  if (err instanceof TwilioRestError) return err;
  if (typeof err === "object" && err !== null && "status" in err && typeof err.status === "number") {
    const e = err as { status: number; code?: number; message?: string; moreInfo?: string };
    return new TwilioRestError(e.status, e.code, e.message ?? `Twilio answered ${e.status}`, e.moreInfo, { cause: err });
  }
  const reason = err instanceof Error ? err.message : String(err);
  return new TwilioRestError(0, undefined, `Twilio could not be reached: ${reason}`, undefined, { cause: err });
}

/** Twilio's REST API for one account; `apiBaseUrl` overrides https://api.twilio.com. */
export function twilioRest(creds: TwilioCredentials, apiBaseUrl: string | undefined): TwilioRest {
  return {
    async createCall(params) {
      try {
        const client = await clientFor(creds, apiBaseUrl);
        const call = await client.calls.create(params);
        return { sid: call.sid, status: call.status };
      } catch (err) {
        throw asRestError(err);
      }
    },
    hangUpCall: (callSid) => updateCall(creds, apiBaseUrl, callSid, { status: "completed" }),
    redirectCall: (callSid, twiml) => updateCall(creds, apiBaseUrl, callSid, { twiml }),
  };
}

async function updateCall(
  creds: TwilioCredentials,
  apiBaseUrl: string | undefined,
  callSid: string,
  params: { status: "completed" } | { twiml: string },
): Promise<boolean> {
  try {
    const client = await clientFor(creds, apiBaseUrl);
    await client.calls(callSid).update(params);
    return true;
  } catch (err) {
    const restError = asRestError(err);
    if (restError.status === 404 && restError.code === CALL_OVER_CODE) return false;
    throw restError;
  }
}
