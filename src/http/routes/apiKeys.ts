/** `GET/POST /auth/api-keys`, `POST /auth/api-keys/:id/revoke`: a tenant's own keys, shown in full only once. */
import type { FastifyInstance } from "fastify";
import { createApiKey, getApiKey, listApiKeys, revokeApiKey, toApiKeyResponse } from "../../storage/index.js";
import { principalOf, requireAdmin } from "../auth.js";
import { errorResponses, notFound } from "../errors.js";
import { idParams } from "../schemas.js";
import type { AppServices } from "../services.js";

interface ApiKeyCreateBody {
  name: string;
  is_admin?: boolean;
}

const nullableTime = { type: ["string", "null"], format: "date-time" } as const;

/** A key as listed: never its hash, only the first characters to recognise it by. */
export const apiKeySchema = {
  type: "object",
  required: ["id", "tenant_id", "name", "key_prefix", "is_admin", "created_at", "last_used_at", "revoked_at"],
  properties: {
    id: { type: "string", format: "uuid" },
    tenant_id: { type: "string", format: "uuid" },
    name: { type: "string" },
    key_prefix: { type: "string", description: "The key's first 8 characters" },
    is_admin: { type: "boolean", description: "May create and revoke admin keys and set the tenant's Twilio credentials" },
    created_at: { type: "string", format: "date-time" },
    last_used_at: nullableTime,
    revoked_at: nullableTime,
  },
} as const;

/** A key just created: the same fields plus `key`, which is never shown again. */
export const createdApiKeySchema = {
  ...apiKeySchema,
  required: [...apiKeySchema.required, "key"],
  properties: { ...apiKeySchema.properties, key: { type: "string", description: "The full key; store it now, it is shown only once" } },
} as const;

const keyNameSchema = { type: "string", minLength: 1, maxLength: 100, pattern: "\\S", description: "What the key is for" } as const;

const createBody = {
  type: "object",
  required: ["name"],
  additionalProperties: false,
  properties: { name: keyNameSchema, is_admin: { type: "boolean", default: false, description: "Admin keys only" } },
} as const;


export function apiKeyRoutes(api: FastifyInstance, { db }: AppServices): void {
  api.get(
    "/auth/api-keys",
    {
      schema: {
        tags: ["auth"],
        summary: "List this tenant's API keys",
        description: "Every key of the caller's tenant, newest first, revoked ones included. Never the key or its hash.",
        response: {
          200: {
            type: "object",
            required: ["api_keys", "total"],
            properties: { api_keys: { type: "array", items: apiKeySchema }, total: { type: "integer", minimum: 0 } },
          },
          ...errorResponses({}),
        },
      },
    },
    async (req) => {
      const rows = await listApiKeys(db, principalOf(req).tenantId);
      return { api_keys: rows.map(toApiKeyResponse), total: rows.length };
    },
  );

  api.post<{ Body: ApiKeyCreateBody }>(
    "/auth/api-keys",
    {
      schema: {
        tags: ["auth"],
        summary: "Create an API key",
        description: "Only an admin key may create keys (a leaked ordinary key must not outlive its revocation). The full key is in this response only.",
        body: createBody,
        response: { 201: createdApiKeySchema, ...errorResponses({ 403: "only admin keys may create keys", 422: "Validation error" }) },
      },
    },
    async (req, reply) => {
      const isAdmin = req.body.is_admin ?? false;
      // Admin only: a leaked ordinary key that could mint keys would outlive its own revocation.
      const { tenantId } = requireAdmin(req, isAdmin ? "create an admin key" : "create API keys");
      const { record, key } = await createApiKey(db, tenantId, { name: req.body.name.trim(), isAdmin });
      return reply.code(201).send({ ...toApiKeyResponse(record), key });
    },
  );

  api.post<{ Params: { id: string } }>(
    "/auth/api-keys/:id/revoke",
    {
      schema: {
        tags: ["auth"],
        summary: "Revoke an API key",
        description:
          "Revoked keys answer 401 from then on; revoking twice keeps the first time. A key may revoke itself, " +
          "but the tenant's last active admin key is refused (409) so the tenant can't lock itself out.",
        params: idParams,
        response: {
          200: apiKeySchema,
          ...errorResponses({ 403: "A non-admin key tried to revoke an admin key", 404: "No such key in this tenant", 409: "The tenant's last active admin key" }),
        },
      },
    },
    async (req) => {
      const principal = principalOf(req);
      const target = await getApiKey(db, principal.tenantId, req.params.id);
      if (target === null) throw notFound("api key");
      // Otherwise a leaked ordinary key could lock out the tenant's administrators.
      if (target.is_admin) requireAdmin(req, "revoke an admin key");
      // The last active admin key comes back as storage's ConflictError: a 409 saying why.
      return toApiKeyResponse(await revokeApiKey(db, principal.tenantId, target.id));
    },
  );
}
