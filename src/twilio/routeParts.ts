/** The pieces every Twilio webhook route shares: its params, form bodies, TwiML replies and counts. */
import type { FastifyReply } from "fastify";
import { errorResponseSchema } from "../http/errors.js";

export const tenantParams = { type: "object", required: ["tenantId"], properties: { tenantId: { type: "string" } } } as const;

/** A form body: Twilio sends many more params than we read; they are allowed and ignored. */
export function formBody(required: string[], properties: Record<string, object>) {
  // OpenAPI 3.0 refuses an empty `required`.
  return { type: "object", ...(required.length > 0 ? { required } : {}), additionalProperties: true, properties } as const;
}

/** OpenAPI for a TwiML answer. */
export const twimlResponse = (description: string) => ({ description, content: { "text/xml": { schema: { type: "string" } } } });

export const forbiddenResponse = { description: "X-Twilio-Signature missing or wrong", content: { "application/json": { schema: errorResponseSchema } } };

export function sendTwiml(reply: FastifyReply, xml: string): FastifyReply {
  return reply.code(200).type("text/xml").send(xml);
}

/** A count Twilio sends as a string of digits; null when absent or garbled. */
export function wholeNumber(value: string | undefined): number | null {
  if (value === undefined || !/^\d{1,9}$/.test(value.trim())) return null;
  return Number(value.trim());
}
