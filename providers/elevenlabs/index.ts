export {
  ELEVENLABS_CONNECT_TIMEOUT_MS,
  ElevenLabsAgentsProvider,
  type ElevenLabsAgentsOptions,
} from "./provider.js";
export { ELEVENLABS_CAPABILITIES } from "./session.js";
export { ELEVENLABS_LANGUAGES } from "./languages.js";
