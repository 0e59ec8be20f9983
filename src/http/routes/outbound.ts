import type { FastifyInstance } from "fastify";
import type { AppServices } from "../services.js";

/** `POST /outbound/agents/:agentId/call` and `POST /outbound/trigger`. */
export function outboundRoutes(_api: FastifyInstance, _services: AppServices): void {}
