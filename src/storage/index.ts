/** The store's public face: open it, then call the tenant-scoped repositories with its `db`. */
export { openDatabase, startDatabase, redactUrl, IN_MEMORY, type Db, type DbKind, type OpenDatabaseOptions, type StartingDb } from "./db.js";
export { migrateToLatest } from "./migrations/index.js";
export { createPGliteDialect, PGlitePool } from "./pgliteDialect.js";
export { StorageError, NotFoundError, ConflictError, type StorageErrorCode } from "./errors.js";
export type * from "./schema.js";
export { CALL_DIRECTIONS } from "./schema.js";
export type { Queryable } from "./repos/shared.js";
export { createTenant, getTenant } from "./repos/tenants.js";
export {
  createApiKey,
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
  toAgentResponse,
  type AgentInput,
  type AgentPatch,
  type AgentResponse,
} from "./repos/agents.js";
export {
  createPhoneNumber,
  listPhoneNumbers,
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
  updateCallLog,
  finishCallLog,
  markCallInProgress,
  toCallLogResponse,
  type CallLogWithAgent,
  type CallLogInput,
  type CallLogPatch,
  type CallLogFinish,
  type CallLogFilters,
  type CallLogResponse,
} from "./repos/callLogs.js";
