import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApiKey, createTenant } from "../../src/storage/index.js";
import { startHarness, type Harness } from "./harness.js";

describe("control plane", () => {
  let h: Harness;
  let otherKey: string;
  beforeAll(async () => {
    h = await startHarness();
    const other = await createTenant(h.server.store.db, "other");
    otherKey = (await createApiKey(h.server.store.db, other.id, { name: "other", isAdmin: false })).key;
  });
  afterAll(async () => h?.close());

  it("needs an API key, by X-API-Key or Bearer, before looking at the request", async () => {
    expect((await fetch(`${h.server.url}/agents`)).status).toBe(401);
    // No key: a 401, not a 422 that would describe the schema.
    const noKey = await fetch(`${h.server.url}/agents`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    expect(noKey.status).toBe(401);
    expect((await h.api("GET", "/agents", undefined, "pb_wrong")).status).toBe(401);
    const bearer = await fetch(`${h.server.url}/agents`, { headers: { authorization: `Bearer ${otherKey}` } });
    expect(bearer.status).toBe(200);
  });

  it("creates and reads agents with the reference's defaults", async () => {
    const created = await h.api<Record<string, unknown>>("POST", "/agents", { name: "Sales", system_prompt: "Sell." });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      name: "Sales",
      system_prompt: "Sell.",
      voice_provider: "openai",
      openai_voice: "alloy",
      temperature: 0.7,
      ai_speaks_first: true,
      is_active: true,
      tenant_id: h.tenantId,
    });
    const got = await h.api("GET", `/agents/${String(created.body.id)}`);
    expect(got.body).toEqual(created.body);
    const list = await h.api<{ agents: unknown[] }>("GET", "/agents");
    expect(list.body.agents.length).toBeGreaterThanOrEqual(2);
  });

  it("answers 422 with a detail naming each bad field", async () => {
    const res = await h.api<{ detail: { loc: string[]; msg: string; type: string }[] }>("POST", "/agents", {
      system_prompt: "x",
      temperature: 9,
      openai_voice: "robot",
    });
    expect(res.status).toBe(422);
    const locs = res.body.detail.map((d) => d.loc.join("."));
    expect(locs).toEqual(expect.arrayContaining(["body.name", "body.temperature", "body.openai_voice"]));
    const bad = await h.api<{ detail: { loc: string[] }[] }>("POST", "/phone-numbers", { phone_number: "555-1234" });
    expect(bad.status).toBe(422);
    expect(bad.body.detail[0]?.loc).toEqual(["body", "phone_number"]);
  });

  it("takes every provider's agent fields, shows unset ones at their defaults, and keeps what was set", async () => {
    const created = await h.api<Record<string, unknown>>("POST", "/agents", {
      name: "Gemini desk",
      system_prompt: "Help.",
      voice_provider: "gemini",
      gemini_voice: "Kore",
      gemini_end_sensitivity: "low",
      gemini_top_k: 40,
      gemini_top_p: null,
      gemini_language_code: "en-US",
      openai_vad_type: "server_vad",
      vad_threshold: 0.5,
      elevenlabs_emotion_tags: [{ name: "warm", description: "friendly tone" }],
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      voice_provider: "gemini",
      gemini_voice: "Kore",
      gemini_end_sensitivity: "low",
      gemini_start_sensitivity: "low",
      gemini_top_k: 40,
      gemini_top_p: null,
      gemini_language_code: "en-US",
      gemini_thinking_level: "none",
      openai_vad_type: "server_vad",
      openai_vad_eagerness: "low",
      openai_noise_reduction: "far_field",
      vad_threshold: 0.5,
      vad_silence_duration_ms: 500,
      elevenlabs_speed: 1,
      elevenlabs_emotion_tags: [{ name: "warm", description: "friendly tone" }],
    });
    const got = await h.api("GET", `/agents/${String(created.body.id)}`);
    expect(got.body).toEqual(created.body);
  });

  it("answers 422 naming the field for a provider setting out of range or not a choice", async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ openai_vad_type: "loud_vad" }, "body.openai_vad_type"],
      [{ openai_vad_eagerness: "frantic" }, "body.openai_vad_eagerness"],
      [{ openai_noise_reduction: "studio" }, "body.openai_noise_reduction"],
      [{ vad_threshold: 1.5 }, "body.vad_threshold"],
      [{ vad_silence_duration_ms: 12.5 }, "body.vad_silence_duration_ms"],
      [{ vad_prefix_padding_ms: -1 }, "body.vad_prefix_padding_ms"],
      [{ gemini_voice: "HAL" }, "body.gemini_voice"],
      [{ gemini_top_k: 0 }, "body.gemini_top_k"],
      [{ gemini_top_p: 1.5 }, "body.gemini_top_p"],
      [{ gemini_thinking_level: "deep" }, "body.gemini_thinking_level"],
      [{ elevenlabs_speed: 2 }, "body.elevenlabs_speed"],
      [{ elevenlabs_eagerness: "eager" }, "body.elevenlabs_eagerness"],
      [{ elevenlabs_max_duration_seconds: 30 }, "body.elevenlabs_max_duration_seconds"],
      [{ voice_provider: "elevenlabs" }, "body.elevenlabs_agent_id"],
      [{ voice_provider: "acme" }, "body.voice_provider"],
      [{ voice_provider: "xai", voice: "alloy" }, "body.voice"],
      [{ elevenlabs_language: "en-us" }, "body.elevenlabs_language"],
      [{ elevenlabs_additional_languages: ["es", "xx"] }, "body.elevenlabs_additional_languages.1"],
    ];
    for (const [fields, loc] of cases) {
      const res = await h.api<{ detail: { loc: string[] }[]; message: string }>("POST", "/agents", { name: "x", system_prompt: "y", ...fields });
      expect(res.status, JSON.stringify(fields)).toBe(422);
      expect(res.body.detail.map((d) => d.loc.join(".")), JSON.stringify(fields)).toContain(loc);
    }
  });

  it("keeps tenants apart: another tenant's agent and call are 404", async () => {
    const mine = await h.api<{ agents: { id: string }[] }>("GET", "/agents");
    const id = mine.body.agents[0]!.id;
    expect((await h.api("GET", `/agents/${id}`, undefined, otherKey)).status).toBe(404);
    const theirs = await h.api<{ agents: unknown[] }>("GET", "/agents", undefined, otherKey);
    expect(theirs.body.agents).toEqual([]);
    expect((await h.api("GET", "/agents/not-a-uuid")).status).toBe(404);
    const calls = await h.api<{ calls: unknown[]; total: number }>("GET", "/calls", undefined, otherKey);
    expect(calls.body).toEqual({ calls: [], total: 0 });
    // Assigning someone else's agent to a number is refused without confirming it exists.
    const assign = await h.api("POST", "/phone-numbers", { phone_number: "+15550100777", agent_id: id }, otherKey);
    expect(assign.status).toBe(422);
  });

  it("refuses a number that is already registered (409)", async () => {
    const again = await h.api("POST", "/phone-numbers", { phone_number: "+15550100001" }, otherKey);
    expect(again.status).toBe(409);
  });

  it("serves the OpenAPI document", async () => {
    const res = await fetch(`${h.server.url}/docs/json`);
    expect(res.status).toBe(200);
    const doc = (await res.json()) as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(["/agents", "/calls/{id}", "/webhooks/twilio/{tenantId}/voice"]));
  });
});
