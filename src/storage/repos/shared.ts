/** Helpers shared by the repositories. */
import { sql, type Kysely, type RawBuilder, type Transaction } from "kysely";
import type { Database } from "../schema.js";

/** Repositories accept the root handle or a transaction. */
export type Queryable = Kysely<Database> | Transaction<Database>;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Ids come from URLs; a malformed one is "not found", not a database cast error. */
export function isUuid(value: string): boolean {
  return UUID.test(value);
}

export function toIso(value: Date): string;
export function toIso(value: Date | null): string | null;
export function toIso(value: Date | null): string | null {
  return value === null ? null : value.toISOString();
}

/** COUNT(*) is bigint: node-postgres returns a string, PGlite a number. */
export function toCount(value: string | number | bigint): number {
  return Number(value);
}

/** A value as a jsonb SQL expression (text, then cast: both drivers pass it as a plain string). */
export function json(value: unknown): RawBuilder<string> {
  return sql<string>`${JSON.stringify(value)}::text::jsonb`;
}
