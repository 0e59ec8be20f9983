/** `PUT/GET/DELETE /tenants/me/twilio`: the tenant's own Twilio account; the auth token is write-only. */
import type { FastifyInstance } from "fastify";
import { clearTenantTwilio, getTenantTwilioSid, setTenantTwilio } from "../../storage/index.js";
import { principalOf, requireAdmin } from "../auth.js";
import { errorResponses, HttpError, notFound } from "../errors.js";
import type { AppServices } from "../services.js";

interface TwilioBody {
  account_sid: string;
  auth_token: string;
}

const putBody = {
  type: "object",
  required: ["account_sid", "auth_token"],
  additionalProperties: false,
  properties: {
    account_sid: { type: "string", pattern: "^AC[0-9a-fA-F]{32}$", description: "AC followed by 32 hex characters" },
    auth_token: { type: "string", pattern: "^[0-9a-fA-F]{32}$", description: "32 hex characters; stored encrypted, never returned" },
  },
} as const;

const statusSchema = {
  type: "object",
  required: ["account_sid", "configured"],
  properties: {
    account_sid: { type: ["string", "null"], description: "The tenant's own account; null when it uses the server's" },
    configured: { type: "boolean", description: "Whether the tenant stores credentials of its own" },
  },
} as const;


const noEncryptionKey = (): HttpError =>
  new HttpError(
    409,
    "encryption_key_missing",
    "this server can't store Twilio credentials: its operator must set PATCHBAY_ENCRYPTION_KEY (32 bytes, e.g. `openssl rand -hex 32`) and restart",
  );

export function tenantTwilioRoutes(api: FastifyInstance, { db, config }: AppServices): void {
  api.put<{ Body: TwilioBody }>(
    "/tenants/me/twilio",
    {
      schema: {
        tags: ["tenants"],
        summary: "Set the tenant's Twilio credentials",
        description:
          "Admin keys only. The auth token is encrypted at rest (AES-256-GCM under PATCHBAY_ENCRYPTION_KEY) and never returned. " +
          "Calls, recordings and webhook signatures of this tenant then use this account instead of the server's.",
        body: putBody,
        response: {
          200: statusSchema,
          ...errorResponses({ 403: "Not an admin key", 409: "The server has no PATCHBAY_ENCRYPTION_KEY", 422: "Validation error" }),
        },
      },
    },
    async (req) => {
      const { tenantId } = requireAdmin(req, "set the tenant's Twilio credentials");
      if (config.encryptionKey === undefined) throw noEncryptionKey();
      const stored = await setTenantTwilio(db, config.encryptionKey, tenantId, { accountSid: req.body.account_sid, authToken: req.body.auth_token });
      if (!stored) throw notFound("tenant");
      return { account_sid: req.body.account_sid, configured: true };
    },
  );

  api.get(
    "/tenants/me/twilio",
    {
      schema: {
        tags: ["tenants"],
        summary: "The tenant's Twilio account",
        description: "The account SID and whether the tenant has credentials of its own; never the auth token.",
        response: { 200: statusSchema, ...errorResponses({}) },
      },
    },
    async (req) => {
      const sid = await getTenantTwilioSid(db, principalOf(req).tenantId);
      return { account_sid: sid, configured: sid !== null };
    },
  );

  api.delete(
    "/tenants/me/twilio",
    {
      schema: {
        tags: ["tenants"],
        summary: "Remove the tenant's Twilio credentials",
        description: "Admin keys only. The tenant falls back to the server's Twilio account, if any. Removing twice is fine.",
        response: { 200: statusSchema, ...errorResponses({ 403: "Not an admin key" }) },
      },
    },
    async (req) => {
      const { tenantId } = requireAdmin(req, "remove the tenant's Twilio credentials");
      await clearTenantTwilio(db, tenantId);
      return { account_sid: null, configured: false };
    },
  );
}
