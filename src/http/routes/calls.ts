import type { FastifyInstance } from "fastify";
import { getCallLog, listCallLogs, toCallLogResponse } from "../../storage/index.js";
import { tenantOf } from "../auth.js";
import { notFound } from "../errors.js";
import type { AppServices } from "../services.js";
import { callExportRoute } from "./callExport.js";
import { callLogMatch, type CallFilterQuery } from "./callFilters.js";
import { callRecordingRoute } from "./callRecording.js";
import { callFilterProperties, callIdParams, callListSchema, callLogSchema } from "./callSchemas.js";
import { usualErrors } from "./errorSchemas.js";

interface CallListQuery extends CallFilterQuery {
  limit: number;
  offset: number;
}

const listQuery = {
  type: "object",
  additionalProperties: false,
  properties: {
    limit: { type: "integer", minimum: 1, maximum: 500, default: 50 },
    offset: { type: "integer", minimum: 0, default: 0 },
    ...callFilterProperties,
  },
} as const;

export function callRoutes(app: FastifyInstance, services: Pick<AppServices, "db" | "config">): void {
  const { db } = services;
  app.get<{ Querystring: CallListQuery }>(
    "/calls",
    {
      schema: {
        tags: ["calls"],
        summary: "List calls",
        description: "The tenant's call logs, newest first, filtered; `total` counts every match.",
        querystring: listQuery,
        response: { 200: callListSchema, ...usualErrors(422) },
      },
    },
    async (req) => {
      const match = callLogMatch(req.query);
      const { calls, total } = await listCallLogs(db, tenantOf(req), { ...match, limit: req.query.limit, offset: req.query.offset });
      return { calls: calls.map(toCallLogResponse), total };
    },
  );

  // A static path: the router prefers it to /calls/:id whatever the registration order.
  callExportRoute(app, db);

  app.get<{ Params: { id: string } }>(
    "/calls/:id",
    {
      schema: {
        tags: ["calls"],
        summary: "Get a call",
        description: "One call log with its transcript and metadata.",
        params: callIdParams,
        response: { 200: callLogSchema, ...usualErrors(404) },
      },
    },
    async (req) => {
      const call = await getCallLog(db, tenantOf(req), req.params.id);
      if (call === null) throw notFound("call");
      return toCallLogResponse(call);
    },
  );

  callRecordingRoute(app, services);
}
