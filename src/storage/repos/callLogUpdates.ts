/**
 * Call-log changes driven by outbound placement and Twilio's callbacks. Each is one SQL statement whose
 * SET reads the row as it was, so retried and reordered callbacks can't race each other into a
 * read-modify-write; none of them reopens a finished call.
 */
import { randomUUID } from "node:crypto";
import { sql, type Kysely, type RawBuilder } from "kysely";
import { isUniqueViolation } from "../errors.js";
import type { CallLogRow, Database } from "../schema.js";
import { createCallLog, type CallLogInput } from "./callLogs.js";
import { isUuid, json, toCount, type Queryable } from "./shared.js";

/** A placed call's log exists before Twilio names the call; until then its SID is this plus a UUID. */
export const PENDING_SID_PREFIX = "pending:";

/** Twilio's call statuses, in the order a call moves through them; the last five are final. */
export const TWILIO_TERMINAL_STATUSES = ["completed", "busy", "no-answer", "failed", "canceled"] as const;
export const TWILIO_CALL_STATUSES = ["queued", "initiated", "ringing", "in-progress", ...TWILIO_TERMINAL_STATUSES] as const;
export type TwilioCallStatus = (typeof TWILIO_CALL_STATUSES)[number];

/** An unfinished outbound call older than this stops counting against the cap: its final callback was lost (calls are capped at 180 min). */
export const LIVE_OUTBOUND_MAX_AGE_MS = 4 * 60 * 60 * 1000;

// Namespace for the per-tenant advisory lock that serialises the concurrency check with the insert.
const OUTBOUND_LOCK_NAMESPACE = 0x7062_0002;


/** A status's place in a call's life; anything we don't know counts as final. */
function rank(status: RawBuilder<string> | string): RawBuilder<number> {
  const expr = typeof status === "string" ? sql`${status}::text` : status;
  return sql<number>`(case ${expr} when 'queued' then 0 when 'initiated' then 1 when 'ringing' then 2 when 'in-progress' then 3 else 4 end)`;
}

export function isTerminalStatus(status: string): boolean {
  return (TWILIO_TERMINAL_STATUSES as readonly string[]).includes(status);
}

/**
 * Inserts a placed call's log with a pending SID unless the tenant already has `maxConcurrent` outbound
 * calls unfinished (then null). The count and the insert share a per-tenant lock, so two requests can't
 * both take the last slot.
 */
export async function createOutboundCallLog(
  db: Kysely<Database>,
  tenantId: string,
  input: Omit<CallLogInput, "twilio_call_sid" | "direction">,
  maxConcurrent: number,
): Promise<CallLogRow | null> {
  return db.transaction().execute(async (trx) => {
    await sql`select pg_advisory_xact_lock(${sql.lit(OUTBOUND_LOCK_NAMESPACE)}, hashtext(${tenantId}))`.execute(trx);
    if ((await countLiveOutbound(trx, tenantId)) >= maxConcurrent) return null;
    return createCallLog(trx, tenantId, { ...input, direction: "outbound", twilio_call_sid: PENDING_SID_PREFIX + randomUUID() });
  });
}

/** Outbound calls of the tenant not yet finished (and not so old that their end was surely missed). */
export async function countLiveOutbound(db: Queryable, tenantId: string): Promise<number> {
  const since = new Date(Date.now() - LIVE_OUTBOUND_MAX_AGE_MS);
  const { live } = await db
    .selectFrom("call_logs")
    .select((eb) => eb.fn.countAll<string | number>().as("live"))
    .where("tenant_id", "=", tenantId)
    .where("direction", "=", "outbound")
    .where("ended_at", "is", null)
    .where("started_at", ">", since)
    .executeTakeFirstOrThrow();
  return toCount(live);
}

/** Twilio accepted the call: the log takes its SID (unless the voice webhook already gave it that SID). */
export async function recordPlacedCallSid(db: Queryable, tenantId: string, callId: string, callSid: string): Promise<boolean> {
  if (!isUuid(tenantId) || !isUuid(callId)) return false;
  const result = await db
    .updateTable("call_logs")
    .set({ twilio_call_sid: callSid })
    .where("tenant_id", "=", tenantId)
    .where("id", "=", callId)
    .where((eb) => eb.or([eb("twilio_call_sid", "=", callSid), eb("twilio_call_sid", "like", `${PENDING_SID_PREFIX}%`)]))
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

/** Twilio refused the call, or never answered the request: the log ends failed with the reason. */
export async function failPlacedCall(
  db: Queryable,
  tenantId: string,
  callId: string,
  endedAt: Date,
  metadata: Record<string, unknown>,
): Promise<void> {
  if (!isUuid(tenantId) || !isUuid(callId)) return;
  await db
    .updateTable("call_logs")
    .set({ status: "failed", ended_at: endedAt, duration_seconds: 0, metadata: sql<string>`metadata || ${json(metadata)}` })
    .where("tenant_id", "=", tenantId)
    .where("id", "=", callId)
    .where("ended_at", "is", null)
    .execute();
}

/**
 * The voice webhook of a call we placed: binds its log to the CallSid and marks the webhook seen, once.
 * Null when the log isn't this tenant's unfinished outbound call, carries another SID, or an earlier
 * delivery of the webhook already claimed it (the caller then treats this one as a retry).
 */
export async function claimPlacedCall(
  db: Queryable,
  tenantId: string,
  callId: string,
  callSid: string,
  at: Date,
): Promise<CallLogRow | null> {
  if (!isUuid(tenantId) || !isUuid(callId)) return null;
  try {
    const row = await db
      .updateTable("call_logs")
      .set({
        twilio_call_sid: callSid,
        // The call starts when answered (metadata.initiated_at keeps when it was placed), as an inbound one does.
        started_at: at,
        // The call is answered now; the stream will say in-progress. Never moves a status backwards.
        status: sql<string>`case when ${rank(sql`status`)} < 2 then 'ringing' else status end`,
        metadata: sql<string>`metadata || ${json({ voice_webhook_at: at.toISOString() })}`,
      })
      .where("tenant_id", "=", tenantId)
      .where("id", "=", callId)
      .where("direction", "=", "outbound")
      .where("ended_at", "is", null)
      .where((eb) => eb.or([eb("twilio_call_sid", "=", callSid), eb("twilio_call_sid", "like", `${PENDING_SID_PREFIX}%`)]))
      .where(sql<boolean>`not (metadata ? 'voice_webhook_at')`)
      .returningAll()
      .executeTakeFirst();
    return row ?? null;
  } catch (err) {
    // Another log of this tenant already holds the SID: not ours to claim.
    if (isUniqueViolation(err)) return null;
    throw err;
  }
}

export interface StatusUpdate {
  status: TwilioCallStatus;
  /** Twilio's Timestamp of the event. */
  at: Date;
  /** CallDuration, on final statuses. */
  durationSeconds: number | null;
}

/** What the row says after a status callback; null when the CallSid is unknown to the tenant. */
export interface StatusResult {
  id: string;
  status: string;
  ended_at: Date | null;
}

/**
 * A status callback. Statuses only move forward; a final one sets ended_at and duration once and is
 * never overwritten (a late "ringing" after "completed" changes nothing). Replays leave the same row.
 */
export async function applyCallStatus(db: Queryable, tenantId: string, callSid: string, update: StatusUpdate): Promise<StatusResult | null> {
  if (!isUuid(tenantId)) return null;
  const terminal = isTerminalStatus(update.status);
  const open = sql<boolean>`ended_at is null`;
  const advances = sql<boolean>`(${open} and ${rank(sql`status`)} < ${rank(update.status)})`;
  const computedDuration = sql<number>`greatest(0, round(extract(epoch from (${update.at}::timestamptz - started_at))))::integer`;
  const duration = update.durationSeconds === null ? computedDuration : sql<number>`${update.durationSeconds}::integer`;
  const finalFacts = { twilio_status: update.status, ...(update.durationSeconds === null ? {} : { twilio_duration_seconds: update.durationSeconds }) };
  const set = terminal
    ? {
        status: sql<string>`case when ${advances} then ${update.status}::text else status end`,
        ended_at: sql<Date>`case when ${open} then ${update.at}::timestamptz else ended_at end`,
        duration_seconds: sql<number>`case when ${open} then ${duration} else duration_seconds end`,
        // Twilio's first final word is kept (a late "failed" can't rewrite it); when it is what ends the
        // log, it is also the reason (a session finishing later adds its own).
        metadata: sql<string>`metadata
          || case when metadata ? 'twilio_status' then '{}'::jsonb else ${json(finalFacts)} end
          || case when ${open} then ${json({ end_reason: "twilio_status" })} else '{}'::jsonb end`,
      }
    : { status: sql<string>`case when ${advances} then ${update.status}::text else status end` };
  const row = await db
    .updateTable("call_logs")
    .set(set)
    .where("tenant_id", "=", tenantId)
    .where("twilio_call_sid", "=", callSid)
    .returning(["id", "status", "ended_at"])
    .executeTakeFirst();
  return row ?? null;
}

/** The recording callback; the call log's id, or null when the CallSid is unknown. */
export async function recordRecording(
  db: Queryable,
  tenantId: string,
  callSid: string,
  recording: { url: string; recordingSid: string | null; durationSeconds: number | null },
): Promise<string | null> {
  if (!isUuid(tenantId)) return null;
  const facts = { recording_sid: recording.recordingSid, recording_duration_seconds: recording.durationSeconds };
  const row = await db
    .updateTable("call_logs")
    .set({ recording_url: recording.url, metadata: sql<string>`metadata || ${json(facts)}` })
    .where("tenant_id", "=", tenantId)
    .where("twilio_call_sid", "=", callSid)
    .returning("id")
    .executeTakeFirst();
  return row?.id ?? null;
}

/** The answering-machine verdict; the call log's id, or null when the CallSid is unknown. */
export async function recordAnsweredBy(
  db: Queryable,
  tenantId: string,
  callSid: string,
  amd: { answeredBy: string; detectionMs: number | null },
): Promise<string | null> {
  if (!isUuid(tenantId)) return null;
  const row = await db
    .updateTable("call_logs")
    .set({ amd_status: amd.answeredBy, amd_detection_ms: amd.detectionMs })
    .where("tenant_id", "=", tenantId)
    .where("twilio_call_sid", "=", callSid)
    .returning("id")
    .executeTakeFirst();
  return row?.id ?? null;
}
