/**
 * Tenants: `POST/GET /tenants` for the platform admin (see auth.ts for who that is), `GET /tenants/me`
 * for any key, and the tenant's own Twilio credentials (tenantTwilio.ts).
 */
import type { FastifyInstance } from "fastify";
import { createTenantWithKey, getTenant, listTenants, toApiKeyResponse, toTenantResponse } from "../../storage/index.js";
import { principalOf, requirePlatformAdmin } from "../auth.js";
import { errorResponses, notFound } from "../errors.js";
import type { AppServices } from "../services.js";
import { createdApiKeySchema } from "./apiKeys.js";
import { tenantTwilioRoutes } from "./tenantTwilio.js";

const tenantSchema = {
  type: "object",
  required: ["id", "name", "is_platform", "created_at"],
  properties: {
    id: { type: "string", format: "uuid" },
    name: { type: "string" },
    is_platform: { type: "boolean", description: "The bootstrap tenant, whose admin keys manage tenants" },
    created_at: { type: "string", format: "date-time" },
  },
} as const;

const createBody = {
  type: "object",
  required: ["name"],
  additionalProperties: false,
  properties: { name: { type: "string", minLength: 1, maxLength: 200, pattern: "\\S" } },
} as const;

const platformOnly = "Not the platform admin key. The route is public knowledge (it is in this spec), so a 403 reveals nothing.";

export function tenantRoutes(api: FastifyInstance, services: AppServices): void {
  const { db } = services;

  api.post<{ Body: { name: string } }>(
    "/tenants",
    {
      schema: {
        tags: ["tenants"],
        summary: "Create a tenant with its first API key",
        description: "Platform admin only. The new tenant's first key is an admin key, shown in full only in this response.",
        body: createBody,
        response: {
          201: {
            type: "object",
            required: ["tenant", "api_key"],
            properties: { tenant: tenantSchema, api_key: createdApiKeySchema },
          },
          ...errorResponses({ 403: platformOnly, 422: "Validation error" }),
        },
      },
    },
    async (req, reply) => {
      requirePlatformAdmin(req, "create tenants");
      const { tenant, record, key } = await createTenantWithKey(db, req.body.name.trim());
      return reply.code(201).send({ tenant: toTenantResponse(tenant), api_key: { ...toApiKeyResponse(record), key } });
    },
  );

  api.get(
    "/tenants",
    {
      schema: {
        tags: ["tenants"],
        summary: "List tenants",
        description: "Platform admin only; oldest first.",
        response: {
          200: {
            type: "object",
            required: ["tenants", "total"],
            properties: { tenants: { type: "array", items: tenantSchema }, total: { type: "integer", minimum: 0 } },
          },
          ...errorResponses({ 403: platformOnly }),
        },
      },
    },
    async (req) => {
      requirePlatformAdmin(req, "list tenants");
      const rows = await listTenants(db);
      return { tenants: rows.map(toTenantResponse), total: rows.length };
    },
  );

  api.get(
    "/tenants/me",
    {
      schema: { tags: ["tenants"], summary: "The caller's tenant", response: { 200: tenantSchema, ...errorResponses({}) } },
    },
    async (req) => {
      const tenant = await getTenant(db, principalOf(req).tenantId);
      if (tenant === null) throw notFound("tenant");
      return toTenantResponse(tenant);
    },
  );

  tenantTwilioRoutes(api, services);
}
