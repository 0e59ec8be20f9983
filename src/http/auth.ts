import type { FastifyRequest } from "fastify";
import type { Kysely } from "kysely";
import { findByKey, type Database } from "../storage/index.js";
import { unauthorized } from "./errors.js";

export interface Principal {
  tenantId: string;
  keyId: string;
  isAdmin: boolean;
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

/** preHandler for tenant API routes: resolves the key to its tenant or answers 401. */
export function requireApiKey(db: Kysely<Database>) {
  return async (req: FastifyRequest): Promise<void> => {
    const key = presentedKey(req);
    if (key === undefined) throw unauthorized();
    const found = await findByKey(db, key);
    if (found === null) throw unauthorized();
    req.principal = found;
  };
}

/** The authenticated tenant; routes behind `requireApiKey` only. */
export function tenantOf(req: FastifyRequest): string {
  if (req.principal === null) throw unauthorized();
  return req.principal.tenantId;
}
