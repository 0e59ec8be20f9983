import formbody from "@fastify/formbody";
import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import type { Server } from "node:http";
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from "fastify";
import type { Kysely } from "kysely";
import type { Logger } from "../log.js";
import type { Database } from "../storage/index.js";
import { requireApiKey } from "./auth.js";
import { errorHandler, notFoundHandler } from "./errors.js";
import { echoRequestId, genReqId } from "./requestId.js";
import { agentFunctionRoutes } from "./routes/agentFunctions.js";
import { strictBodies } from "./strictBody.js";
import { agentRoutes } from "./routes/agents.js";
import { apiKeyRoutes } from "./routes/apiKeys.js";
import { callRoutes } from "./routes/calls.js";
import { functionRoutes } from "./routes/functions.js";
import { outboundRoutes } from "./routes/outbound.js";
import { phoneNumberRoutes } from "./routes/phoneNumbers.js";
import { tenantRoutes } from "./routes/tenants.js";
import { webhookSecretRoutes } from "./routes/webhookSecret.js";
import type { AppServices } from "./services.js";

export interface AppDeps {
  log: Logger;
  db: Kysely<Database>;
  providerNames: readonly string[];
  /** Storage readiness: every route except /health and /docs waits for it. */
  ready: Promise<unknown>;
  /** An HTTP server already listening (see earlyListener); Fastify routes through it instead of its own. */
  server?: Server;
  /** Adds routes that are not behind an API key (health, Twilio webhooks). */
  publicRoutes(app: FastifyInstance): void;
  services: AppServices;
}

/** The Fastify control plane: tenant API behind an API key, plus the public routes given. */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  // Typed as Fastify's base logger so the instance is the plain FastifyInstance routes expect.
  const loggerInstance: FastifyBaseLogger = deps.log;
  const app = Fastify({
    loggerInstance,
    ...(deps.server ? { serverFactory: () => deps.server! } : {}),
    bodyLimit: 1024 * 1024,
    ajv: { customOptions: { allErrors: true, coerceTypes: "array", removeAdditional: false } },
    genReqId,
    // Bad URLs are answered before any hook runs; route them through the one error shape too.
    frameworkErrors: errorHandler,
  });
  app.addHook("onRequest", echoRequestId);
  app.decorateRequest("principal", null);
  app.addHook("onRequest", async (req) => {
    const url = req.routeOptions.url ?? "";
    if (url !== "/health" && !url.startsWith("/docs")) await deps.ready;
  });
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler(notFoundHandler);
  await app.register(formbody);
  await app.register(swagger, {
    openapi: {
      info: { title: "Patchbay API", version: "0.1.0", description: "Agents, phone numbers, call logs and Twilio webhooks." },
      components: {
        securitySchemes: {
          apiKey: { type: "apiKey", in: "header", name: "X-API-Key" },
          bearer: { type: "http", scheme: "bearer" },
        },
      },
      security: [{ apiKey: [] }, { bearer: [] }],
    },
  });
  await app.register(swaggerUi, { routePrefix: "/docs" });
  // A JSON body's types are checked before ajv's coercion can change them, on every route.
  strictBodies(app);

  deps.publicRoutes(app);

  await app.register(async (api) => {
    // onRequest, before body parsing and validation: without a key a caller learns nothing, not even a 422.
    api.addHook("onRequest", requireApiKey(deps.db));
    agentRoutes(api, deps.db, deps.providerNames);
    phoneNumberRoutes(api, deps.db);
    callRoutes(api, deps.services);
    apiKeyRoutes(api, deps.services);
    tenantRoutes(api, deps.services);
    outboundRoutes(api, deps.services);
    functionRoutes(api, deps.services);
    agentFunctionRoutes(api, deps.services);
    webhookSecretRoutes(api, deps.services);
  });
  return app;
}
