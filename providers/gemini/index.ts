export {
  GEMINI_CONNECT_TIMEOUT_MS,
  GEMINI_DEFAULT_MODEL,
  GeminiLiveProvider,
  type GeminiLiveOptions,
} from "./provider.js";
export { GEMINI_CAPABILITIES } from "./session.js";
export { GEMINI_INPUT_FORMAT, GEMINI_OUTPUT_FORMAT } from "./wire.js";
