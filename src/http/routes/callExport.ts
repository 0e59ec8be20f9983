/** GET /calls/export: the filtered call logs as CSV, streamed batch by batch. */
import { Readable } from "node:stream";
import type { FastifyInstance } from "fastify";
import type { Kysely } from "kysely";
import { batchCallLogs, type CallLogWithAgent, type Database } from "../../storage/index.js";
import { tenantOf } from "../auth.js";
import { csvRecord, type CsvValue } from "../csv.js";
import { callLogMatch, type CallFilterQuery } from "./callFilters.js";
import { callFilterProperties } from "./callSchemas.js";
import { usualErrors } from "./errorSchemas.js";

// Rows per query: long transcripts make a row tens of KB, so a batch stays a few MB at worst,
// while 100k rows are still only 200 round trips.
const EXPORT_BATCH_ROWS = 500;

const COLUMNS = [
  "id", "started_at", "ended_at", "duration_seconds", "direction", "status", "from_number", "to_number", "agent_id",
  "agent_name", "phone_number_id", "twilio_call_sid", "voice_provider", "amd_status", "recording_url", "transcript", "metadata",
] as const;

/** The transcript as a person reads it: one "role: text" line per turn. */
function transcriptText(row: CallLogWithAgent): string {
  return row.transcript.map((t) => `${t.role}: ${t.text}`).join("\n");
}

function csvValues(row: CallLogWithAgent): CsvValue[] {
  return [
    row.id, row.started_at.toISOString(), row.ended_at?.toISOString(), row.duration_seconds, row.direction, row.status,
    row.from_number, row.to_number, row.agent_id, row.agent_name, row.phone_number_id, row.twilio_call_sid, row.voice_provider,
    row.amd_status, row.recording_url, transcriptText(row), JSON.stringify(row.metadata),
  ];
}

/** One string per batch: a few large writes rather than one per row. */
async function* csvChunks(first: CallLogWithAgent[] | undefined, rest: AsyncGenerator<CallLogWithAgent[]>): AsyncGenerator<string> {
  yield csvRecord(COLUMNS);
  if (first === undefined) return;
  yield first.map((row) => csvRecord(csvValues(row))).join("");
  for await (const batch of rest) yield batch.map((row) => csvRecord(csvValues(row))).join("");
}

export function callExportRoute(app: FastifyInstance, db: Kysely<Database>): void {
  app.get<{ Querystring: CallFilterQuery }>(
    "/calls/export",
    {
      schema: {
        tags: ["calls"],
        summary: "Export calls as CSV",
        description:
          "Every matching call log, newest first, as RFC 4180 CSV (text that would start a spreadsheet formula gets a leading apostrophe). Same filters as GET /calls.",
        querystring: { type: "object", additionalProperties: false, properties: callFilterProperties },
        response: {
          200: { description: "CSV attachment", content: { "text/csv": { schema: { type: "string" } } } },
          ...usualErrors(422),
        },
      },
    },
    async (req, reply) => {
      const batches = batchCallLogs(db, tenantOf(req), callLogMatch(req.query), EXPORT_BATCH_ROWS);
      // The first batch is read before any header goes out, so a failing database is still a clean 500.
      const first = await batches.next();
      const day = new Date().toISOString().slice(0, 10);
      // Readable.from pulls the next batch only when the socket has drained what came before.
      const body = Readable.from(csvChunks(first.done === true ? undefined : first.value, batches), { objectMode: false });
      return reply
        .header("content-type", "text/csv; charset=utf-8")
        .header("content-disposition", `attachment; filename="calls-${day}.csv"`)
        .header("cache-control", "no-store")
        .send(body);
    },
  );
}
