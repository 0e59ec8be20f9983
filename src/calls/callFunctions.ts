/**
 * A tenant's custom functions on a call: the tool definitions the model sees, and calling one — check
 * the model's arguments against the function's JSON Schema, then a signed, SSRF-safe request to the
 * tenant's webhook (signature scheme: src/net/webhookSignature.ts). `/functions/:id/test` goes through
 * the same `runFunction`, so what a tenant tests is what a call sends.
 */
import { Ajv, type ValidateFunction } from "ajv";
import type { Kysely } from "kysely";
import type { ToolDefinition } from "../../providers/types.js";
import type { CallFunctions, FunctionCallResult } from "../../sessions/index.js";
import type { Config } from "../config.js";
import { isRiskyPattern } from "./regexRisk.js";
import { safeRequest, SafeRequestError, type SafeResponse } from "../net/safeRequest.js";
import { SIGNATURE_HEADER, signWebhook, TIMESTAMP_HEADER } from "../net/webhookSignature.js";
import { getWebhookSecret, listCallableFunctions, type Database, type JsonObject, type JsonValue } from "../storage/index.js";

/** A webhook may answer this much; more is refused rather than buffered. */
const MAX_RESPONSE_BYTES = 256 * 1024;
/** The model gets at most this much of an answer: tool results count against its context. */
const MAX_OUTPUT_CHARS = 16 * 1024;
/** Methods whose arguments go in the query string; they carry no body. */
const BODYLESS = new Set(["GET", "DELETE"]);

// One instance for every tenant schema: unknown keywords and formats are ignored rather than fatal
// (providers accept them), and each compiled schema is removed from the cache at once (see below).
const ajv = new Ajv({ allErrors: true, strict: false, validateFormats: false, logger: false });

/** The first regular expression in `schema` (a `pattern`, or a `patternProperties` key) that could take exponential time to match. */
function unsafePattern(schema: JsonValue): string | null {
  if (Array.isArray(schema)) {
    for (const item of schema) {
      const found = unsafePattern(item);
      if (found !== null) return found;
    }
    return null;
  }
  if (typeof schema !== "object" || schema === null) return null;
  for (const [key, value] of Object.entries(schema)) {
    if (key === "pattern" && typeof value === "string" && isRiskyPattern(value)) return value;
    if (key === "patternProperties" && typeof value === "object" && value !== null && !Array.isArray(value)) {
      const bad = Object.keys(value).find((p) => isRiskyPattern(p));
      if (bad !== undefined) return bad;
    }
    const found = unsafePattern(value);
    if (found !== null) return found;
  }
  return null;
}

/** Compiles a function's parameter schema; `problem` says why it can't be used. */
export function compileParameters(schema: JsonObject): { validate: ValidateFunction; problem?: undefined } | { validate?: undefined; problem: string } {
  if (schema.type !== "object") return { problem: 'must be a JSON Schema with "type": "object" (the arguments are an object)' };
  if (schema.$async !== undefined) return { problem: "must not be an async schema ($async)" };
  const risky = unsafePattern(schema);
  if (risky !== null) {
    return { problem: `has a pattern that can take exponential time to match (${JSON.stringify(risky.slice(0, 60))}): remove nested repetition such as (a+)+` };
  }
  try {
    return { validate: ajv.compile(schema) };
  } catch (err) {
    return { problem: `is not a valid JSON Schema: ${(err as Error).message}` };
  } finally {
    // Compiled validators keep what they need; without this the cache would grow with every schema seen.
    ajv.removeSchema(schema);
  }
}

/** A function ready to call: its stored webhook settings and compiled argument check. */
export interface FunctionSpec {
  readonly name: string;
  readonly webhookUrl: string;
  readonly webhookMethod: string;
  readonly webhookHeaders: Readonly<Record<string, string>>;
  readonly webhookTimeoutMs: number;
  readonly speakDuringExecution: boolean;
  readonly parameters: JsonObject;
}

/** The call a function runs on, as the webhook receives it under `call`. */
export interface FunctionCallContext {
  readonly callId: string;
  readonly callSid: string;
  readonly direction: string;
  readonly from: string;
  readonly to: string;
  readonly agentId: string | null;
}

export interface RunOptions {
  readonly secret: string;
  readonly allowHosts: ReadonlySet<string>;
  readonly signal?: AbortSignal;
}

/** A call's result plus what the test route shows: timing, the answer as data, the signature sent. */
export interface FunctionRun extends FunctionCallResult {
  readonly durationMs: number;
  readonly responseBody: unknown;
  readonly signature: string | null;
}

interface Stored {
  name: string;
  webhook_url: string;
  webhook_method: string;
  webhook_headers: Record<string, string>;
  webhook_timeout_ms: number;
  speak_during_execution: boolean;
  parameters: JsonObject;
}

export function functionSpec(row: Stored): FunctionSpec {
  return {
    name: row.name,
    webhookUrl: row.webhook_url,
    webhookMethod: row.webhook_method,
    webhookHeaders: row.webhook_headers,
    webhookTimeoutMs: row.webhook_timeout_ms,
    speakDuringExecution: row.speak_during_execution,
    parameters: row.parameters,
  };
}

const errorOutput = (message: string, extra: Record<string, unknown> = {}): string => JSON.stringify({ error: message, ...extra });

function failed(message: string, error: string, started: number, httpStatus: number | null = null, responseBody: unknown = null): FunctionRun {
  return { ok: false, output: errorOutput(message), httpStatus, error, durationMs: performance.now() - started, responseBody, signature: null };
}

/** Parses and checks the model's arguments; a string is the reason they can't be used. */
function checkArguments(validate: ValidateFunction | undefined, problem: string | undefined, argsJson: string): Record<string, unknown> | string {
  let args: unknown;
  try {
    args = argsJson.trim() === "" ? {} : JSON.parse(argsJson);
  } catch {
    return "the arguments are not valid JSON";
  }
  if (typeof args !== "object" || args === null || Array.isArray(args)) return "the arguments must be a JSON object";
  if (validate === undefined) return `the function's parameter schema ${problem ?? "is unusable"}`;
  if (!validate(args)) return `invalid arguments: ${ajv.errorsText(validate.errors, { dataVar: "arguments" })}`;
  return args as Record<string, unknown>;
}

interface BuiltRequest {
  url: string;
  body: string | undefined;
  headers: Record<string, string>;
  signature: string;
}

/** The one place a webhook request is built and signed. */
function buildRequest(spec: FunctionSpec, args: Record<string, unknown>, call: FunctionCallContext, secret: string): BuiltRequest {
  const now = Date.now();
  const t = Math.floor(now / 1000);
  const url = new URL(spec.webhookUrl);
  let body: string | undefined;
  let signed: string;
  if (BODYLESS.has(spec.webhookMethod)) {
    for (const [key, value] of Object.entries(args)) url.searchParams.set(key, typeof value === "string" ? value : JSON.stringify(value));
    signed = url.pathname + url.search;
  } else {
    const callInfo = { id: call.callId, call_sid: call.callSid, direction: call.direction, from: call.from, to: call.to, agent_id: call.agentId };
    body = JSON.stringify({ function: spec.name, arguments: args, call: callInfo, timestamp: new Date(now).toISOString() });
    signed = body;
  }
  const signature = signWebhook(secret, t, signed);
  // The tenant's headers may replace our defaults, never the body's type or the signature.
  const headers: Record<string, string> = {
    "user-agent": "Patchbay-Functions/1",
    accept: "application/json, text/plain;q=0.9, */*;q=0.5",
    ...spec.webhookHeaders,
    ...(body !== undefined ? { "content-type": "application/json" } : {}),
    [TIMESTAMP_HEADER]: String(t),
    [SIGNATURE_HEADER]: signature,
  };
  return { url: url.toString(), body, headers, signature };
}

/** The answer as data (JSON when it parses) and as the model's tool output (capped). */
function readAnswer(res: SafeResponse): { data: unknown; output: string } {
  const text = res.body.toString("utf8");
  let data: unknown = text;
  try {
    data = JSON.parse(text);
  } catch {
    // Not JSON: handed over as text.
  }
  if (typeof data !== "string" && text.length <= MAX_OUTPUT_CHARS) return { data, output: text };
  const capped = text.length > MAX_OUTPUT_CHARS ? { result: text.slice(0, MAX_OUTPUT_CHARS), truncated: true } : { result: text };
  return { data, output: JSON.stringify(capped) };
}

/** Words the model can relay, and a code-like reason for the log. */
function describeFailure(err: unknown, spec: FunctionSpec, signal: AbortSignal | undefined): { message: string; error: string } {
  if (signal?.aborted === true) return { message: "the call ended before the function answered", error: "aborted: the call ended" };
  if (!(err instanceof SafeRequestError)) return { message: "the function could not be run because of an internal error", error: `internal: ${String(err)}` };
  switch (err.code) {
    case "timeout":
      return { message: `the ${spec.name} service took too long to answer (over ${spec.webhookTimeoutMs / 1000} seconds)`, error: `timeout: ${err.message}` };
    case "blocked_address":
      return { message: `the ${spec.name} service's address is not allowed, so it was not called`, error: `blocked_address: ${err.message}` };
    case "too_large":
      return { message: `the ${spec.name} service's answer was too large to use`, error: `too_large: ${err.message}` };
    case "bad_url":
      return { message: `the ${spec.name} service's address is not valid, so it was not called`, error: `bad_url: ${err.message}` };
    case "network":
      return { message: `the ${spec.name} service could not be reached`, error: `network: ${err.message}` };
  }
}

/** Checks the arguments, then calls the webhook. Never rejects: every failure is an `ok: false` result. */
export async function runFunction(spec: FunctionSpec, argsJson: string, call: FunctionCallContext, opts: RunOptions): Promise<FunctionRun> {
  const started = performance.now();
  const { validate, problem } = compileParameters(spec.parameters);
  return runChecked(spec, validate, problem, argsJson, call, opts, started);
}

async function runChecked(
  spec: FunctionSpec,
  validate: ValidateFunction | undefined,
  problem: string | undefined,
  argsJson: string,
  call: FunctionCallContext,
  opts: RunOptions,
  started: number,
): Promise<FunctionRun> {
  const args = checkArguments(validate, problem, argsJson);
  if (typeof args === "string") return failed(args, `invalid_arguments: ${args}`, started);
  let request: BuiltRequest | undefined;
  try {
    request = buildRequest(spec, args, call, opts.secret);
    const res = await safeRequest(request.url, {
      method: spec.webhookMethod,
      headers: request.headers,
      body: request.body,
      timeoutMs: spec.webhookTimeoutMs,
      maxBytes: MAX_RESPONSE_BYTES,
      allowHosts: opts.allowHosts,
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    const { data, output } = readAnswer(res);
    const base = { durationMs: res.durationMs, responseBody: data, signature: request.signature, httpStatus: res.status };
    if (res.status >= 200 && res.status < 300) return { ...base, ok: true, output, error: null };
    const detail = output.slice(0, 1000);
    return {
      ...base,
      ok: false,
      output: errorOutput(`the ${spec.name} service answered with an error (HTTP ${res.status})`, { response: detail }),
      error: `http_status: the webhook answered ${res.status}`,
    };
  } catch (err) {
    const { message, error } = describeFailure(err, spec, opts.signal);
    return { ...failed(message, error, started), signature: request?.signature ?? null };
  }
}

/** Loads the agent's callable functions (attached and enabled on both sides) for one call. */
export async function loadCallFunctions(
  db: Kysely<Database>,
  config: Pick<Config, "ssrfAllowHosts">,
  tenantId: string,
  agentId: string,
  call: { callId: string; callSid: string; direction: string; from: string; to: string },
): Promise<{ definitions: ToolDefinition[]; functions: CallFunctions }> {
  const rows = await listCallableFunctions(db, tenantId, agentId);
  // Only a tenant that has functions gets a secret generated for it.
  const secret = rows.length > 0 ? await getWebhookSecret(db, tenantId) : "";
  const context: FunctionCallContext = { ...call, agentId };
  const byName = new Map(
    rows.map((row) => {
      const spec = functionSpec(row);
      return [row.name, { spec, ...compileParameters(spec.parameters) }] as const;
    }),
  );
  const definitions: ToolDefinition[] = rows.map((row) => ({ name: row.name, description: row.description, parameters: row.parameters }));
  const opts = { secret, allowHosts: config.ssrfAllowHosts };
  const functions: CallFunctions = {
    lookup: (name) => {
      const found = byName.get(name);
      return found === undefined ? undefined : { speakDuringExecution: found.spec.speakDuringExecution };
    },
    invoke: async (name, argsJson, signal) => {
      const started = performance.now();
      const found = byName.get(name);
      const result =
        found === undefined
          ? failed(`there is no function named ${name}`, `unknown_function: ${name}`, started)
          : await runChecked(found.spec, found.validate, found.problem, argsJson, context, { ...opts, signal }, started);
      return { ok: result.ok, output: result.output, httpStatus: result.httpStatus, error: result.error };
    },
  };
  return { definitions, functions };
}
