import { describe, expect, it } from "vitest";
import { PROVIDER_AGENT_DEFAULTS } from "../../providers/agentFields.js";
import { providerConfigFor } from "../../src/calls/providerConfig.js";
import type { AgentRow, CallLogRow } from "../../src/storage/index.js";

const AGENT: AgentRow = {
  id: "a1",
  tenant_id: "t1",
  name: "Front desk",
  system_prompt: "Be brief.",
  greeting: "Hi there.",
  greeting_outbound: "Hello, this is Patchbay calling.",
  voice_provider: "gemini",
  voice: "ara",
  openai_voice: "marin",
  temperature: 0.6,
  ai_speaks_first: true,
  is_active: true,
  settings: { gemini_voice: "Kore", vad_threshold: 0.4, elevenlabs_speed: 1.1 },
  created_at: new Date(0),
  updated_at: new Date(0),
};

const CALL = { id: "c1", direction: "inbound", from_number: "+15550199999", to_number: "+15550100001" } as CallLogRow;

describe("providerConfigFor", () => {
  it("fills every provider field: stored ones over the reference defaults", () => {
    const config = providerConfigFor(AGENT, CALL);
    expect(config.agent).toEqual({ ...PROVIDER_AGENT_DEFAULTS, gemini_voice: "Kore", elevenlabs_speed: 1.1, openai_voice: "marin" });
    expect(config.vad).toEqual({ threshold: 0.4, silenceDurationMs: 500, prefixPaddingMs: 300 });
  });

  it("resolves the voice from the provider's own field", () => {
    expect(providerConfigFor(AGENT, CALL).voice).toBe("Kore");
    expect(providerConfigFor({ ...AGENT, voice_provider: "openai" }, CALL).voice).toBe("marin");
    expect(providerConfigFor({ ...AGENT, voice_provider: "xai" }, CALL).voice).toBe("ara");
    const eleven = { ...AGENT, voice_provider: "elevenlabs", settings: { elevenlabs_voice_id: "voice_123" } };
    expect(providerConfigFor(eleven, CALL).voice).toBe("voice_123");
  });

  it("names the other party and uses the outbound greeting on calls we place", () => {
    const inbound = providerConfigFor(AGENT, CALL);
    expect(inbound.variables).toMatchObject({ caller_number: "+15550199999", agent_number: "+15550100001", direction: "inbound" });
    expect(inbound.greeting).toBe("Hi there.");
    const outbound = providerConfigFor(AGENT, { ...CALL, direction: "outbound", from_number: "+15550100001", to_number: "+15550122222" });
    expect(outbound.variables).toMatchObject({ caller_number: "+15550122222", agent_number: "+15550100001" });
    expect(outbound.greeting).toBe("Hello, this is Patchbay calling.");
  });
});
