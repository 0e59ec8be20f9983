import type { Kysely, Migration } from "kysely";

export const tenantTwilio: Migration = {
  async up(_db: Kysely<unknown>): Promise<void> {},
};
