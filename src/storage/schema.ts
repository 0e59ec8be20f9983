/** Kysely table types; the single source of truth for column names and nullability. */
import type { ColumnType, Generated, Insertable, Selectable, Updateable } from "kysely";
import type { TranscriptEntry } from "../../sessions/ports.js";

/** A `timestamptz` column with a `now()` default: read as Date, written as Date or ISO string. */
type CreatedAt = ColumnType<Date, Date | string | undefined, Date | string>;
type NullableTimestamp = ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
/** A column with a database default; writes may omit it. */
type Defaulted<T> = ColumnType<T, T | undefined, T>;
// jsonb is written as JSON text because node-postgres would turn a JS array into a Postgres array literal.
type Jsonb<T> = ColumnType<T, string | undefined, string>;

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

export type CallDirection = "inbound" | "outbound" | "test";
export const CALL_DIRECTIONS: readonly CallDirection[] = ["inbound", "outbound", "test"];

// One transcript line as sessions/ writes it; `at_ms` is milliseconds since the call started.
export type { TranscriptEntry };
export type { TranscriptRole } from "../../providers/types.js";

export interface TenantsTable {
  id: Generated<string>;
  name: string;
  /** The bootstrap tenant: its admin keys manage other tenants. At most one. */
  is_platform: Defaulted<boolean>;
  /** The tenant's own Twilio account; both null when it uses the environment's. */
  twilio_account_sid: string | null;
  /** The auth token sealed by secretBox under PATCHBAY_ENCRYPTION_KEY; never the token itself. */
  twilio_auth_token_enc: string | null;
  /** Signs requests to the tenant's function webhooks; null until first needed. */
  webhook_secret: string | null;
  created_at: CreatedAt;
}

export interface ApiKeysTable {
  id: Generated<string>;
  tenant_id: string;
  name: string;
  key_hash: string;
  key_prefix: string;
  is_admin: Defaulted<boolean>;
  created_at: CreatedAt;
  last_used_at: NullableTimestamp;
  revoked_at: NullableTimestamp;
}

export interface AgentsTable {
  id: Generated<string>;
  tenant_id: string;
  name: string;
  system_prompt: Defaulted<string>;
  greeting: string | null;
  greeting_outbound: string | null;
  voice_provider: Defaulted<string>;
  voice: Defaulted<string>;
  openai_voice: Defaulted<string>;
  temperature: Defaulted<number>;
  ai_speaks_first: Defaulted<boolean>;
  is_active: Defaulted<boolean>;
  /** Agent fields not yet promoted to columns, keyed by their API (snake_case) name. */
  settings: Jsonb<JsonObject>;
  created_at: CreatedAt;
  updated_at: CreatedAt;
}

export interface PhoneNumbersTable {
  id: Generated<string>;
  tenant_id: string;
  phone_number: string;
  friendly_name: string | null;
  agent_id: string | null;
  twilio_sid: string | null;
  is_active: Defaulted<boolean>;
  created_at: CreatedAt;
}

export interface CallLogsTable {
  id: Generated<string>;
  tenant_id: string;
  agent_id: string | null;
  phone_number_id: string | null;
  twilio_call_sid: string;
  direction: CallDirection;
  from_number: string;
  to_number: string;
  status: string;
  started_at: CreatedAt;
  ended_at: NullableTimestamp;
  duration_seconds: number | null;
  transcript: Jsonb<TranscriptEntry[]>;
  metadata: Jsonb<JsonObject>;
  voice_provider: string | null;
  amd_status: string | null;
  amd_detection_ms: number | null;
  recording_url: string | null;
}

/** A tenant's custom function: a tool the model may call, answered by the tenant's webhook. */
export interface CustomFunctionsTable {
  id: Generated<string>;
  tenant_id: string;
  /** snake_case, unique within the tenant: the tool name the model sees. */
  name: string;
  description: string;
  /** JSON Schema of the arguments object. */
  parameters: Jsonb<JsonObject>;
  webhook_url: string;
  webhook_method: Defaulted<string>;
  webhook_headers: Jsonb<Record<string, string>>;
  webhook_timeout_ms: Defaulted<number>;
  is_enabled: Defaulted<boolean>;
  speak_during_execution: Defaulted<boolean>;
  created_at: CreatedAt;
  updated_at: CreatedAt;
}

/** A function attached to an agent, with the agent's own on/off switch for it. */
export interface AgentFunctionsTable {
  tenant_id: string;
  agent_id: string;
  function_id: string;
  is_enabled: Defaulted<boolean>;
  created_at: CreatedAt;
}

export interface Database {
  tenants: TenantsTable;
  api_keys: ApiKeysTable;
  agents: AgentsTable;
  phone_numbers: PhoneNumbersTable;
  call_logs: CallLogsTable;
  custom_functions: CustomFunctionsTable;
  agent_functions: AgentFunctionsTable;
}

export type TenantRow = Selectable<TenantsTable>;
export type ApiKeyRow = Selectable<ApiKeysTable>;
export type AgentRow = Selectable<AgentsTable>;
export type NewAgentRow = Insertable<AgentsTable>;
export type AgentRowUpdate = Updateable<AgentsTable>;
export type PhoneNumberRow = Selectable<PhoneNumbersTable>;
export type NewPhoneNumberRow = Insertable<PhoneNumbersTable>;
export type PhoneNumberRowUpdate = Updateable<PhoneNumbersTable>;
export type CallLogRow = Selectable<CallLogsTable>;
export type NewCallLogRow = Insertable<CallLogsTable>;
export type CallLogRowUpdate = Updateable<CallLogsTable>;
export type CustomFunctionRow = Selectable<CustomFunctionsTable>;
export type AgentFunctionRow = Selectable<AgentFunctionsTable>;
