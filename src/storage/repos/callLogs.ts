/** Call logs: one row per call, created at the webhook and finished exactly once by its session. */
import { sql, type ExpressionBuilder } from "kysely";
import { ConflictError, isForeignKeyViolation, isUniqueViolation, NotFoundError } from "../errors.js";
import type { CallDirection, CallLogRow, Database, JsonObject, NewCallLogRow, TranscriptEntry } from "../schema.js";
import { isUuid, json, toCount, toIso, type Queryable } from "./shared.js";

/** A call log with the name of its agent, as reads return it. */
export type CallLogWithAgent = CallLogRow & { agent_name: string | null };

export type CallLogInput = Omit<NewCallLogRow, "id" | "tenant_id" | "transcript" | "metadata"> & {
  transcript?: readonly TranscriptEntry[];
  metadata?: Record<string, unknown>;
};

/** Column changes; `metadata` keys are merged into the stored ones. */
export type CallLogPatch = Partial<Omit<CallLogInput, "twilio_call_sid" | "direction">>;

export interface CallLogFinish {
  status: string;
  endedAt: Date;
  durationSeconds: number;
  transcript: readonly TranscriptEntry[];
  metadata: Record<string, unknown>;
}

/** Which call logs a list or export covers; every bound is on `started_at`. */
export interface CallLogMatch {
  agentId?: string;
  direction?: CallDirection;
  status?: string;
  /** Inclusive lower bound. */
  startedFrom?: Date;
  /** Inclusive upper bound (a date-time given to the minute or the millisecond). */
  startedTo?: Date;
  /** Exclusive upper bound (a whole day: the start of the next one). */
  startedBefore?: Date;
}

export interface CallLogFilters extends CallLogMatch {
  limit: number;
  offset: number;
}

export interface CallLogResponse {
  id: string;
  tenant_id: string;
  agent_id: string | null;
  agent_name: string | null;
  phone_number_id: string | null;
  twilio_call_sid: string;
  direction: CallDirection;
  from_number: string;
  to_number: string;
  status: string;
  started_at: string;
  ended_at: string | null;
  duration_seconds: number | null;
  transcript: TranscriptEntry[];
  metadata: JsonObject;
  voice_provider: string | null;
  amd_status: string | null;
  amd_detection_ms: number | null;
  recording_url: string | null;
}


/** The agent's name, only if the agent belongs to the call's tenant. */
function agentName(eb: ExpressionBuilder<Database, "call_logs">) {
  return eb
    .selectFrom("agents")
    .select("agents.name")
    .whereRef("agents.id", "=", "call_logs.agent_id")
    .whereRef("agents.tenant_id", "=", "call_logs.tenant_id")
    .as("agent_name");
}

function selectCallLogs(db: Queryable, tenantId: string) {
  return db.selectFrom("call_logs").selectAll("call_logs").select(agentName).where("call_logs.tenant_id", "=", tenantId);
}

/** Throws ConflictError if this tenant already logged the Twilio call SID. */
export async function createCallLog(db: Queryable, tenantId: string, input: CallLogInput): Promise<CallLogRow> {
  if (!isUuid(tenantId)) throw new NotFoundError("tenant", tenantId);
  const { transcript, metadata, ...columns } = input;
  try {
    return await db
      .insertInto("call_logs")
      .values({ ...columns, tenant_id: tenantId, transcript: JSON.stringify(transcript ?? []), metadata: JSON.stringify(metadata ?? {}) })
      .returningAll()
      .executeTakeFirstOrThrow();
  } catch (err) {
    if (isUniqueViolation(err)) throw new ConflictError("call log", `call ${input.twilio_call_sid} is already logged`, { cause: err });
    if (isForeignKeyViolation(err)) throw new NotFoundError("tenant, agent or phone number", tenantId, { cause: err });
    throw err;
  }
}

export async function getCallLog(db: Queryable, tenantId: string, id: string): Promise<CallLogWithAgent | null> {
  if (!isUuid(tenantId) || !isUuid(id)) return null;
  return (await selectCallLogs(db, tenantId).where("call_logs.id", "=", id).executeTakeFirst()) ?? null;
}

export async function findCallLogByCallSid(db: Queryable, tenantId: string, callSid: string): Promise<CallLogWithAgent | null> {
  if (!isUuid(tenantId)) return null;
  return (await selectCallLogs(db, tenantId).where("call_logs.twilio_call_sid", "=", callSid).executeTakeFirst()) ?? null;
}

/** The WHERE clause for a tenant's logs matching `match`. */
function matching(tenantId: string, match: CallLogMatch) {
  return (eb: ExpressionBuilder<Database, "call_logs">) => {
    const conditions = [eb("call_logs.tenant_id", "=", tenantId)];
    if (match.agentId !== undefined) conditions.push(eb("call_logs.agent_id", "=", match.agentId));
    if (match.direction !== undefined) conditions.push(eb("call_logs.direction", "=", match.direction));
    if (match.status !== undefined) conditions.push(eb("call_logs.status", "=", match.status));
    if (match.startedFrom !== undefined) conditions.push(eb("call_logs.started_at", ">=", match.startedFrom));
    if (match.startedTo !== undefined) conditions.push(eb("call_logs.started_at", "<=", match.startedTo));
    if (match.startedBefore !== undefined) conditions.push(eb("call_logs.started_at", "<", match.startedBefore));
    return eb.and(conditions);
  };
}

/** Ids come from query strings: a malformed one matches nothing rather than failing the cast. */
function matchesNothing(tenantId: string, match: CallLogMatch): boolean {
  return !isUuid(tenantId) || (match.agentId !== undefined && !isUuid(match.agentId));
}

/** Newest first; `total` counts every match, not just this page. */
export async function listCallLogs(
  db: Queryable,
  tenantId: string,
  filters: CallLogFilters,
): Promise<{ calls: CallLogWithAgent[]; total: number }> {
  if (matchesNothing(tenantId, filters)) return { calls: [], total: 0 };
  const where = matching(tenantId, filters);
  const { total } = await db
    .selectFrom("call_logs")
    .select((eb) => eb.fn.countAll<string | number>().as("total"))
    .where(where)
    .executeTakeFirstOrThrow();
  const calls = await selectCallLogs(db, tenantId)
    .where(where)
    .orderBy("call_logs.started_at", "desc")
    .orderBy("call_logs.id", "desc")
    .limit(filters.limit)
    .offset(filters.offset)
    .execute();
  return { calls, total: toCount(total) };
}

/**
 * Every matching log, newest first, in batches of at most `batchSize`: keyset pagination on
 * (started_at, id), so each batch is one index range scan however deep the export is, and no
 * transaction or cursor is held open between batches. Stop iterating to stop querying.
 */
export async function* batchCallLogs(
  db: Queryable,
  tenantId: string,
  match: CallLogMatch,
  batchSize: number,
): AsyncGenerator<CallLogWithAgent[], void, undefined> {
  if (matchesNothing(tenantId, match)) return;
  const where = matching(tenantId, match);
  // The cursor keeps started_at as Postgres text: a JS Date would drop its microseconds and skip rows.
  let after: { startedAt: string; id: string } | undefined;
  for (;;) {
    const cursor = after;
    const rows = await selectCallLogs(db, tenantId)
      .select(sql<string>`call_logs.started_at::text`.as("cursor_started_at"))
      .where(where)
      .$if(cursor !== undefined, (q) =>
        q.where(sql<boolean>`(call_logs.started_at, call_logs.id) < (${cursor?.startedAt}::timestamptz, ${cursor?.id}::uuid)`),
      )
      .orderBy("call_logs.started_at", "desc")
      .orderBy("call_logs.id", "desc")
      .limit(batchSize)
      .execute();
    const last = rows.at(-1);
    if (last === undefined) return;
    after = { startedAt: last.cursor_started_at, id: last.id };
    yield rows.map(({ cursor_started_at: _cursor, ...row }) => row);
    if (rows.length < batchSize) return;
  }
}

export async function updateCallLog(db: Queryable, tenantId: string, id: string, patch: CallLogPatch): Promise<CallLogRow> {
  if (!isUuid(tenantId) || !isUuid(id)) throw new NotFoundError("call log", id);
  const { transcript, metadata, ...columns } = patch;
  const row = await db
    .updateTable("call_logs")
    .set({
      ...columns,
      ...(transcript !== undefined ? { transcript: JSON.stringify(transcript) } : {}),
      // Re-selecting metadata keeps an empty patch valid SQL and merges when keys are given.
      metadata: metadata !== undefined ? sql<string>`metadata || ${json(metadata)}` : sql<string>`metadata`,
    })
    .where("tenant_id", "=", tenantId)
    .where("id", "=", id)
    .returningAll()
    .executeTakeFirst();
  if (row === undefined) throw new NotFoundError("call log", id);
  return row;
}

/**
 * Records how a call ended. Idempotent: the first finish fixes status, ended_at and duration; a later
 * one only merges metadata and fills a transcript that is still empty. Every SET expression reads the
 * row as it was before this statement, which is what makes the single UPDATE safe under races.
 */
export async function finishCallLog(db: Queryable, tenantId: string, id: string, outcome: CallLogFinish): Promise<CallLogRow>;
/** With `onlyIfRinging`, null when the call's stream had started (here or elsewhere) and nothing was written. */
export async function finishCallLog(
  db: Queryable,
  tenantId: string,
  id: string,
  outcome: CallLogFinish,
  opts: { onlyIfRinging?: boolean },
): Promise<CallLogRow | null>;
export async function finishCallLog(
  db: Queryable,
  tenantId: string,
  id: string,
  outcome: CallLogFinish,
  opts: { onlyIfRinging?: boolean } = {},
): Promise<CallLogRow | null> {
  if (!isUuid(tenantId) || !isUuid(id)) throw new NotFoundError("call log", id);
  const transcript = json(outcome.transcript);
  const row = await db
    .updateTable("call_logs")
    .set({
      status: sql<string>`case when ended_at is null then ${outcome.status}::text else status end`,
      ended_at: sql<Date>`coalesce(ended_at, ${outcome.endedAt})`,
      duration_seconds: sql<number>`coalesce(duration_seconds, ${Math.round(outcome.durationSeconds)}::integer)`,
      transcript: sql<string>`case
        when ended_at is null and jsonb_array_length(${transcript}) > 0 then ${transcript}
        when jsonb_array_length(transcript) = 0 then ${transcript}
        else transcript end`,
      metadata: sql<string>`metadata || ${json(outcome.metadata)}`,
    })
    .where("tenant_id", "=", tenantId)
    .where("id", "=", id)
    // A call written off for never streaming must not overwrite one another instance picked up. "Never
    // streamed", not "ringing": Twilio's status callback may already have moved a placed call on.
    .$if(opts.onlyIfRinging === true, (q) => q.where(sql<boolean>`metadata->>'stream_sid' is null`))
    .returningAll()
    .executeTakeFirst();
  if (row !== undefined) return row;
  if (opts.onlyIfRinging) return null;
  throw new NotFoundError("call log", id);
}

/** The media stream started. Never reopens a log that has already been finished. */
export async function markCallInProgress(db: Queryable, tenantId: string, id: string, streamSid: string): Promise<void> {
  if (!isUuid(tenantId) || !isUuid(id)) throw new NotFoundError("call log", id);
  await db
    .updateTable("call_logs")
    .set({ status: "in-progress", metadata: sql<string>`metadata || ${json({ stream_sid: streamSid })}` })
    .where("tenant_id", "=", tenantId)
    .where("id", "=", id)
    .where("ended_at", "is", null)
    .execute();
}

export function toCallLogResponse(row: CallLogRow & { agent_name?: string | null }): CallLogResponse {
  return {
    id: row.id,
    tenant_id: row.tenant_id,
    agent_id: row.agent_id,
    agent_name: row.agent_name ?? null,
    phone_number_id: row.phone_number_id,
    twilio_call_sid: row.twilio_call_sid,
    direction: row.direction,
    from_number: row.from_number,
    to_number: row.to_number,
    status: row.status,
    started_at: toIso(row.started_at),
    ended_at: toIso(row.ended_at),
    duration_seconds: row.duration_seconds,
    transcript: row.transcript,
    metadata: row.metadata,
    voice_provider: row.voice_provider,
    amd_status: row.amd_status,
    amd_detection_ms: row.amd_detection_ms,
    recording_url: row.recording_url,
  };
}
