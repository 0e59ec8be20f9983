export { CallSession, MEDIA_STREAM_TIMEOUT_MS, type BargeInTrigger, type CallSessionOptions } from "./callSession.js";
export { END_REASONS, type EndReason } from "./endReasons.js";
export { SessionRegistry } from "./registry.js";
export { systemClock, BUILTIN_TOOLS, VOICEMAIL_BEHAVIORS } from "./ports.js";
export type {
  AmdPolicy,
  BuiltinTool,
  CallControl,
  CallFunctions,
  CallLines,
  CallPolicy,
  FunctionCallResult,
  TransferRequest,
  TransferTarget,
  VoicemailBehavior,
  CallerVad,
  CallerVadFactory,
  CallerVadHandlers,
  CallLogPort,
  CallOutcome,
  CallStatus,
  Clock,
  SessionLogger,
  TranscriptEntry,
  TwilioSink,
} from "./ports.js";
