/** Outbound calls: the per-tenant cap counts unfinished outbound calls on every placement. */
import { sql, type Kysely, type Migration } from "kysely";

export const outbound: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    // Partial: only live outbound calls are indexed, so the count stays a tiny scan however long the history.
    await db.schema
      .createIndex("call_logs_live_outbound_idx")
      .on("call_logs")
      .column("tenant_id")
      .where(sql.ref("direction"), "=", "outbound")
      .where(sql.ref("ended_at"), "is", null)
      .execute();
  },

  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropIndex("call_logs_live_outbound_idx").execute();
  },
};
