import type { FastifyInstance } from "fastify";
import type { Kysely } from "kysely";
import {
  ConflictError,
  createPhoneNumber,
  deletePhoneNumber,
  getAgent,
  listAgentPhoneNumbers,
  listPhoneNumbers,
  NotFoundError,
  toPhoneNumberResponse,
  updatePhoneNumber,
  type Database,
} from "../../storage/index.js";
import { tenantOf } from "../auth.js";
import { HttpError, notFound, unprocessable } from "../errors.js";
import { usualErrors } from "./errorSchemas.js";
import {
  agentIdParams,
  phoneNumberCreateSchema,
  phoneNumberIdParams,
  phoneNumberListSchema,
  phoneNumberPatchSchema,
  phoneNumberSchema,
} from "./phoneNumberSchemas.js";

interface PhoneNumberCreateBody {
  phone_number: string;
  agent_id?: string | null;
  friendly_name?: string | null;
  twilio_sid?: string | null;
}

interface PhoneNumberPatchBody {
  agent_id?: string | null;
  friendly_name?: string | null;
  is_active?: boolean;
}

const TAGS = ["phone-numbers"];

// Numbers are unique across tenants, so a refused registration inevitably says "someone has it".
// It says no more: one answer whether this tenant or another holds it, never which or its id.
const numberTaken = (): HttpError =>
  new HttpError(409, "conflict", "phone_number cannot be registered: it is already in use", [
    { loc: ["body", "phone_number"], msg: "cannot be registered: already in use", type: "conflict" },
  ]);

const agentNotInTenant = (): HttpError => unprocessable(["body", "agent_id"], "no such agent in this tenant");

export function phoneNumberRoutes(app: FastifyInstance, db: Kysely<Database>): void {
  app.post<{ Body: PhoneNumberCreateBody }>(
    "/phone-numbers",
    {
      schema: {
        tags: TAGS,
        summary: "Register a phone number",
        description: "Registers an E.164 number with this tenant, optionally routed to one of its agents.",
        body: phoneNumberCreateSchema,
        response: { 201: phoneNumberSchema, ...usualErrors(409, 422) },
      },
    },
    async (req, reply) => {
      const tenantId = tenantOf(req);
      const agentId = req.body.agent_id ?? null;
      if (agentId !== null && (await getAgent(db, tenantId, agentId)) === null) throw agentNotInTenant();
      try {
        const row = await createPhoneNumber(db, tenantId, {
          phone_number: req.body.phone_number,
          agent_id: agentId,
          friendly_name: req.body.friendly_name ?? null,
          twilio_sid: req.body.twilio_sid ?? null,
        });
        return reply.code(201).send(toPhoneNumberResponse(row));
      } catch (err) {
        if (err instanceof ConflictError) throw numberTaken();
        // The agent was deleted between the check and the insert.
        if (err instanceof NotFoundError) throw agentNotInTenant();
        throw err;
      }
    },
  );

  app.get(
    "/phone-numbers",
    {
      schema: {
        tags: TAGS,
        summary: "List phone numbers",
        description: "Every number this tenant holds, newest first.",
        response: { 200: phoneNumberListSchema, ...usualErrors() },
      },
    },
    async (req) => {
      const rows = await listPhoneNumbers(db, tenantOf(req));
      return { phone_numbers: rows.map(toPhoneNumberResponse), total: rows.length };
    },
  );

  app.patch<{ Params: { id: string }; Body: PhoneNumberPatchBody }>(
    "/phone-numbers/:id",
    {
      schema: {
        tags: TAGS,
        summary: "Update a phone number",
        description: "Assigns the number to an agent (agent_id null: unassign), renames it, or turns it on or off.",
        params: phoneNumberIdParams,
        body: phoneNumberPatchSchema,
        response: { 200: phoneNumberSchema, ...usualErrors(404, 422) },
      },
    },
    async (req) => {
      try {
        return toPhoneNumberResponse(await updatePhoneNumber(db, tenantOf(req), req.params.id, req.body));
      } catch (err) {
        if (err instanceof NotFoundError) throw err.entity === "agent" ? agentNotInTenant() : notFound("phone number");
        throw err;
      }
    },
  );

  app.delete<{ Params: { id: string } }>(
    "/phone-numbers/:id",
    {
      schema: {
        tags: TAGS,
        summary: "Release a phone number",
        description: "Removes the number from Patchbay (not from Twilio). Its call logs are kept, without the link.",
        params: phoneNumberIdParams,
        response: { 204: { type: "null", description: "Deleted" }, ...usualErrors(404) },
      },
    },
    async (req, reply) => {
      try {
        await deletePhoneNumber(db, tenantOf(req), req.params.id);
      } catch (err) {
        if (err instanceof NotFoundError) throw notFound("phone number");
        throw err;
      }
      return reply.code(204).send();
    },
  );

  app.get<{ Params: { id: string } }>(
    "/agents/:id/phone-numbers",
    {
      schema: {
        tags: ["agents", "phone-numbers"],
        summary: "List an agent's phone numbers",
        description: "The numbers routed to this agent, oldest first.",
        params: agentIdParams,
        response: { 200: phoneNumberListSchema, ...usualErrors(404) },
      },
    },
    async (req) => {
      const tenantId = tenantOf(req);
      if ((await getAgent(db, tenantId, req.params.id)) === null) throw notFound("agent");
      const rows = await listAgentPhoneNumbers(db, tenantId, req.params.id);
      return { phone_numbers: rows.map(toPhoneNumberResponse), total: rows.length };
    },
  );
}
