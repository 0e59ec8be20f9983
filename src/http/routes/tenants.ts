import type { FastifyInstance } from "fastify";
import type { AppServices } from "../services.js";

/** Tenant management for admin keys, and a tenant's own Twilio credentials. */
export function tenantRoutes(_api: FastifyInstance, _services: AppServices): void {}
