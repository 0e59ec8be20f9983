/** Request ids: taken from a sane incoming X-Request-Id (a proxy's trace), else a fresh UUID; echoed on every response. */
import { randomUUID } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from "fastify";

export const REQUEST_ID_HEADER = "x-request-id";
// Bounded and log-safe: no spaces, quotes or control characters can ride into logs or headers.
const SANE_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export function genReqId(raw: IncomingMessage): string {
  const incoming = raw.headers[REQUEST_ID_HEADER];
  return typeof incoming === "string" && SANE_ID.test(incoming) ? incoming : randomUUID();
}

/** onRequest hook, registered first so even 401s and 404s carry the id. */
export function echoRequestId(req: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void {
  void reply.header(REQUEST_ID_HEADER, req.id);
  done();
}
