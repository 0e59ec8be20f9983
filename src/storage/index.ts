/** The store's public face: open it, then call the tenant-scoped repositories with its `db`. */
export { openDatabase, startDatabase, redactUrl, IN_MEMORY, type Db, type DbKind, type OpenDatabaseOptions, type StartingDb } from "./db.js";
export { migrateToLatest } from "./migrations/index.js";
export { createPGliteDialect, PGlitePool } from "./pgliteDialect.js";
export { StorageError, NotFoundError, ConflictError, type StorageErrorCode } from "./errors.js";
export type * from "./schema.js";
export { CALL_DIRECTIONS } from "./schema.js";
export type { Queryable } from "./repos/shared.js";
export { agentCallSettings, AGENT_CALL_DEFAULTS, AGENT_CALL_FIELD_NAMES, AGENT_MODES, VOICEMAIL_BEHAVIORS, type AgentCallSettings, type AgentMode, type VoicemailBehavior, type TransferTarget, type VariableDefinition } from "./agentSettings.js";
export { createTenant, getTenant, listTenants, toTenantResponse, type Tenant, type TenantResponse } from "./repos/tenants.js";
export {
  setTenantTwilio,
  getTenantTwilioSid,
  getSealedTenantTwilio,
  openTenantTwilioToken,
  clearTenantTwilio,
  type TenantTwilioCredentials,
} from "./repos/tenantTwilio.js";
export {
  createApiKey,
  createTenantWithKey,
  getApiKey,
  findByKey,
  listApiKeys,
  revokeApiKey,
  ensureBootstrapAdmin,
  hashApiKey,
  generateApiKey,
  toApiKeyResponse,
  type ApiKeyPrincipal,
  type ApiKeyResponse,
} from "./repos/apiKeys.js";
export {
  createAgent,
  listAgents,
  getAgent,
  updateAgent,
  toggleAgent,
  deleteAgent,
  duplicateAgent,
  listAgentsWithPhoneCount,
  getAgentWithPhoneCount,
  toAgentResponse,
  type AgentWithPhoneCount,
  type AgentInput,
  type AgentPatch,
  type AgentResponse,
} from "./repos/agents.js";
export {
  createPhoneNumber,
  listPhoneNumbers,
  listAgentPhoneNumbers,
  getPhoneNumber,
  updatePhoneNumber,
  deletePhoneNumber,
  findActiveByNumber,
  toPhoneNumberResponse,
  type PhoneNumberInput,
  type PhoneNumberPatch,
  type PhoneNumberResponse,
} from "./repos/phoneNumbers.js";
export {
  createCallLog,
  getCallLog,
  findCallLogByCallSid,
  listCallLogs,
  batchCallLogs,
  updateCallLog,
  finishCallLog,
  markCallInProgress,
  toCallLogResponse,
  type CallLogWithAgent,
  type CallLogInput,
  type CallLogPatch,
  type CallLogFinish,
  type CallLogFilters,
  type CallLogMatch,
  type CallLogResponse,
} from "./repos/callLogs.js";
export {
  PENDING_SID_PREFIX,
  TWILIO_CALL_STATUSES,
  TWILIO_TERMINAL_STATUSES,
  isTerminalStatus,
  createOutboundCallLog,
  countLiveOutbound,
  recordPlacedCallSid,
  failPlacedCall,
  claimPlacedCall,
  applyCallStatus,
  recordRecording,
  recordAnsweredBy,
  type TwilioCallStatus,
  type StatusUpdate,
  type StatusResult,
} from "./repos/callLogUpdates.js";
