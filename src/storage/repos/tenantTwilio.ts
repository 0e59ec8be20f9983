/** A tenant's own Twilio account: the SID in clear, the auth token sealed (AES-256-GCM) under the encryption key. */
import { open, seal } from "../../secretBox.js";
import { isUuid, type Queryable } from "./shared.js";

export interface TenantTwilioCredentials {
  accountSid: string;
  authToken: string;
}

// Binds each sealed token to its tenant and column: copied to another row, it no longer opens.
const tokenContext = (tenantId: string): string => `tenants.twilio_auth_token:${tenantId}`;

/** Stores (or replaces) the tenant's credentials; false when the tenant does not exist. */
export async function setTenantTwilio(db: Queryable, encryptionKey: Buffer, tenantId: string, creds: TenantTwilioCredentials): Promise<boolean> {
  if (!isUuid(tenantId)) return false;
  const result = await db
    .updateTable("tenants")
    .set({ twilio_account_sid: creds.accountSid, twilio_auth_token_enc: seal(encryptionKey, creds.authToken, tokenContext(tenantId)) })
    .where("id", "=", tenantId)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

/** The tenant's account SID, or null when it has none of its own. Needs no key: the SID is not secret. */
export async function getTenantTwilioSid(db: Queryable, tenantId: string): Promise<string | null> {
  if (!isUuid(tenantId)) return null;
  const row = await db.selectFrom("tenants").select("twilio_account_sid").where("id", "=", tenantId).executeTakeFirst();
  return row?.twilio_account_sid ?? null;
}

/** The tenant's own SID and sealed token, or null when it uses the environment's. */
export async function getSealedTenantTwilio(db: Queryable, tenantId: string): Promise<{ accountSid: string; sealedToken: string } | null> {
  if (!isUuid(tenantId)) return null;
  const row = await db
    .selectFrom("tenants")
    .select(["twilio_account_sid", "twilio_auth_token_enc"])
    .where("id", "=", tenantId)
    .executeTakeFirst();
  if (row?.twilio_account_sid == null || row.twilio_auth_token_enc === null) return null;
  return { accountSid: row.twilio_account_sid, sealedToken: row.twilio_auth_token_enc };
}

/** Opens a sealed token read by getSealedTenantTwilio; throws SecretBoxError under the wrong key or when altered. */
export function openTenantTwilioToken(encryptionKey: Buffer, tenantId: string, sealedToken: string): string {
  return open(encryptionKey, sealedToken, tokenContext(tenantId));
}

/** Forgets the tenant's credentials (it falls back to the environment's); false when it had none. */
export async function clearTenantTwilio(db: Queryable, tenantId: string): Promise<boolean> {
  if (!isUuid(tenantId)) return false;
  const result = await db
    .updateTable("tenants")
    .set({ twilio_account_sid: null, twilio_auth_token_enc: null })
    .where("id", "=", tenantId)
    .where("twilio_account_sid", "is not", null)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}
