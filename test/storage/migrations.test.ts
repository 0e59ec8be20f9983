import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sql } from "kysely";
import { afterAll, describe, expect, it, vi } from "vitest";
import { createTenant, getTenant, migrateToLatest, openDatabase, redactUrl } from "../../src/storage/index.js";
import { databaseUrl, openPostgresSchema, uniqueSchema } from "./backends.js";

const TABLES = ["agents", "api_keys", "call_logs", "phone_numbers", "tenants"];

describe("migrations on embedded PGlite", () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  it("persists under dataDir/pglite and migrates only once across reopen", async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "patchbay-pglite-"));
    dirs.push(dataDir);
    const log = vi.fn();
    const first = await openDatabase({ dataDir, log });
    expect(first.kind).toBe("pglite");
    expect(log).toHaveBeenCalledWith("storage: migrations applied", {
      migrations: ["0001_initial", "0002_call_log_filters", "0003_tenant_twilio", "0004_outbound", "0005_functions"],
    });
    const tenant = await createTenant(first.db, "acme");
    await first.close();

    log.mockClear();
    const second = await openDatabase({ dataDir, log });
    try {
      expect(log).not.toHaveBeenCalledWith("storage: migrations applied", expect.anything());
      expect(await migrateToLatest(second.db)).toEqual([]);
      expect((await getTenant(second.db, tenant.id))?.name).toBe("acme");
    } finally {
      await second.close();
    }
  });

  it("rejects the schema option without PostgreSQL", async () => {
    await expect(openDatabase({ dataDir: ":memory:", schema: "x" })).rejects.toThrow(/DATABASE_URL/);
  });
});

describe.runIf(databaseUrl !== undefined)("migrations on PostgreSQL", () => {
  const url = databaseUrl ?? "";

  it("creates the schema, keeps tables inside it, and is idempotent on a second open", async () => {
    const schema = uniqueSchema();
    const first = await openPostgresSchema(url, schema);
    try {
      const second = await openDatabase({ databaseUrl: url, dataDir: ":memory:", schema });
      expect(await migrateToLatest(second.db)).toEqual([]);
      await second.close();
      const tables = await sql<{ table_name: string }>`
        select table_name from information_schema.tables where table_schema = ${schema} order by table_name`.execute(first.db);
      expect(tables.rows.map((r) => r.table_name)).toEqual(expect.arrayContaining(TABLES));
    } finally {
      await first.close();
    }
  });

  it("migrates a schema of its own even when another schema in the database is already migrated", async () => {
    const migrated = await openPostgresSchema(url, uniqueSchema());
    const schema = uniqueSchema();
    const fresh = await openPostgresSchema(url, schema);
    try {
      const tables = await sql<{ table_name: string }>`
        select table_name from information_schema.tables where table_schema = ${schema}`.execute(fresh.db);
      expect(tables.rows.map((r) => r.table_name)).toEqual(expect.arrayContaining([...TABLES, "kysely_migration"]));
    } finally {
      await fresh.close();
      await migrated.close();
    }
  });

  it("never logs the password of the database URL", async () => {
    const withPassword = new URL(url);
    withPassword.password = "s3cret-pw";
    const log = vi.fn();
    const schema = uniqueSchema();
    const store = await openDatabase({ databaseUrl: withPassword.toString(), dataDir: ":memory:", schema, log });
    try {
      expect(store.kind).toBe("postgres");
      expect(log).toHaveBeenCalled();
      expect(JSON.stringify(log.mock.calls)).not.toContain("s3cret-pw");
    } finally {
      await store.close();
    }
  });

  it("refuses a schema name that is not a plain identifier", async () => {
    await expect(openDatabase({ databaseUrl: url, dataDir: ":memory:", schema: "x; drop" })).rejects.toThrow(/invalid schema/);
  });
});

describe("redactUrl", () => {
  it("masks the password and keeps the rest", () => {
    expect(redactUrl("postgres://u:pw@db.example:5432/app")).toBe("postgres://u:***@db.example:5432/app");
    expect(redactUrl("postgres://u@db.example/app")).toBe("postgres://u@db.example/app");
    expect(redactUrl("not a url :pw@")).not.toContain("pw");
  });
});
