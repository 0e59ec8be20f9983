import type { FastifyError, FastifyReply, FastifyRequest } from "fastify";

/** One entry of a 422 `detail` array, as in the Leadlock reference. */
export interface ValidationDetail {
  loc: (string | number)[];
  msg: string;
  type: string;
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
export const unprocessable = (loc: (string | number)[], msg: string, type = "value_error"): HttpError =>
  new HttpError(422, "validation_error", `${loc.join(".")}: ${msg}`, [{ loc, msg, type }]);

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

export function errorHandler(err: FastifyError | HttpError, req: FastifyRequest, reply: FastifyReply): void {
  if (err instanceof HttpError) {
    void reply.code(err.statusCode).send({ error: err.code, message: err.message, ...(err.detail ? { detail: err.detail } : {}) });
    return;
  }
  if (err.validation) {
    const detail = validationDetail(err);
    const message = detail.map((d) => `${d.loc.join(".")}: ${d.msg}`).join("; ");
    void reply.code(422).send({ error: "validation_error", message, detail });
    return;
  }
  const status = err.statusCode ?? 500;
  if (status >= 500) req.log.error({ err }, "request failed");
  void reply.code(status).send({ error: err.code ?? "internal_error", message: status >= 500 ? "internal error" : err.message });
}
