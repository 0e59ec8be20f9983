/**
 * Drops the per-file PostgreSQL test schemas once, after every file has run (and any a crashed run
 * left behind, before). Dropping them as each file finished raced kysely's migrator in other files:
 * its introspection query walks every schema in the database and fails on one dropped mid-query.
 */
import pg from "pg";

export const TEST_SCHEMA_PREFIX = "pb_test_";

async function dropTestSchemas(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  await client.connect();
  try {
    const { rows } = await client.query<{ nspname: string }>(
      "select nspname from pg_catalog.pg_namespace where starts_with(nspname, $1)",
      [TEST_SCHEMA_PREFIX],
    );
    for (const { nspname } of rows) await client.query(`drop schema if exists "${nspname}" cascade`);
  } finally {
    await client.end();
  }
}

export default async function setup(): Promise<(() => Promise<void>) | undefined> {
  const url = process.env.DATABASE_URL;
  if (url === undefined || url === "") return undefined;
  await dropTestSchemas(url);
  return () => dropTestSchemas(url);
}
