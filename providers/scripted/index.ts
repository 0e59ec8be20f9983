export { DEFAULT_SCRIPT_PATH, loadScriptFile } from "./load.js";
export { ScriptedProvider, type ScriptedProviderOptions, type ScriptedSessionListener } from "./provider.js";
export {
  ScriptError,
  type Script,
  type ScriptErrorCode,
  type ScriptLine,
  type ScriptReplyLine,
  type ScriptToolCall,
  type ScriptUtterance,
} from "./script.js";
export {
  REPLY_CHUNK_MS,
  REPLY_LEAD_MS,
  SCRIPTED_CAPABILITIES,
  TOOL_RESULT_TIMEOUT_MS,
  type ScriptedSessionControls,
} from "./session.js";
export { INPUT_AUDIO_CAP_MS } from "./inputRecorder.js";
