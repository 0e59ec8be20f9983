/**
 * Custom functions: a tenant's library of webhook-backed tools, which agents they are attached to
 * (each attachment with its own on/off switch), and the tenant's secret for signing webhook requests.
 */
import { sql, type Kysely, type Migration } from "kysely";

export const functions: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    // Null until the tenant first needs it (a function is called or tested, or an admin reads it).
    await db.schema.alterTable("tenants").addColumn("webhook_secret", "text").execute();

    await db.schema
      .createTable("custom_functions")
      .addColumn("id", "uuid", (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
      .addColumn("tenant_id", "uuid", (c) => c.notNull().references("tenants.id").onDelete("cascade"))
      .addColumn("name", "text", (c) => c.notNull())
      .addColumn("description", "text", (c) => c.notNull())
      .addColumn("parameters", "jsonb", (c) => c.notNull().defaultTo(sql`'{"type":"object","properties":{}}'::jsonb`))
      .addColumn("webhook_url", "text", (c) => c.notNull())
      .addColumn("webhook_method", "text", (c) => c.notNull().defaultTo("POST"))
      .addColumn("webhook_headers", "jsonb", (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
      .addColumn("webhook_timeout_ms", "integer", (c) => c.notNull().defaultTo(5000))
      .addColumn("is_enabled", "boolean", (c) => c.notNull().defaultTo(true))
      .addColumn("speak_during_execution", "boolean", (c) => c.notNull().defaultTo(true))
      .addColumn("created_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
      .addColumn("updated_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
      .addCheckConstraint("custom_functions_method_check", sql`webhook_method in ('GET', 'POST', 'PUT', 'PATCH', 'DELETE')`)
      .addCheckConstraint("custom_functions_timeout_check", sql`webhook_timeout_ms between 1000 and 30000`)
      // The model calls a function by name, so a name means one function per tenant.
      .addUniqueConstraint("custom_functions_tenant_name_key", ["tenant_id", "name"])
      .execute();

    await db.schema
      .createTable("agent_functions")
      // The tenant of both ends, so every query can filter on it; the repository only links a tenant's own rows.
      .addColumn("tenant_id", "uuid", (c) => c.notNull().references("tenants.id").onDelete("cascade"))
      .addColumn("agent_id", "uuid", (c) => c.notNull().references("agents.id").onDelete("cascade"))
      .addColumn("function_id", "uuid", (c) => c.notNull().references("custom_functions.id").onDelete("cascade"))
      .addColumn("is_enabled", "boolean", (c) => c.notNull().defaultTo(true))
      .addColumn("created_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
      .addPrimaryKeyConstraint("agent_functions_pkey", ["agent_id", "function_id"])
      .execute();
    // The primary key serves lookups by agent; this one the function side (its list and delete cascade).
    await db.schema.createIndex("agent_functions_function_idx").on("agent_functions").column("function_id").execute();
  },

  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropTable("agent_functions").execute();
    await db.schema.dropTable("custom_functions").execute();
    await db.schema.alterTable("tenants").dropColumn("webhook_secret").execute();
  },
};
