/** Which Twilio account a tenant's REST calls and signature checks use. */
import type { Kysely } from "kysely";
import type { Config } from "../config.js";
import { getSealedTenantTwilio, getTenant, openTenantTwilioToken, type Database } from "../storage/index.js";

export interface TwilioCredentials {
  readonly accountSid: string;
  readonly authToken: string;
}

/** The tenant has credentials of its own that this process can't read; using the env's instead would talk to the wrong account. */
export class TwilioCredentialsError extends Error {
  override readonly name = "TwilioCredentialsError";
  readonly code = "twilio_credentials_unreadable";
  // Fixed only by the operator (the right PATCHBAY_ENCRYPTION_KEY) or the tenant (PUT the credentials again).
  readonly retryable = false;
}

/** The tenant's own credentials when it has them; the environment's for the platform tenant; else null. */
export async function twilioCredentialsFor(db: Kysely<Database>, config: Config, tenantId: string): Promise<TwilioCredentials | null> {
  const own = await getSealedTenantTwilio(db, tenantId);
  if (own !== null) {
    if (config.encryptionKey === undefined) {
      throw new TwilioCredentialsError(`tenant ${tenantId} stores its own Twilio credentials but PATCHBAY_ENCRYPTION_KEY is not set to decrypt them`);
    }
    try {
      return { accountSid: own.accountSid, authToken: openTenantTwilioToken(config.encryptionKey, tenantId, own.sealedToken) };
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      throw new TwilioCredentialsError(`tenant ${tenantId}'s Twilio auth token can't be decrypted: ${why}`, { cause: err });
    }
  }
  // The environment's account is the platform tenant's (a single-tenant install): other tenants bring
  // their own, or they would place calls billed to, and read recordings of, the operator's account.
  const { accountSid, authToken } = config.twilio;
  if (accountSid === undefined || authToken === undefined) return null;
  return (await getTenant(db, tenantId))?.is_platform === true ? { accountSid, authToken } : null;
}

/** The auth token Twilio signs this tenant's webhooks with; undefined when there is none. */
export async function twilioAuthTokenFor(db: Kysely<Database>, config: Config, tenantId: string): Promise<string | undefined> {
  return (await twilioCredentialsFor(db, config, tenantId))?.authToken;
}
