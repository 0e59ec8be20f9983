/** Which tenant runs the platform, and each tenant's own Twilio account (auth token sealed by secretBox). */
import { sql, type Kysely, type Migration } from "kysely";

export const tenantTwilio: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .alterTable("tenants")
      .addColumn("is_platform", "boolean", (c) => c.notNull().defaultTo(false))
      .addColumn("twilio_account_sid", "text")
      .addColumn("twilio_auth_token_enc", "text")
      .execute();
    // A SID without its token (or the reverse) could neither place calls nor check signatures.
    await db.schema
      .alterTable("tenants")
      .addCheckConstraint("tenants_twilio_pair", sql`(twilio_account_sid is null) = (twilio_auth_token_enc is null)`)
      .execute();
    // At most one platform tenant: its admin keys manage every other tenant.
    await db.schema.createIndex("tenants_one_platform").on("tenants").column("is_platform").unique().where(sql.ref("is_platform"), "=", true).execute();
  },
};
