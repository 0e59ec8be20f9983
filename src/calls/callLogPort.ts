import type { Kysely } from "kysely";
import type { CallLogPort, CallOutcome } from "../../sessions/index.js";
import { finishCallLog, markCallInProgress, type Database } from "../storage/index.js";

/** The sessions/ call-log port over the store, bound to one tenant. */
export function callLogPortFor(db: Kysely<Database>, tenantId: string): CallLogPort {
  return {
    async markInProgress(callId: string, info: { streamSid: string }): Promise<void> {
      await markCallInProgress(db, tenantId, callId, info.streamSid);
    },
    async finish(callId: string, outcome: CallOutcome): Promise<void> {
      const { onlyIfRinging, ...finish } = outcome;
      await finishCallLog(db, tenantId, callId, finish, { onlyIfRinging });
    },
  };
}
