export {
  OPENAI_CONNECT_TIMEOUT_MS,
  OPENAI_DEFAULT_MODEL,
  OpenAIRealtimeProvider,
  type OpenAIRealtimeOptions,
} from "./provider.js";
export { OPENAI_CAPABILITIES } from "./session.js";
