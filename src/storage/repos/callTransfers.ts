/**
 * A live call's transfer, kept in its log's `metadata.transfer`. Each change is one UPDATE whose SET merges
 * into the row as it is (`metadata || …`, `metadata->'transfer' || …`), so the session, Twilio's callbacks
 * and the whisper summary can write at the same time without losing each other's keys; replays leave the
 * same row. A call transferred twice keeps its latest transfer (each has its own `id`).
 */
import { sql, type RawBuilder } from "kysely";
import { isUuid, json, type Queryable } from "./shared.js";

export const TRANSFER_STATUSES = ["dialing", "answered", "failed"] as const;
export type TransferStatus = (typeof TRANSFER_STATUSES)[number];

/** Twilio's `DialCallStatus` on the `<Dial action>`. */
export const DIAL_CALL_STATUSES = ["completed", "answered", "busy", "no-answer", "failed", "canceled"] as const;
export type DialCallStatus = (typeof DIAL_CALL_STATUSES)[number];

export type SummarySource = "model" | "extract";

/** `metadata.transfer` as stored. */
export interface TransferRecord {
  /** Tells one transfer of the call from a later one, so a late summary can't land on the wrong one. */
  readonly id: string;
  readonly target_name: string;
  /** E.164, the number dialled. */
  readonly number: string;
  /** Why the agent transferred, in the model's words. */
  readonly reason: string;
  readonly status: TransferStatus;
  readonly started_at: string;
  readonly whisper_enabled: boolean;
  /** What the whisper says to the person who picks up; null with whisper off. */
  readonly summary: string | null;
  readonly summary_source: SummarySource | null;
  /** When Twilio fetched the whisper URL: the callee picked up. */
  readonly answered_at?: string;
  /** Twilio's DialCallStatus (or `redirect_failed` when Twilio never started the dial). */
  readonly outcome?: string;
  readonly dial_duration_seconds?: number | null;
  readonly dial_call_sid?: string | null;
  readonly finished_at?: string;
  /** Why the transfer could not start. */
  readonly error?: string;
}

export type TransferStart = Omit<TransferRecord, "status" | "answered_at" | "outcome" | "dial_duration_seconds" | "dial_call_sid" | "finished_at" | "error">;

/** Keys a later step adds to the transfer. */
export type TransferPatch = Partial<Omit<TransferRecord, "id" | "target_name" | "number" | "reason" | "started_at" | "whisper_enabled">>;


/** `metadata` with `patch` merged into its `transfer` object. */
function mergedTransfer(patch: RawBuilder<string>): RawBuilder<string> {
  return sql<string>`metadata || jsonb_build_object('transfer', coalesce(metadata->'transfer', '{}'::jsonb) || ${patch})`;
}

const isDialing = sql<boolean>`(metadata->'transfer'->>'status') = 'dialing'`;
const transferColumn = sql<TransferRecord | null>`metadata->'transfer'`.as("transfer");

/** The transfer starts (status `dialing`); false when the call is not this tenant's or has already ended. */
export async function recordTransferStart(db: Queryable, tenantId: string, callId: string, start: TransferStart): Promise<boolean> {
  if (!isUuid(tenantId) || !isUuid(callId)) return false;
  const transfer: TransferRecord = { ...start, status: "dialing" };
  const result = await db
    .updateTable("call_logs")
    .set({ metadata: sql<string>`metadata || ${json({ transfer })}` })
    .where("tenant_id", "=", tenantId)
    .where("id", "=", callId)
    .where("ended_at", "is", null)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

/** Adds `patch` to the transfer `transferId` (the summary, a failure to start); false when it is no longer the call's transfer. */
export async function updateTransfer(db: Queryable, tenantId: string, callId: string, transferId: string, patch: TransferPatch): Promise<boolean> {
  if (!isUuid(tenantId) || !isUuid(callId)) return false;
  const result = await db
    .updateTable("call_logs")
    .set({ metadata: mergedTransfer(json(patch)) })
    .where("tenant_id", "=", tenantId)
    .where("id", "=", callId)
    .where(sql<boolean>`(metadata->'transfer'->>'id') = ${transferId}`)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

export interface TransferAnswered {
  readonly callId: string;
  /** The call's transfer after the update; null when it never had one. */
  readonly transfer: TransferRecord | null;
}

/**
 * Twilio fetched the whisper URL of the call `callSid`: a dialling transfer becomes `answered`. Any other
 * state is left as it is (a replayed fetch changes nothing). Null when the tenant has no such call.
 */
export async function markTransferAnswered(db: Queryable, tenantId: string, callSid: string, at: Date): Promise<TransferAnswered | null> {
  if (!isUuid(tenantId)) return null;
  const answered = json({ status: "answered", answered_at: at.toISOString() });
  const row = await db
    .updateTable("call_logs")
    .set({ metadata: sql<string>`case when ${isDialing} then ${mergedTransfer(answered)} else metadata end` })
    .where("tenant_id", "=", tenantId)
    .where("twilio_call_sid", "=", callSid)
    .returning(["id", transferColumn])
    .executeTakeFirst();
  return row === undefined ? null : { callId: row.id, transfer: row.transfer };
}

export interface DialOutcome {
  readonly dialStatus: string;
  readonly durationSeconds: number | null;
  readonly dialCallSid: string | null;
  readonly at: Date;
}

export interface DialOutcomeResult {
  readonly callSid: string;
  readonly endedAt: Date | null;
  readonly transfer: TransferRecord | null;
}

/** Whether a DialCallStatus means the callee was bridged to the caller. */
export function dialConnected(dialStatus: string): boolean {
  return dialStatus === "completed" || dialStatus === "answered";
}

/**
 * The `<Dial action>` of call `callId`: its DialCallStatus, duration and final status. Twilio's first word
 * is kept (a replayed callback changes nothing). Null when the tenant has no such call.
 */
export async function recordDialOutcome(db: Queryable, tenantId: string, callId: string, outcome: DialOutcome): Promise<DialOutcomeResult | null> {
  if (!isUuid(tenantId) || !isUuid(callId)) return null;
  const patch: TransferPatch = {
    status: dialConnected(outcome.dialStatus) ? "answered" : "failed",
    outcome: outcome.dialStatus,
    dial_duration_seconds: outcome.durationSeconds,
    dial_call_sid: outcome.dialCallSid,
    finished_at: outcome.at.toISOString(),
  };
  const row = await db
    .updateTable("call_logs")
    .set({
      metadata: sql<string>`case when metadata->'transfer' is null or (metadata->'transfer' ? 'outcome') then metadata
        else ${mergedTransfer(json(patch))} end`,
    })
    .where("tenant_id", "=", tenantId)
    .where("id", "=", callId)
    .returning(["twilio_call_sid", "ended_at", transferColumn])
    .executeTakeFirst();
  return row === undefined ? null : { callSid: row.twilio_call_sid, endedAt: row.ended_at, transfer: row.transfer };
}
