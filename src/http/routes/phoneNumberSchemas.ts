/** Phone-number request and response schemas. */
import { E164_PATTERN, UUID_PATTERN } from "../schemas.js";

const agentId = {
  anyOf: [{ type: "string", pattern: UUID_PATTERN }, { type: "null" }],
  description: "The agent that answers this number (null: unassigned)",
} as const;
const friendlyName = { type: ["string", "null"], maxLength: 200, description: "Display name" } as const;

export const phoneNumberCreateSchema = {
  type: "object",
  required: ["phone_number"],
  additionalProperties: false,
  properties: {
    phone_number: { type: "string", pattern: E164_PATTERN, description: "E.164, e.g. +14155550100" },
    agent_id: agentId,
    friendly_name: friendlyName,
    twilio_sid: { type: ["string", "null"], pattern: "^PN[0-9a-fA-F]{32}$", description: "Twilio's IncomingPhoneNumber SID" },
  },
} as const;

export const phoneNumberPatchSchema = {
  type: "object",
  additionalProperties: false,
  properties: {
    agent_id: agentId,
    friendly_name: friendlyName,
    is_active: { type: "boolean", description: "false: calls to the number are refused" },
  },
} as const;

export const phoneNumberSchema = {
  type: "object",
  required: ["id", "tenant_id", "phone_number", "friendly_name", "agent_id", "twilio_sid", "is_active", "created_at"],
  properties: {
    id: { type: "string", format: "uuid" },
    tenant_id: { type: "string", format: "uuid" },
    phone_number: { type: "string" },
    friendly_name: { type: ["string", "null"] },
    agent_id: { type: ["string", "null"] },
    twilio_sid: { type: ["string", "null"] },
    is_active: { type: "boolean" },
    created_at: { type: "string", format: "date-time" },
  },
} as const;

export const phoneNumberListSchema = {
  type: "object",
  required: ["phone_numbers", "total"],
  properties: {
    phone_numbers: { type: "array", items: phoneNumberSchema },
    total: { type: "integer" },
  },
} as const;

export const phoneNumberIdParams = {
  type: "object",
  required: ["id"],
  properties: { id: { type: "string", description: "phone number id" } },
} as const;

export const agentIdParams = {
  type: "object",
  required: ["id"],
  properties: { id: { type: "string", description: "agent id" } },
} as const;
