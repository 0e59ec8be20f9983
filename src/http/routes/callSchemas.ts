/** Call-log schemas: the query every list and export takes, and the response bodies. */
import { CALL_DIRECTIONS } from "../../storage/index.js";
import { UUID_PATTERN } from "../schemas.js";

/** Filters shared by GET /calls and GET /calls/export; the dates are checked by callFilters.ts. */
export const callFilterProperties = {
  agent_id: { type: "string", pattern: UUID_PATTERN, description: "Only this agent's calls" },
  direction: { type: "string", enum: [...CALL_DIRECTIONS], description: "inbound, outbound or test" },
  status: { type: "string", minLength: 1, maxLength: 40, description: "e.g. completed, failed, in-progress" },
  date_from: {
    type: "string",
    maxLength: 40,
    description: "Calls started at or after: ISO 8601 date (2025-06-01) or date-time (2025-06-01T12:00:00Z); no offset means UTC",
  },
  date_to: {
    type: "string",
    maxLength: 40,
    description: "Calls started at or before: ISO 8601 date-time, or a date meaning through the end of that day (UTC)",
  },
} as const;

const nullableString = { type: ["string", "null"] } as const;

export const callLogSchema = {
  type: "object",
  required: [
    "id", "tenant_id", "agent_id", "agent_name", "phone_number_id", "twilio_call_sid", "direction", "from_number", "to_number",
    "status", "started_at", "ended_at", "duration_seconds", "transcript", "metadata", "voice_provider", "amd_status",
    "amd_detection_ms", "recording_url",
  ],
  properties: {
    id: { type: "string", format: "uuid" },
    tenant_id: { type: "string", format: "uuid" },
    agent_id: nullableString,
    agent_name: nullableString,
    phone_number_id: nullableString,
    twilio_call_sid: { type: "string" },
    direction: { type: "string", enum: [...CALL_DIRECTIONS] },
    from_number: { type: "string" },
    to_number: { type: "string" },
    status: { type: "string" },
    started_at: { type: "string", format: "date-time" },
    ended_at: { type: ["string", "null"], format: "date-time" },
    duration_seconds: { type: ["integer", "null"] },
    transcript: {
      type: "array",
      items: {
        type: "object",
        additionalProperties: true,
        properties: { role: { type: "string" }, text: { type: "string" }, at_ms: { type: "number" } },
      },
    },
    metadata: { type: "object", additionalProperties: true, description: "end_reason, media counters, latency marks…" },
    voice_provider: nullableString,
    amd_status: nullableString,
    amd_detection_ms: { type: ["integer", "null"] },
    recording_url: nullableString,
  },
} as const;

export const callListSchema = {
  type: "object",
  required: ["calls", "total"],
  properties: {
    calls: { type: "array", items: callLogSchema },
    total: { type: "integer", description: "every matching call, not just this page" },
  },
} as const;

export const callIdParams = {
  type: "object",
  required: ["id"],
  properties: { id: { type: "string", description: "call log id" } },
} as const;
