import { OpenAIRealtimeProvider } from "../providers/openai/index.js";
import type { RealtimeProvider } from "../providers/types.js";
import type { ProviderRegistry } from "./calls/callFactory.js";
import type { Config } from "./config.js";

/** Every provider name an agent may choose. Only those with credentials here can take calls. */
export const PROVIDER_NAMES = ["openai"] as const;

/** Builds the providers this process has credentials for. */
export function providerRegistry(config: Config): ProviderRegistry {
  const built = new Map<string, RealtimeProvider>();
  if (config.openai.apiKey) {
    built.set(
      "openai",
      new OpenAIRealtimeProvider({ apiKey: config.openai.apiKey, baseURL: config.openai.baseUrl, model: config.openai.realtimeModel }),
    );
  }
  return { names: PROVIDER_NAMES, get: (name) => built.get(name) };
}
