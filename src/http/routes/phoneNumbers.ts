import type { FastifyInstance } from "fastify";
import type { Kysely } from "kysely";
import { ConflictError, createPhoneNumber, getAgent, listPhoneNumbers, toPhoneNumberResponse, type Database } from "../../storage/index.js";
import { tenantOf } from "../auth.js";
import { HttpError, unprocessable } from "../errors.js";
import { E164_PATTERN, UUID_PATTERN } from "../schemas.js";

interface PhoneNumberCreateBody {
  phone_number: string;
  agent_id?: string | null;
  friendly_name?: string | null;
  twilio_sid?: string | null;
}

const createSchema = {
  type: "object",
  required: ["phone_number"],
  additionalProperties: false,
  properties: {
    phone_number: { type: "string", pattern: E164_PATTERN, description: "E.164, e.g. +14155550100" },
    agent_id: { anyOf: [{ type: "string", pattern: UUID_PATTERN }, { type: "null" }] },
    friendly_name: { type: ["string", "null"], maxLength: 200 },
    twilio_sid: { type: ["string", "null"], pattern: "^PN[0-9a-fA-F]{32}$" },
  },
} as const;

export function phoneNumberRoutes(app: FastifyInstance, db: Kysely<Database>): void {
  app.post<{ Body: PhoneNumberCreateBody }>("/phone-numbers", { schema: { tags: ["phone-numbers"], body: createSchema } }, async (req, reply) => {
    const tenantId = tenantOf(req);
    const agentId = req.body.agent_id ?? null;
    if (agentId !== null && (await getAgent(db, tenantId, agentId)) === null) {
      throw unprocessable(["body", "agent_id"], "no such agent in this tenant");
    }
    try {
      const row = await createPhoneNumber(db, tenantId, {
        phone_number: req.body.phone_number,
        agent_id: agentId,
        friendly_name: req.body.friendly_name ?? null,
        twilio_sid: req.body.twilio_sid ?? null,
      });
      return reply.code(201).send(toPhoneNumberResponse(row));
    } catch (err) {
      if (err instanceof ConflictError) throw new HttpError(409, "conflict", `${req.body.phone_number} is already registered`);
      throw err;
    }
  });

  app.get("/phone-numbers", { schema: { tags: ["phone-numbers"] } }, async (req) => {
    const rows = await listPhoneNumbers(db, tenantOf(req));
    return { phone_numbers: rows.map(toPhoneNumberResponse), total: rows.length };
  });
}
