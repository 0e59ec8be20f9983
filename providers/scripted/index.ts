export { DEFAULT_SCRIPT_PATH, loadScriptFile } from "./load.js";
export { ScriptedProvider } from "./provider.js";
export { ScriptError, type Script, type ScriptLine } from "./script.js";
export { spokenDurationMs } from "./spokenTone.js";
export { GENERIC_REPLY_TEXT, REPLY_CHUNK_MS, REPLY_LEAD_MS, type ScriptedSessionControls } from "./session.js";
