/**
 * Kysely over embedded PGlite: kysely's own PostgresDialect, fed a one-connection "pool".
 * PGlite is a single session, so a connection is an exclusive lease: a transaction holds it from
 * BEGIN to COMMIT and every other query waits its turn instead of landing inside that transaction.
 * Consequence: inside `db.transaction()` use `trx`, never `db` — on PGlite a query on `db` waits forever.
 */
import type { PGlite } from "@electric-sql/pglite";
import {
  PostgresDialect,
  type PostgresCursor,
  type PostgresPool,
  type PostgresPoolClient,
  type PostgresQueryResult,
} from "kysely";

type Command = PostgresQueryResult<unknown>["command"];
const COMMANDS: ReadonlySet<string> = new Set<Command>(["INSERT", "UPDATE", "DELETE", "SELECT", "MERGE"]);

/** FIFO async mutex; `acquire` resolves with a release function that is safe to call twice. */
class Lease {
  #tail: Promise<void> = Promise.resolve();

  acquire(): Promise<() => void> {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const granted = this.#tail.then(() => release);
    this.#tail = this.#tail.then(() => held);
    return granted;
  }
}

class PGliteClient implements PostgresPoolClient {
  readonly #pglite: PGlite;
  #release: (() => void) | undefined;

  constructor(pglite: PGlite, release: () => void) {
    this.#pglite = pglite;
    this.#release = release;
  }

  query<R>(sql: string, parameters: ReadonlyArray<unknown>): Promise<PostgresQueryResult<R>>;
  query<R>(cursor: PostgresCursor<R>): PostgresCursor<R>;
  query<R>(
    sqlOrCursor: string | PostgresCursor<R>,
    parameters?: ReadonlyArray<unknown>,
  ): Promise<PostgresQueryResult<R>> | PostgresCursor<R> {
    if (typeof sqlOrCursor !== "string") {
      throw new Error("PGlite dialect does not support cursors (streamQuery)");
    }
    return this.#run<R>(sqlOrCursor, parameters ?? []);
  }

  release(): void {
    const release = this.#release;
    this.#release = undefined;
    release?.();
  }

  async #run<R>(sql: string, parameters: ReadonlyArray<unknown>): Promise<PostgresQueryResult<R>> {
    // A query after release would slip past the lease and could land inside someone else's transaction.
    if (this.#release === undefined) throw new Error("PGlite connection used after release");
    const result = await this.#pglite.query<R>(sql, [...parameters]);
    return {
      command: toCommand(result.command ?? sql),
      rowCount: result.rowCount ?? result.affectedRows ?? 0,
      rows: result.rows,
    };
  }
}

/** Kysely counts affected rows only for INSERT/UPDATE/DELETE/MERGE; anything else reads as SELECT. */
function toCommand(commandOrSql: string): Command {
  const verb = /^\s*(\w+)/.exec(commandOrSql)?.[1]?.toUpperCase() ?? "";
  return COMMANDS.has(verb) ? (verb as Command) : "SELECT";
}

/** The pg `Pool` subset kysely needs, backed by one PGlite instance that `end()` closes. */
export class PGlitePool implements PostgresPool {
  readonly #pglite: PGlite;
  readonly #lease = new Lease();

  constructor(pglite: PGlite) {
    this.#pglite = pglite;
  }

  async connect(): Promise<PostgresPoolClient> {
    const release = await this.#lease.acquire();
    return new PGliteClient(this.#pglite, release);
  }

  async end(): Promise<void> {
    // Wait for the current holder so close never cuts a transaction in half.
    const release = await this.#lease.acquire();
    try {
      if (!this.#pglite.closed) await this.#pglite.close();
    } finally {
      release();
    }
  }
}

export function createPGliteDialect(pglite: PGlite): PostgresDialect {
  return new PostgresDialect({ pool: new PGlitePool(pglite) });
}
