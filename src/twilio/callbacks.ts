import type { FastifyInstance } from "fastify";
import type { AppServices } from "../http/services.js";

/** Twilio's status, recording and amd-status callbacks (public, signature-checked). */
export function twilioCallbackRoutes(_app: FastifyInstance, _services: AppServices): void {}
