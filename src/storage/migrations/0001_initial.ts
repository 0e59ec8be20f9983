/** Tenants, API keys, agents, phone numbers and call logs. */
import { sql, type Kysely, type Migration } from "kysely";

const uuidPk = sql`gen_random_uuid()`;
const now = sql`now()`;

export const initial: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable("tenants")
      .addColumn("id", "uuid", (c) => c.primaryKey().defaultTo(uuidPk))
      .addColumn("name", "text", (c) => c.notNull())
      .addColumn("created_at", "timestamptz", (c) => c.notNull().defaultTo(now))
      .execute();

    await db.schema
      .createTable("api_keys")
      .addColumn("id", "uuid", (c) => c.primaryKey().defaultTo(uuidPk))
      .addColumn("tenant_id", "uuid", (c) => c.notNull().references("tenants.id").onDelete("cascade"))
      .addColumn("name", "text", (c) => c.notNull())
      .addColumn("key_hash", "text", (c) => c.notNull().unique())
      .addColumn("key_prefix", "text", (c) => c.notNull())
      .addColumn("is_admin", "boolean", (c) => c.notNull().defaultTo(false))
      .addColumn("created_at", "timestamptz", (c) => c.notNull().defaultTo(now))
      .addColumn("last_used_at", "timestamptz")
      .addColumn("revoked_at", "timestamptz")
      .execute();
    await db.schema.createIndex("api_keys_tenant_idx").on("api_keys").column("tenant_id").execute();

    await db.schema
      .createTable("agents")
      .addColumn("id", "uuid", (c) => c.primaryKey().defaultTo(uuidPk))
      .addColumn("tenant_id", "uuid", (c) => c.notNull().references("tenants.id").onDelete("cascade"))
      .addColumn("name", "text", (c) => c.notNull())
      .addColumn("system_prompt", "text", (c) => c.notNull().defaultTo(""))
      .addColumn("greeting", "text")
      .addColumn("greeting_outbound", "text")
      .addColumn("voice_provider", "text", (c) => c.notNull().defaultTo("openai"))
      .addColumn("voice", "text", (c) => c.notNull().defaultTo("ara"))
      .addColumn("openai_voice", "text", (c) => c.notNull().defaultTo("alloy"))
      .addColumn("temperature", "double precision", (c) => c.notNull().defaultTo(0.7))
      .addColumn("ai_speaks_first", "boolean", (c) => c.notNull().defaultTo(true))
      .addColumn("is_active", "boolean", (c) => c.notNull().defaultTo(true))
      .addColumn("settings", "jsonb", (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
      .addColumn("created_at", "timestamptz", (c) => c.notNull().defaultTo(now))
      .addColumn("updated_at", "timestamptz", (c) => c.notNull().defaultTo(now))
      .execute();
    await db.schema.createIndex("agents_tenant_created_idx").on("agents").columns(["tenant_id", "created_at desc"]).execute();

    await db.schema
      .createTable("phone_numbers")
      .addColumn("id", "uuid", (c) => c.primaryKey().defaultTo(uuidPk))
      .addColumn("tenant_id", "uuid", (c) => c.notNull().references("tenants.id").onDelete("cascade"))
      // One number belongs to exactly one tenant, so uniqueness is global.
      .addColumn("phone_number", "text", (c) => c.notNull().unique())
      .addColumn("friendly_name", "text")
      .addColumn("agent_id", "uuid", (c) => c.references("agents.id").onDelete("set null"))
      .addColumn("twilio_sid", "text")
      .addColumn("is_active", "boolean", (c) => c.notNull().defaultTo(true))
      .addColumn("created_at", "timestamptz", (c) => c.notNull().defaultTo(now))
      .execute();
    await db.schema.createIndex("phone_numbers_tenant_idx").on("phone_numbers").column("tenant_id").execute();

    await db.schema
      .createTable("call_logs")
      .addColumn("id", "uuid", (c) => c.primaryKey().defaultTo(uuidPk))
      .addColumn("tenant_id", "uuid", (c) => c.notNull().references("tenants.id").onDelete("cascade"))
      // A call log outlives the agent and number it used.
      .addColumn("agent_id", "uuid", (c) => c.references("agents.id").onDelete("set null"))
      .addColumn("phone_number_id", "uuid", (c) => c.references("phone_numbers.id").onDelete("set null"))
      .addColumn("twilio_call_sid", "text", (c) => c.notNull())
      .addColumn("direction", "text", (c) => c.notNull())
      .addColumn("from_number", "text", (c) => c.notNull())
      .addColumn("to_number", "text", (c) => c.notNull())
      .addColumn("status", "text", (c) => c.notNull())
      .addColumn("started_at", "timestamptz", (c) => c.notNull().defaultTo(now))
      .addColumn("ended_at", "timestamptz")
      .addColumn("duration_seconds", "integer")
      .addColumn("transcript", "jsonb", (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
      .addColumn("metadata", "jsonb", (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
      .addColumn("voice_provider", "text")
      .addColumn("amd_status", "text")
      .addColumn("amd_detection_ms", "integer")
      .addColumn("recording_url", "text")
      .addCheckConstraint("call_logs_direction_check", sql`direction in ('inbound', 'outbound', 'test')`)
      .addUniqueConstraint("call_logs_tenant_call_sid_key", ["tenant_id", "twilio_call_sid"])
      .execute();
    await db.schema
      .createIndex("call_logs_tenant_started_idx")
      .on("call_logs")
      .columns(["tenant_id", "started_at desc"])
      .execute();
  },

  async down(db: Kysely<unknown>): Promise<void> {
    for (const table of ["call_logs", "phone_numbers", "agents", "api_keys", "tenants"]) {
      await db.schema.dropTable(table).execute();
    }
  },
};
