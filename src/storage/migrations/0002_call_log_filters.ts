import type { Kysely, Migration } from "kysely";

export const callLogFilters: Migration = {
  async up(_db: Kysely<unknown>): Promise<void> {},
};
