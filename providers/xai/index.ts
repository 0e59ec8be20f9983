export {
  XAI_CONNECT_TIMEOUT_MS,
  XAI_DEFAULT_MODEL,
  XaiRealtimeProvider,
  type XaiRealtimeOptions,
} from "./provider.js";
export { XAI_CAPABILITIES } from "./session.js";
