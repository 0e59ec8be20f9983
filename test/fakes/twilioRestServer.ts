/**
 * A loopback stand-in for Twilio's REST API, speaking its wire format for `POST
 * /2010-04-01/Accounts/{Sid}/Calls.json` (create) and `POST …/Calls/{CallSid}.json` (update: `Status`,
 * `Twiml`, `Url`): form-encoded params, HTTP basic auth (account SID + auth token),
 * a 201 Call resource or Twilio's error JSON. The official `twilio` client is pointed at it through
 * TWILIO_API_BASE_URL; every request's parsed params are recorded for tests to assert on.
 */
import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { CallStatus } from "twilio/lib/rest/api/v2010/account/call.js";
import { readBody, sendJson as send } from "./httpJson.js";

/** Twilio's error body (the client turns it into a RestException). */
export interface TwilioErrorBody {
  code: number;
  message: string;
  more_info: string;
  status: number;
}

/** The Call resource as Twilio sends it: snake_case, RFC 2822 dates, strings for numbers. */
export interface TwilioCallResource {
  sid: string;
  date_created: string;
  date_updated: string;
  parent_call_sid: string | null;
  account_sid: string;
  to: string;
  to_formatted: string;
  from: string;
  from_formatted: string;
  phone_number_sid: string | null;
  status: CallStatus;
  start_time: string | null;
  end_time: string | null;
  duration: string | null;
  price: string | null;
  price_unit: string;
  direction: string;
  answered_by: string | null;
  api_version: string;
  forwarded_from: string | null;
  group_sid: string | null;
  caller_name: string | null;
  queue_time: string;
  trunk_sid: string | null;
  uri: string;
  subresource_uris: Record<string, string>;
}

/** Form params as Twilio receives them: a repeated key (StatusCallbackEvent) becomes an array. */
export type FormParams = Record<string, string | string[]>;

export interface RecordedRequest {
  method: string;
  path: string;
  accountSid: string;
  /** True when basic auth matched the account. */
  authorized: boolean;
  params: FormParams;
  /** The Call resource answered, when one was created. */
  call?: TwilioCallResource;
  /** For an update: the call it named. */
  updatedSid?: string;
}

export interface FakeTwilioRestOptions {
  accountSid: string;
  authToken: string;
}

const E164 = /^\+[1-9]\d{1,14}$/;
const moreInfo = (code: number): string => `https://www.twilio.com/docs/errors/${code}`;

export function twilioError(status: number, code: number, message: string): TwilioErrorBody {
  return { code, message, more_info: moreInfo(code), status };
}

export class FakeTwilioRestServer {
  readonly requests: RecordedRequest[] = [];
  readonly #server: Server;
  readonly #opts: FakeTwilioRestOptions;
  /** Numbers Twilio refuses to call, with the error it answers (e.g. 21215 geo permissions). */
  readonly #refused = new Map<string, TwilioErrorBody>();
  /** Calls already over: an update answers 404 / 20404 like Twilio's. */
  readonly #finished = new Set<string>();
  /** Called on every accepted update, e.g. to stop a simulated call's stream on a redirect. */
  onUpdate: ((callSid: string, params: FormParams) => void) | null = null;
  #url = "";

  private constructor(opts: FakeTwilioRestOptions) {
    this.#opts = opts;
    this.#server = createServer((req, res) => void this.#handle(req, res));
  }

  static async start(opts: FakeTwilioRestOptions): Promise<FakeTwilioRestServer> {
    const fake = new FakeTwilioRestServer(opts);
    await new Promise<void>((resolve) => fake.#server.listen(0, "127.0.0.1", resolve));
    fake.#url = `http://127.0.0.1:${(fake.#server.address() as AddressInfo).port}`;
    return fake;
  }

  /** The origin to give TWILIO_API_BASE_URL. */
  get url(): string {
    return this.#url;
  }

  /** The created calls, in order. */
  get calls(): TwilioCallResource[] {
    return this.requests.flatMap((r) => (r.call ? [r.call] : []));
  }

  /** The accepted updates of one call (hang-ups, redirects), in order. */
  updatesOf(callSid: string): FormParams[] {
    return this.requests.flatMap((r) => (r.updatedSid === callSid && r.call ? [r.params] : []));
  }

  /** Every accepted update, in order. */
  get updates(): { callSid: string; params: FormParams }[] {
    return this.requests.flatMap((r) => (r.updatedSid !== undefined && r.call ? [{ callSid: r.updatedSid, params: r.params }] : []));
  }

  /** Marks a call as over: later updates get Twilio's 20404. */
  finish(callSid: string): void {
    this.#finished.add(callSid);
  }

  /** Makes Twilio refuse calls to `to` with this error. */
  refuse(to: string, error: TwilioErrorBody): void {
    this.#refused.set(to, error);
  }

  reset(): void {
    this.requests.length = 0;
    this.#refused.clear();
    this.#finished.clear();
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req);
    const url = new URL(req.url ?? "/", this.#url);
    const match = /^\/2010-04-01\/Accounts\/([^/]+)\/Calls(?:\/(CA[0-9a-fA-F]{32}))?\.json$/.exec(url.pathname);
    const recorded: RecordedRequest = {
      method: req.method ?? "",
      path: url.pathname,
      accountSid: match?.[1] ?? "",
      authorized: this.#authorized(req, match?.[1]),
      params: parseForm(body),
      ...(match?.[2] !== undefined ? { updatedSid: match[2] } : {}),
    };
    this.requests.push(recorded);
    if (match === null) return send(res, 404, twilioError(404, 20404, `The requested resource ${url.pathname} was not found`));
    if (recorded.updatedSid !== undefined) return this.#update(req, res, recorded, recorded.updatedSid);
    if (!recorded.authorized) return send(res, 401, twilioError(401, 20003, "Authenticate"));
    if (req.method !== "POST") return send(res, 405, twilioError(405, 20004, "Method not allowed"));
    const problem = this.#validate(recorded.params);
    if (problem) return send(res, problem.status, problem);
    recorded.call = this.#callResource(recorded.accountSid, recorded.params);
    send(res, 201, recorded.call);
  }

  /** Twilio's call update: `Status=completed|canceled` ends it, `Twiml`/`Url` redirects it. */
  #update(req: IncomingMessage, res: ServerResponse, recorded: RecordedRequest, callSid: string): void {
    if (!recorded.authorized) return send(res, 401, twilioError(401, 20003, "Authenticate"));
    if (req.method !== "POST") return send(res, 405, twilioError(405, 20004, "Method not allowed"));
    if (this.#finished.has(callSid)) return send(res, 404, twilioError(404, 20404, `The requested resource ${recorded.path} was not found`));
    const status = single(recorded.params.Status);
    if (status === undefined && recorded.params.Twiml === undefined && recorded.params.Url === undefined) {
      return send(res, 400, twilioError(400, 21220, "Call update needs Status, Url or Twiml"));
    }
    if (status !== undefined && status !== "completed" && status !== "canceled") {
      return send(res, 400, twilioError(400, 21220, `Invalid call state: ${status}`));
    }
    if (status !== undefined) this.#finished.add(callSid);
    const call = this.#callResource(recorded.accountSid, recorded.params);
    recorded.call = { ...call, sid: callSid, status: status === undefined ? "in-progress" : status, uri: call.uri.replace(call.sid, callSid) };
    this.onUpdate?.(callSid, recorded.params);
    send(res, 200, recorded.call);
  }

  #authorized(req: IncomingMessage, accountSid: string | undefined): boolean {
    const header = req.headers.authorization ?? "";
    if (!header.startsWith("Basic ")) return false;
    const [user, pass] = Buffer.from(header.slice(6), "base64").toString("utf8").split(":");
    return user === this.#opts.accountSid && pass === this.#opts.authToken && accountSid === this.#opts.accountSid;
  }

  /** The checks Twilio makes before it accepts a call, with its error codes. */
  #validate(params: FormParams): TwilioErrorBody | null {
    const to = single(params.To);
    const from = single(params.From);
    if (to === undefined) return twilioError(400, 21201, "No 'To' number is specified");
    if (from === undefined) return twilioError(400, 21213, "No 'From' number is specified");
    if (params.Url === undefined && params.Twiml === undefined && params.ApplicationSid === undefined) {
      return twilioError(400, 21205, "Url parameter is required.");
    }
    if (!E164.test(to)) return twilioError(400, 21211, `Invalid 'To' Phone Number: ${to}`);
    if (!E164.test(from)) return twilioError(400, 21212, `Invalid 'From' Phone Number: ${from}`);
    return this.#refused.get(to) ?? null;
  }

  #callResource(accountSid: string, params: FormParams): TwilioCallResource {
    const sid = "CA" + randomBytes(16).toString("hex");
    const now = new Date().toUTCString().replace("GMT", "+0000");
    const uri = `/2010-04-01/Accounts/${accountSid}/Calls/${sid}.json`;
    const to = single(params.To) ?? "";
    const from = single(params.From) ?? "";
    return {
      sid,
      date_created: now,
      date_updated: now,
      parent_call_sid: null,
      account_sid: accountSid,
      to,
      to_formatted: to,
      from,
      from_formatted: from,
      phone_number_sid: null,
      status: "queued",
      start_time: null,
      end_time: null,
      duration: null,
      price: null,
      price_unit: "USD",
      direction: "outbound-api",
      answered_by: null,
      api_version: "2010-04-01",
      forwarded_from: null,
      group_sid: null,
      caller_name: null,
      queue_time: "0",
      trunk_sid: null,
      uri,
      subresource_uris: {
        notifications: uri.replace(".json", "/Notifications.json"),
        recordings: uri.replace(".json", "/Recordings.json"),
      },
    };
  }
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function parseForm(body: string): FormParams {
  const params: FormParams = {};
  for (const [key, value] of new URLSearchParams(body)) {
    const prior = params[key];
    params[key] = prior === undefined ? value : Array.isArray(prior) ? [...prior, value] : [prior, value];
  }
  return params;
}
