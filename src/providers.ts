import { ElevenLabsAgentsProvider } from "../providers/elevenlabs/index.js";
import { GeminiLiveProvider } from "../providers/gemini/index.js";
import { OpenAIRealtimeProvider } from "../providers/openai/index.js";
import { DEFAULT_SCRIPT_PATH, loadScriptFile, ScriptedProvider, type Script } from "../providers/scripted/index.js";
import type { RealtimeProvider } from "../providers/types.js";
import { XaiRealtimeProvider } from "../providers/xai/index.js";
import type { ProviderRegistry } from "./calls/callFactory.js";
import { ConfigError, type Config } from "./config.js";
import type { Logger } from "./log.js";

/** Every provider name an agent may choose. Only those configured here can take calls. */
export const PROVIDER_NAMES = ["openai", "xai", "gemini", "elevenlabs", "scripted"] as const;
export type ProviderName = (typeof PROVIDER_NAMES)[number];

/**
 * The scripted stand-in's script. A script the operator named must load, or the server refuses to start;
 * the bundled demo script failing is logged and only the scripted voice is unavailable.
 */
export async function loadScriptedScript(config: Config, log: Logger): Promise<Script | undefined> {
  if (config.scriptedScript !== undefined) {
    try {
      return await loadScriptFile(config.scriptedScript);
    } catch (err) {
      throw new ConfigError([`SCRIPTED_SCRIPT: ${err instanceof Error ? err.message : String(err)}`]);
    }
  }
  try {
    return await loadScriptFile(DEFAULT_SCRIPT_PATH);
  } catch (err) {
    log.error({ err }, "bundled scripted-voice script could not be loaded: the scripted provider is off");
    return undefined;
  }
}

/** Builds the providers this process has credentials (or, for scripted, a script) for. */
export function providerRegistry(config: Config, script: Script | undefined): ProviderRegistry {
  const built = new Map<ProviderName, RealtimeProvider>();
  const { openai, xai, gemini, elevenlabs } = config;
  if (openai.apiKey) {
    built.set("openai", new OpenAIRealtimeProvider({ apiKey: openai.apiKey, baseURL: openai.baseUrl, model: openai.realtimeModel }));
  }
  if (xai.apiKey) {
    built.set("xai", new XaiRealtimeProvider({ apiKey: xai.apiKey, baseURL: xai.baseUrl, model: xai.realtimeModel }));
  }
  if (gemini.apiKey) {
    built.set("gemini", new GeminiLiveProvider({ apiKey: gemini.apiKey, baseUrl: gemini.baseUrl, model: gemini.liveModel }));
  }
  if (elevenlabs.apiKey) {
    built.set("elevenlabs", new ElevenLabsAgentsProvider({ apiKey: elevenlabs.apiKey, baseUrl: elevenlabs.baseUrl }));
  }
  if (script !== undefined) built.set("scripted", new ScriptedProvider({ script }));
  return { names: PROVIDER_NAMES, get: (name) => built.get(name as ProviderName) };
}
