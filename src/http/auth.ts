/**
 * API-key authentication and who may do what.
 * - Any live key of a tenant reads and writes that tenant's objects, and creates non-admin keys.
 * - A tenant's admin keys also create and revoke admin keys and set the tenant's Twilio credentials.
 * - Platform admin = an admin key of the platform tenant (the bootstrap tenant, where PATCHBAY_ADMIN_KEY
 *   or the generated first key lives). Only it creates and lists tenants; other tenants' admin keys
 *   administer their own tenant only.
 */
import type { FastifyRequest } from "fastify";
import type { Kysely } from "kysely";
import { findByKey, type Database } from "../storage/index.js";
import { forbidden, unauthorized } from "./errors.js";

export interface Principal {
  tenantId: string;
  keyId: string;
  isAdmin: boolean;
  isPlatformAdmin: boolean;
}

declare module "fastify" {
  interface FastifyRequest {
    principal: Principal | null;
  }
}

/** The key from `X-API-Key` or `Authorization: Bearer`. */
function presentedKey(req: FastifyRequest): string | undefined {
  const header = req.headers["x-api-key"];
  if (typeof header === "string" && header !== "") return header;
  const auth = req.headers.authorization;
  if (auth?.startsWith("Bearer ")) return auth.slice(7).trim() || undefined;
  return undefined;
}

/** onRequest hook for tenant API routes: resolves the key to its tenant or answers 401. */
export function requireApiKey(db: Kysely<Database>) {
  return async (req: FastifyRequest): Promise<void> => {
    const key = presentedKey(req);
    if (key === undefined) throw unauthorized();
    const found = await findByKey(db, key);
    if (found === null) throw unauthorized();
    req.principal = found;
  };
}

/** The authenticated key; routes behind `requireApiKey` only. */
export function principalOf(req: FastifyRequest): Principal {
  if (req.principal === null) throw unauthorized();
  return req.principal;
}

/** The authenticated tenant; routes behind `requireApiKey` only. */
export function tenantOf(req: FastifyRequest): string {
  return principalOf(req).tenantId;
}

/**
 * Refuses non-admin keys with 403: the route and the caller's own tenant are no secret, so a 403 confirms
 * nothing the caller could not already see (another tenant's objects stay 404).
 */
export function requireAdmin(req: FastifyRequest, action: string): Principal {
  const principal = principalOf(req);
  if (!principal.isAdmin) throw forbidden(`only an admin API key can ${action}`);
  return principal;
}

/** Refuses everyone but the platform tenant's admin keys with 403 (same reasoning as requireAdmin). */
export function requirePlatformAdmin(req: FastifyRequest, action: string): Principal {
  const principal = principalOf(req);
  if (!principal.isPlatformAdmin) throw forbidden(`only the platform admin key (PATCHBAY_ADMIN_KEY's tenant) can ${action}`);
  return principal;
}
