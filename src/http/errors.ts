/**
 * The one error shape every response uses: `{error, message, detail?, request_id}`.
 * `error` is a stable snake_case code, `message` a sentence a caller can act on; no stack traces leave.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from "fastify";
import { ConflictError, NotFoundError } from "../storage/index.js";

/** One entry of a 422 `detail` array, as in the Leadlock reference. */
export interface ValidationDetail {
  loc: (string | number)[];
  msg: string;
  type: string;
}

export interface ErrorBody {
  error: string;
  message: string;
  detail?: ValidationDetail[];
  request_id: string;
}

/** The error body as a response schema; routes list it under their 4xx/5xx statuses for OpenAPI. */
export const errorResponseSchema = {
  type: "object",
  required: ["error", "message", "request_id"],
  properties: {
    error: { type: "string", description: "Stable snake_case code, e.g. not_found, validation_error" },
    message: { type: "string", description: "What went wrong, for a person" },
    detail: {
      type: "array",
      items: {
        type: "object",
        required: ["loc", "msg", "type"],
        properties: {
          loc: { type: "array", items: { anyOf: [{ type: "string" }, { type: "integer" }] } },
          msg: { type: "string" },
          type: { type: "string" },
        },
      },
    },
    request_id: { type: "string", description: "Also in the x-request-id header; quote it when reporting a problem" },
  },
} as const;

/** OpenAPI responses for the error statuses a route can give, each with the error shape; 401 always. */
export function errorResponses(descriptions: Record<number, string>): Record<string, typeof errorResponseSchema & { description: string }> {
  const all: Record<number, string> = { 401: "Missing or invalid API key", ...descriptions };
  return Object.fromEntries(Object.entries(all).map(([status, description]) => [status, { description, ...errorResponseSchema }]));
}

/** An error the API answers with its status and a message a caller can act on. */
export class HttpError extends Error {
  override readonly name = "HttpError";
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly detail?: ValidationDetail[],
  ) {
    super(message);
  }
}

export const notFound = (what: string): HttpError => new HttpError(404, "not_found", `${what} not found`);
export const unauthorized = (): HttpError =>
  new HttpError(401, "unauthorized", "missing or invalid API key (send X-API-Key or Authorization: Bearer)");
export const forbidden = (message: string): HttpError => new HttpError(403, "forbidden", message);
export const unprocessable = (loc: (string | number)[], msg: string, type = "value_error"): HttpError =>
  new HttpError(422, "validation_error", `${loc.join(".")}: ${msg}`, [{ loc, msg, type }]);

// Codes for errors that carry only a status (Fastify's, plugins').
const STATUS_CODES: Record<number, string> = {
  400: "bad_request",
  401: "unauthorized",
  403: "forbidden",
  404: "not_found",
  405: "method_not_allowed",
  406: "not_acceptable",
  408: "request_timeout",
  409: "conflict",
  413: "payload_too_large",
  414: "uri_too_long",
  415: "unsupported_media_type",
  429: "too_many_requests",
  503: "service_unavailable",
};

interface AjvIssue {
  instancePath: string;
  keyword: string;
  message?: string;
  params: Record<string, unknown>;
}

/** Fastify/ajv validation errors → `detail: [{loc, msg, type}]` naming each field. */
function validationDetail(err: FastifyError): ValidationDetail[] {
  const where = err.validationContext ?? "body";
  return (err.validation as AjvIssue[] | undefined ?? []).map((v) => {
    const loc: (string | number)[] = [where, ...v.instancePath.split("/").filter(Boolean)];
    const missing = v.params.missingProperty;
    if (typeof missing === "string") loc.push(missing);
    const extra = v.params.additionalProperty;
    if (typeof extra === "string") loc.push(extra);
    return { loc, msg: v.message ?? v.keyword, type: v.keyword };
  });
}

/** Fastify's parser and router errors, reworded to say what to change. */
function frameworkMessage(err: FastifyError, req: FastifyRequest): string | undefined {
  switch (err.code) {
    case "FST_ERR_CTP_INVALID_JSON_BODY":
      return "request body is not valid JSON";
    case "FST_ERR_CTP_EMPTY_JSON_BODY":
      return "request body is empty but Content-Type is application/json; send a JSON object or omit the header";
    case "FST_ERR_CTP_BODY_TOO_LARGE":
      return `request body is larger than the ${req.routeOptions.bodyLimit ?? "allowed"} bytes this route accepts`;
    case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
      return `Content-Type ${req.headers["content-type"] ?? "(none)"} is not accepted here; send application/json`;
    case "FST_ERR_CTP_INVALID_CONTENT_LENGTH":
      return "request body length does not match its Content-Length header";
    case "FST_ERR_BAD_URL":
      return "the URL is not valid (check its percent-encoding)";
    case "FST_ERR_MAX_PARAM_LENGTH":
      return "a path parameter in the URL is too long";
    default:
      return undefined;
  }
}

/** Status and body (without request_id) for any error a route, hook or Fastify itself throws. */
export function describeError(err: FastifyError | Error, req: FastifyRequest): { status: number; body: Omit<ErrorBody, "request_id"> } {
  if (err instanceof HttpError) {
    return { status: err.statusCode, body: { error: err.code, message: err.message, ...(err.detail ? { detail: err.detail } : {}) } };
  }
  if (err instanceof NotFoundError) return { status: 404, body: { error: "not_found", message: `${err.entity} not found` } };
  if (err instanceof ConflictError) return { status: 409, body: { error: "conflict", message: err.message } };
  const fastifyErr = err as FastifyError;
  if (fastifyErr.validation) {
    const detail = validationDetail(fastifyErr);
    const message = detail.map((d) => `${d.loc.join(".")}: ${d.msg}`).join("; ");
    return { status: 422, body: { error: "validation_error", message, detail } };
  }
  const status = fastifyErr.statusCode ?? 500;
  if (status < 400 || status >= 500) {
    // Whatever broke is in the log under this request id; the caller learns nothing of our internals.
    return { status: status < 400 ? 500 : status, body: { error: "internal_error", message: "internal error; quote the request_id when reporting it" } };
  }
  const message = frameworkMessage(fastifyErr, req) ?? err.message;
  return { status, body: { error: STATUS_CODES[status] ?? "bad_request", message } };
}

/**
 * Sends the error shape with the request id in body and header (framework errors skip the onRequest
 * hooks). Serialised here, so a route's response schema can't drop fields from it.
 */
export function sendError(req: FastifyRequest, reply: FastifyReply, status: number, body: Omit<ErrorBody, "request_id">): void {
  const payload: ErrorBody = { ...body, request_id: req.id };
  void reply.code(status).header("x-request-id", req.id).type("application/json; charset=utf-8").send(JSON.stringify(payload));
}

export function errorHandler(err: FastifyError | Error, req: FastifyRequest, reply: FastifyReply): void {
  const { status, body } = describeError(err, req);
  // req.log carries the request id (reqId), so the log line and the response can be matched.
  if (status >= 500) req.log.error({ err }, "request failed");
  sendError(req, reply, status, body);
}

/** Unknown routes: the same shape, naming the method and path tried. */
export function notFoundHandler(req: FastifyRequest, reply: FastifyReply): void {
  const path = req.url.split("?")[0] ?? req.url;
  sendError(req, reply, 404, { error: "not_found", message: `no route for ${req.method} ${path}` });
}
