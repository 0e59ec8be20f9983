/** The storage backends a suite runs on: in-memory PGlite always, PostgreSQL when DATABASE_URL is set. */
import { randomBytes } from "node:crypto";
import { IN_MEMORY, openDatabase, type Db, type DbKind } from "../../src/storage/index.js";
import { TEST_SCHEMA_PREFIX } from "../setup/pgSchemas.js";

export interface StorageBackend {
  kind: DbKind;
  /** A fresh, isolated, migrated database (PostgreSQL: its own schema, dropped after the whole run). */
  open(): Promise<Db>;
}

export const databaseUrl = process.env.DATABASE_URL !== undefined && process.env.DATABASE_URL !== "" ? process.env.DATABASE_URL : undefined;

/** A schema name no other test file will pick. */
export function uniqueSchema(): string {
  return `${TEST_SCHEMA_PREFIX}${randomBytes(6).toString("hex")}`;
}

/** Not dropped on close: test/setup/pgSchemas.ts drops every test schema once all files are done. */
export function openPostgresSchema(url: string, schema: string): Promise<Db> {
  return openDatabase({ databaseUrl: url, dataDir: IN_MEMORY, schema });
}

export const storageBackends: StorageBackend[] = [
  { kind: "pglite", open: () => openDatabase({ dataDir: IN_MEMORY }) },
  ...(databaseUrl !== undefined
    ? [{ kind: "postgres" as const, open: () => openPostgresSchema(databaseUrl, uniqueSchema()) }]
    : []),
];
