/** Verifies a Twilio webhook with the auth token of the tenant it is addressed to. */
import type { FastifyReply, FastifyRequest } from "fastify";
import type { Kysely } from "kysely";
import type { Config } from "../config.js";
import type { Database } from "../storage/index.js";
import { twilioAuthTokenFor } from "./credentials.js";
import { checkTwilioSignature, type SignatureCheck } from "./signature.js";

export interface TenantSignatureDeps {
  config: Config;
  db: Kysely<Database>;
}

/** Checks the signature over PUBLIC_URL + path and query (the URL Twilio signed) and the form params. */
export async function checkTenantSignature(deps: TenantSignatureDeps, req: FastifyRequest, tenantId: string): Promise<SignatureCheck> {
  let authToken: string | undefined;
  try {
    authToken = await twilioAuthTokenFor(deps.db, deps.config, tenantId);
  } catch (err) {
    req.log.error({ err, tenantId }, "cannot read the tenant's Twilio auth token to verify a webhook");
    return { ok: false, reason: "this tenant's Twilio auth token cannot be read, so the request cannot be verified" };
  }
  const params = (req.body ?? {}) as Record<string, string>;
  return checkTwilioSignature(authToken, req.headers["x-twilio-signature"], deps.config.publicUrl + req.url, params);
}

/** preValidation hook: 403 unless Twilio signed the request for this tenant (before any field is looked at). */
export function requireTwilioSignature(deps: TenantSignatureDeps) {
  return async (req: FastifyRequest<{ Params: { tenantId: string } }>, reply: FastifyReply): Promise<FastifyReply | undefined> => {
    const check = await checkTenantSignature(deps, req, req.params.tenantId);
    if (check.ok) return undefined;
    req.log.warn({ reason: check.reason, path: req.routeOptions.url }, "Twilio webhook refused: bad signature");
    return reply.code(403).send({ error: "forbidden", message: check.reason, request_id: req.id });
  };
}
