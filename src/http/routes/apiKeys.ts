import type { FastifyInstance } from "fastify";
import type { AppServices } from "../services.js";

/** `GET/POST /auth/api-keys`, `POST /auth/api-keys/:id/revoke`. */
export function apiKeyRoutes(_api: FastifyInstance, _services: AppServices): void {}
