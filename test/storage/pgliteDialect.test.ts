import { PGlite } from "@electric-sql/pglite";
import { Kysely, sql, type Generated } from "kysely";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createPGliteDialect, PGlitePool } from "../../src/storage/index.js";

interface Db {
  items: { id: Generated<number>; name: string };
}

/** A promise plus its resolver, to hold a transaction open at a chosen point. */
function gate(): { opened: Promise<void>; open: () => void } {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

/** Long enough for an unblocked query to reach PGlite. */
const tick = () => new Promise((resolve) => setTimeout(resolve, 20));

const names = async (db: Kysely<Db>) => (await db.selectFrom("items").select("name").orderBy("name").execute()).map((r) => r.name);

describe("PGlite dialect", () => {
  let pglite: PGlite;
  let db: Kysely<Db>;

  beforeAll(async () => {
    pglite = await PGlite.create();
    db = new Kysely<Db>({ dialect: createPGliteDialect(pglite) });
    await sql`create table items (id serial primary key, name text not null)`.execute(db);
  });

  afterAll(async () => {
    await db.destroy();
  });

  beforeEach(async () => {
    await db.deleteFrom("items").execute();
  });

  it("keeps a query issued during a transaction out of that transaction", async () => {
    const held = gate();
    const inserted = gate();
    const tx = db.transaction().execute(async (trx) => {
      await trx.insertInto("items").values({ name: "in-tx" }).execute();
      inserted.open();
      await held.opened;
      throw new Error("roll back");
    });
    await inserted.opened;
    // Without an exclusive lease this insert would run inside the open transaction and be rolled back with it.
    const outside = db.insertInto("items").values({ name: "outside" }).execute();
    await tick();
    held.open();
    await expect(tx).rejects.toThrow("roll back");
    await outside;
    expect(await names(db)).toEqual(["outside"]);
  });

  it("runs concurrent transactions one after another, never interleaved", async () => {
    const events: string[] = [];
    const held = gate();
    const first = db.transaction().execute(async (trx) => {
      events.push("first:begin");
      await trx.insertInto("items").values({ name: "a" }).execute();
      await held.opened;
      await trx.insertInto("items").values({ name: "b" }).execute();
      events.push("first:end");
    });
    const second = db.transaction().execute(async (trx) => {
      events.push("second:begin");
      // The second transaction sees the first one's rows committed, both of them.
      events.push(`second:sees:${(await trx.selectFrom("items").select("name").execute()).length}`);
      events.push("second:end");
    });
    await tick();
    expect(events).toEqual(["first:begin"]);
    held.open();
    await Promise.all([first, second]);
    expect(events).toEqual(["first:begin", "first:end", "second:begin", "second:sees:2", "second:end"]);
  });

  it("grants the connection in request order, once per lease", async () => {
    const pool = new PGlitePool(await PGlite.create());
    const order: number[] = [];
    const first = await pool.connect();
    const waiting = [1, 2, 3].map(async (n) => {
      const client = await pool.connect();
      order.push(n);
      client.release();
    });
    first.release();
    first.release(); // a second release must not free someone else's lease
    await Promise.all(waiting);
    expect(order).toEqual([1, 2, 3]);
    await expect(first.query("select 1", [])).rejects.toThrow("after release");
    await pool.end();
  });

  it("reports affected rows for insert, update and delete", async () => {
    const insert = await db.insertInto("items").values([{ name: "x" }, { name: "y" }]).executeTakeFirst();
    expect(insert.numInsertedOrUpdatedRows).toBe(2n);
    const update = await db.updateTable("items").set({ name: "z" }).where("name", "=", "x").executeTakeFirst();
    expect(update.numUpdatedRows).toBe(1n);
    const del = await db.deleteFrom("items").executeTakeFirst();
    expect(del.numDeletedRows).toBe(2n);
  });

  it("releases the connection after a failed query inside a transaction", async () => {
    await expect(
      db.transaction().execute(async (trx) => {
        await trx.insertInto("items").values({ name: "lost" }).execute();
        await sql`select 1 / 0`.execute(trx);
      }),
    ).rejects.toThrow(/division by zero/);
    expect(await names(db)).toEqual([]);
  });

  it("supports savepoints in nested transactions", async () => {
    const trx = await db.startTransaction().execute();
    await trx.insertInto("items").values({ name: "kept" }).execute();
    const inner = await trx.savepoint("inner").execute();
    await inner.insertInto("items").values({ name: "undone" }).execute();
    await inner.rollbackToSavepoint("inner").execute();
    await trx.commit().execute();
    expect(await names(db)).toEqual(["kept"]);
  });
});
