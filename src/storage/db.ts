/** Opens the store: embedded PGlite by default, PostgreSQL when a URL is given; migrates on open. */
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { Kysely, PostgresDialect, sql } from "kysely";
import { migrateToLatest } from "./migrations/index.js";
import { PGlitePool } from "./pgliteDialect.js";
import type { Database } from "./schema.js";

export type DbKind = "pglite" | "postgres";

export interface Db {
  db: Kysely<Database>;
  kind: DbKind;
  close(): Promise<void>;
}

export interface OpenDatabaseOptions {
  /** PostgreSQL connection string; absent → embedded PGlite under `dataDir`. */
  databaseUrl?: string;
  /** Directory for PGlite files (`dataDir/pglite`); ":memory:" keeps the database in memory. */
  dataDir: string;
  /** PostgreSQL only: a schema to create and pin every connection's search_path to. */
  schema?: string;
  log?: (msg: string, extra?: object) => void;
  /** Boot the engine only after this settles (PGlite's WASM start blocks the event loop for a moment). */
  bootAfter?: Promise<unknown>;
}

export const IN_MEMORY = ":memory:";
// Plain identifiers only: the name is spliced into a connection startup option.
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** A store whose `db` is usable at once; queries made before `ready` wait for it to boot and migrate. */
export interface StartingDb extends Db {
  readonly ready: Promise<void>;
}

/** Opens and migrates the store, resolving when it is ready. */
export async function openDatabase(opts: OpenDatabaseOptions): Promise<Db> {
  const store = startDatabase(opts);
  try {
    await store.ready;
  } catch (err) {
    await store.close();
    throw err;
  }
  return store;
}

/**
 * Starts opening the store without waiting: PGlite's first boot (initdb) takes seconds, and the HTTP
 * server should answer /health meanwhile. Callers gate their queries on `ready` (migrations done).
 */
export function startDatabase(opts: OpenDatabaseOptions): StartingDb {
  const opened = opts.databaseUrl !== undefined && opts.databaseUrl !== "" ? startPostgres(opts.databaseUrl, opts) : startPGlite(opts);
  const ready = opened.booted.then(async () => {
    const applied = await migrateToLatest(opened.db);
    if (applied.length > 0) opts.log?.("storage: migrations applied", { migrations: applied });
    // PGlite has no autovacuum, so no planner statistics: without them a filtered call-log page or export
    // sorts every row. Refreshed at each start.
    if (opened.kind === "pglite") await sql`analyze`.execute(opened.db);
  });
  // Callers await `ready`; this only keeps an unobserved failure from being an unhandled rejection.
  ready.catch(() => {});
  return { db: opened.db, kind: opened.kind, ready, close: () => opened.close() };
}

interface Opening extends Db {
  /** Resolves when the engine is up (before migrations). */
  booted: Promise<void>;
}

function startPGlite(opts: OpenDatabaseOptions): Opening {
  if (opts.schema !== undefined) throw new Error("the schema option needs DATABASE_URL (PostgreSQL)");
  const pgliteP = (async () => {
    await opts.bootAfter?.catch(() => undefined);
    if (opts.dataDir === IN_MEMORY) return PGlite.create();
    const dir = join(opts.dataDir, "pglite");
    await mkdir(dir, { recursive: true });
    const pglite = await PGlite.create(dir);
    opts.log?.("storage: opened embedded PGlite", { dataDir: opts.dataDir });
    return pglite;
  })();
  const booted = pgliteP.then(() => undefined);
  booted.catch(() => {});
  // Kysely takes a pool factory: the first query waits for PGlite to boot.
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: async () => new PGlitePool(await pgliteP) }) });
  return {
    db,
    kind: "pglite",
    booted,
    async close() {
      await db.destroy();
      // destroy() skips pool.end() if no query ever ran.
      const pglite = await pgliteP.catch(() => null);
      if (pglite !== null && !pglite.closed) await pglite.close();
    },
  };
}

function startPostgres(databaseUrl: string, opts: OpenDatabaseOptions): Opening {
  const { schema } = opts;
  if (schema !== undefined && !SCHEMA_NAME.test(schema)) {
    throw new Error(`invalid schema name ${JSON.stringify(schema)}: use lowercase letters, digits, underscore`);
  }
  // node-postgres is loaded only when configured: an embedded start shouldn't pay for it.
  const createPool = async () => {
    const { default: pg } = await import("pg");
    const pool = new pg.Pool({
      connectionString: databaseUrl,
      // A database that stops answering must fail queries, not hang them: call logs retry on failure.
      connectionTimeoutMillis: 5_000,
      query_timeout: 15_000,
      ...(schema !== undefined ? { options: `-c search_path=${schema}` } : {}),
    });
    // An idle client's error (server restart, network drop) must not crash the process.
    pool.on("error", (err) => opts.log?.("storage: idle PostgreSQL client error", { err: err.message }));
    return pool;
  };
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: createPool }) });
  const booted = (async () => {
    if (schema !== undefined) await sql`create schema if not exists ${sql.id(schema)}`.execute(db);
    else await sql`select 1`.execute(db);
    opts.log?.("storage: connected to PostgreSQL", { url: redactUrl(databaseUrl), schema });
  })();
  booted.catch(() => {});
  return { db, kind: "postgres", booted, close: () => db.destroy() };
}

/** The URL without its password, safe for logs. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== "") parsed.password = "***";
    return parsed.toString();
  } catch {
    return "(unparseable database URL)";
  }
}
