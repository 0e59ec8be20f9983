import type { Kysely, Migration } from "kysely";

export const outbound: Migration = {
  async up(_db: Kysely<unknown>): Promise<void> {},
};
