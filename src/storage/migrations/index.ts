/** Migrations are listed in code, not scanned from disk, so they run the same from src/ and dist/. */
import { Migrator, sql, type Kysely, type Migration, type MigrationProvider } from "kysely";
import { initial } from "./0001_initial.js";
import { callLogFilters } from "./0002_call_log_filters.js";
import { tenantTwilio } from "./0003_tenant_twilio.js";
import { outbound } from "./0004_outbound.js";
import { functions } from "./0005_functions.js";

// Names sort lexically; kysely applies them in that order and refuses gaps in history.
const MIGRATIONS: Record<string, Migration> = {
  "0001_initial": initial,
  "0002_call_log_filters": callLogFilters,
  "0003_tenant_twilio": tenantTwilio,
  "0004_outbound": outbound,
  "0005_functions": functions,
};

const provider: MigrationProvider = {
  async getMigrations() {
    return MIGRATIONS;
  },
};

/** Applies pending migrations; returns the names applied now (empty when already current). */
export async function migrateToLatest<DB>(db: Kysely<DB>): Promise<string[]> {
  // Pin kysely's bookkeeping tables to our schema: unpinned, the migrator takes another schema's
  // kysely_migration table in the same database (another app, another tenant schema) for ours.
  const { rows } = await sql<{ schema: string }>`select current_schema() as schema`.execute(db);
  const schema = rows[0]?.schema;
  if (schema === undefined) throw new Error("database has no current schema: check the search_path");
  const migrator = new Migrator({ db, provider, migrationTableSchema: schema });
  const { error, results } = await migrator.migrateToLatest();
  if (error !== undefined) {
    const failed = results?.find((r) => r.status === "Error")?.migrationName ?? "unknown";
    throw new Error(`database migration ${failed} failed`, { cause: error });
  }
  return (results ?? []).filter((r) => r.status === "Success").map((r) => r.migrationName);
}
