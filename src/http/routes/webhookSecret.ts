/** `GET /tenants/me/webhook-secret` and `.../rotate`: the secret function webhook requests are signed with. */
import type { FastifyInstance } from "fastify";
import { SIGNATURE_HEADER, TIMESTAMP_HEADER } from "../../net/webhookSignature.js";
import { getWebhookSecret, rotateWebhookSecret } from "../../storage/index.js";
import { requireAdmin } from "../auth.js";
import { errorResponses } from "../errors.js";
import type { AppServices } from "../services.js";

const secretSchema = {
  type: "object",
  required: ["webhook_secret", "signature_header", "timestamp_header"],
  properties: {
    webhook_secret: { type: "string", description: "HMAC-SHA256 key of X-Patchbay-Signature (see the README's Custom functions)" },
    signature_header: { type: "string" },
    timestamp_header: { type: "string" },
  },
} as const;

const describe = (webhook_secret: string) => ({ webhook_secret, signature_header: SIGNATURE_HEADER, timestamp_header: TIMESTAMP_HEADER });

export function webhookSecretRoutes(api: FastifyInstance, { db }: AppServices): void {
  const errors = errorResponses({ 403: "Not an admin key" });

  api.get(
    "/tenants/me/webhook-secret",
    {
      schema: {
        tags: ["tenants"],
        summary: "The tenant's webhook signing secret",
        description:
          "Admin keys only. Function webhook requests carry `X-Patchbay-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of \"<t>.<raw body>\">` " +
          "under this secret (GET/DELETE: of \"<t>.<path and query>\"). Generated on first use.",
        response: { 200: secretSchema, ...errors },
      },
    },
    async (req) => describe(await getWebhookSecret(db, requireAdmin(req, "read the webhook signing secret").tenantId)),
  );

  api.post(
    "/tenants/me/webhook-secret/rotate",
    {
      schema: {
        tags: ["tenants"],
        summary: "Replace the tenant's webhook signing secret",
        description: "Admin keys only. Requests are signed with the new secret at once; signatures made with the old one no longer verify.",
        response: { 200: secretSchema, ...errors },
      },
    },
    async (req) => describe(await rotateWebhookSecret(db, requireAdmin(req, "rotate the webhook signing secret").tenantId)),
  );
}
