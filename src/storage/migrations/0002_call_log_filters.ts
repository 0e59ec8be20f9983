/**
 * Indexes for the call-log list and export: newest first with `id` as the tie-break, so a page and
 * a keyset cursor `(started_at, id) < (…)` are both one index range scan.
 *
 * - (tenant_id, started_at desc, id desc): every list/export; date_from/date_to are a range on it.
 *   It supersedes 0001's (tenant_id, started_at desc), which lacked the tie-break.
 * - (agent_id, started_at desc, id desc): the agent filter. Agent ids are globally unique, so no
 *   tenant prefix is needed (the tenant predicate still applies), and it serves the agent FK's
 *   ON DELETE SET NULL lookup too.
 * - (tenant_id, status, started_at desc, id desc): status is skewed (rare `failed` among many
 *   `completed`), so a newest-first scan of the tenant index would read far to fill a page.
 * - (phone_number_id): the phone-number FK's ON DELETE SET NULL, else each number delete scans all logs.
 * No direction index: three values, mostly `inbound`; the tenant index with a filter serves it.
 */
import type { Kysely, Migration } from "kysely";

export const callLogFilters: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropIndex("call_logs_tenant_started_idx").ifExists().execute();
    await db.schema
      .createIndex("call_logs_tenant_started_id_idx")
      .on("call_logs")
      .columns(["tenant_id", "started_at desc", "id desc"])
      .execute();
    await db.schema
      .createIndex("call_logs_agent_started_id_idx")
      .on("call_logs")
      .columns(["agent_id", "started_at desc", "id desc"])
      .execute();
    await db.schema
      .createIndex("call_logs_tenant_status_started_id_idx")
      .on("call_logs")
      .columns(["tenant_id", "status", "started_at desc", "id desc"])
      .execute();
    await db.schema.createIndex("call_logs_phone_number_idx").on("call_logs").column("phone_number_id").execute();
  },

  async down(db: Kysely<unknown>): Promise<void> {
    for (const name of ["call_logs_phone_number_idx", "call_logs_tenant_status_started_id_idx", "call_logs_agent_started_id_idx", "call_logs_tenant_started_id_idx"]) {
      await db.schema.dropIndex(name).execute();
    }
    await db.schema.createIndex("call_logs_tenant_started_idx").on("call_logs").columns(["tenant_id", "started_at desc"]).execute();
  },
};
