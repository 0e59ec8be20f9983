import type { FastifyInstance } from "fastify";
import type { Kysely } from "kysely";
import { getCallLog, listCallLogs, toCallLogResponse, type Database } from "../../storage/index.js";
import { tenantOf } from "../auth.js";
import { notFound } from "../errors.js";
import { idParams, UUID_PATTERN } from "../schemas.js";

interface CallListQuery {
  limit: number;
  offset: number;
  agent_id?: string;
  direction?: "inbound" | "outbound" | "test";
  status?: string;
}

const listQuery = {
  type: "object",
  additionalProperties: false,
  properties: {
    limit: { type: "integer", minimum: 1, maximum: 500, default: 50 },
    offset: { type: "integer", minimum: 0, default: 0 },
    agent_id: { type: "string", pattern: UUID_PATTERN },
    direction: { type: "string", enum: ["inbound", "outbound", "test"] },
    status: { type: "string", maxLength: 40 },
  },
} as const;

export function callRoutes(app: FastifyInstance, db: Kysely<Database>): void {
  app.get<{ Querystring: CallListQuery }>("/calls", { schema: { tags: ["calls"], querystring: listQuery } }, async (req) => {
    const q = req.query;
    const { calls, total } = await listCallLogs(db, tenantOf(req), {
      limit: q.limit,
      offset: q.offset,
      agentId: q.agent_id,
      direction: q.direction,
      status: q.status,
    });
    return { calls: calls.map(toCallLogResponse), total };
  });

  app.get<{ Params: { id: string } }>("/calls/:id", { schema: { tags: ["calls"], params: idParams } }, async (req) => {
    const call = await getCallLog(db, tenantOf(req), req.params.id);
    if (call === null) throw notFound("call");
    return toCallLogResponse(call);
  });
}
