import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApiKey, createTenant } from "../../src/storage/index.js";
import { ADMIN_KEY, AGENT_NUMBER, startHarness, type Harness } from "./harness.js";

type Agent = Record<string, unknown> & { id: string };
type Invalid = { detail: { loc: (string | number)[]; msg: string; type: string }[]; message: string };

const BASE = { name: "Desk", system_prompt: "Help callers." };

describe("agent API", () => {
  let h: Harness;
  let otherKey: string;
  beforeAll(async () => {
    h = await startHarness();
    const other = await createTenant(h.server.store.db, "other");
    otherKey = (await createApiKey(h.server.store.db, other.id, { name: "other", isAdmin: false })).key;
  });
  afterAll(async () => h?.close());

  const create = async (fields: Record<string, unknown> = {}) => {
    const res = await h.api<Agent>("POST", "/agents", { ...BASE, ...fields });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body;
  };
  const locs = (body: Invalid) => body.detail.map((d) => d.loc.join("."));

  it("shows every call field at the reference's default, with phone_count", async () => {
    const agent = await create();
    expect(agent).toMatchObject({
      timezone: "America/New_York",
      business_name: null,
      industry: null,
      agent_mode: "inbound",
      ai_speaks_first: true,
      ai_speaks_first_outbound: true,
      enable_recording_disclosure: true,
      amd_enabled: true,
      amd_voicemail_behavior: "hangup",
      amd_voicemail_message: null,
      amd_voicemail_audio_url: null,
      transfer_targets: null,
      whisper_enabled: false,
      tools_enabled: null,
      tool_instructions: null,
      max_call_duration_minutes: 30,
      max_silence_seconds: 120,
      variable_definitions: null,
      xai_audio_tags: null,
      vad_threshold: 0.65,
      phone_count: 0,
      is_active: true,
    });
    expect(typeof agent.created_at).toBe("string");
    // The harness's agent has its number.
    const front = await h.api<Agent>("GET", `/agents/${h.agentId}`);
    expect(front.body.phone_count).toBe(1);
    const list = await h.api<{ agents: Agent[]; total: number }>("GET", "/agents");
    expect(list.body.agents.find((a) => a.id === h.agentId)?.phone_count).toBe(1);
    expect(list.body.total).toBe(list.body.agents.length);
  });

  it("stores every call field and fills omitted item keys", async () => {
    const fields = {
      timezone: "Europe/Berlin",
      business_name: "Acme Plumbing",
      industry: "home services",
      agent_mode: "both",
      ai_speaks_first_outbound: false,
      enable_recording_disclosure: false,
      greeting_outbound: "Hi {{first_name}}, this is Acme.",
      amd_enabled: false,
      amd_voicemail_behavior: "static_message",
      amd_voicemail_message: "Please call us back.",
      amd_voicemail_audio_url: "https://cdn.example.com/vm.mp3",
      transfer_targets: [{ name: "Sales", number: "+14155550100", reason: "wants to buy" }, { name: "Support", number: "+14155550101" }],
      whisper_enabled: true,
      tools_enabled: ["end_call", "transfer_call"],
      tool_instructions: { end_call: "Only after saying goodbye." },
      max_call_duration_minutes: 180,
      max_silence_seconds: 0,
      variable_definitions: [{ name: "first_name", required: true }, { name: "company", description: "Their company", default_value: "your company" }],
      xai_audio_tags: ["[breath]"],
    };
    const agent = await create(fields);
    expect(agent).toMatchObject({
      ...fields,
      transfer_targets: [fields.transfer_targets[0], { name: "Support", number: "+14155550101", reason: null }],
      variable_definitions: [
        { name: "first_name", description: null, required: true, default_value: null },
        { name: "company", description: "Their company", required: false, default_value: "your company" },
      ],
    });
    expect((await h.api("GET", `/agents/${agent.id}`)).body).toEqual(agent);
  });

  it("answers 422 naming the field for each bad call field", async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ timezone: "Mars/Olympus" }, "body.timezone"],
      [{ timezone: "+05:00" }, "body.timezone"],
      [{ agent_mode: "sideways" }, "body.agent_mode"],
      [{ amd_voicemail_behavior: "sing" }, "body.amd_voicemail_behavior"],
      [{ amd_voicemail_behavior: "static_message" }, "body.amd_voicemail_message"],
      [{ amd_voicemail_behavior: "dynamic_message", amd_voicemail_audio_url: "https://cdn.example.com/a.mp3" }, "body.amd_voicemail_message"],
      [{ transfer_targets: [{ name: "Sales", number: "555-0100" }] }, "body.transfer_targets.0.number"],
      [{ transfer_targets: [{ number: "+14155550100" }] }, "body.transfer_targets.0.name"],
      [{ transfer_targets: [{ name: "Sales", number: "+14155550100", extension: "12" }] }, "body.transfer_targets.0.extension"],
      [{ transfer_targets: [{ name: "A", number: "+14155550100" }, { name: "A", number: "+14155550101" }] }, "body.transfer_targets.1.name"],
      [{ tools_enabled: ["end call"] }, "body.tools_enabled.0"],
      [{ tools_enabled: "end_call" }, "body.tools_enabled"],
      [{ tool_instructions: { end_call: 5 } }, "body.tool_instructions.end_call"],
      [{ tool_instructions: { "end call": "x" } }, "body.tool_instructions.end call"],
      [{ max_call_duration_minutes: 181 }, "body.max_call_duration_minutes"],
      [{ max_call_duration_minutes: -1 }, "body.max_call_duration_minutes"],
      [{ max_call_duration_minutes: 1.5 }, "body.max_call_duration_minutes"],
      [{ max_silence_seconds: 601 }, "body.max_silence_seconds"],
      [{ variable_definitions: [{ name: "1st" }] }, "body.variable_definitions.0.name"],
      [{ variable_definitions: [{ name: "a" }, { name: "a" }] }, "body.variable_definitions.1.name"],
      [{ variable_definitions: [{ name: "a", required: "yes" }] }, "body.variable_definitions.0.required"],
      [{ whisper_enabled: "true" }, "body.whisper_enabled"],
      [{ temperature: "0.5" }, "body.temperature"],
      [{ temperature: null }, "body.temperature"],
      [{ surprise: 1 }, "body.surprise"],
    ];
    for (const [fields, loc] of cases) {
      const res = await h.api<Invalid>("POST", "/agents", { ...BASE, ...fields });
      expect(res.status, JSON.stringify(fields)).toBe(422);
      expect(locs(res.body), JSON.stringify(fields)).toContain(loc);
    }
  });

  it("takes only https voicemail audio on a public host", async () => {
    const refused = [
      "http://cdn.example.com/vm.mp3",
      "ftp://cdn.example.com/vm.mp3",
      "https://127.0.0.1/vm.mp3",
      "https://0x7f.1/vm.mp3",
      "https://2130706433/vm.mp3",
      "https://10.1.2.3/vm.mp3",
      "https://172.16.0.1/vm.mp3",
      "https://192.168.1.1/vm.mp3",
      "https://169.254.169.254/latest/meta-data",
      "https://100.64.0.1/vm.mp3",
      "https://0.0.0.0/vm.mp3",
      "https://[::1]/vm.mp3",
      "https://[::ffff:127.0.0.1]/vm.mp3",
      "https://[fe80::1]/vm.mp3",
      "https://[fd00::1]/vm.mp3",
      "https://localhost/vm.mp3",
      "https://media.localhost/vm.mp3",
      "https://metadata.google.internal/vm.mp3",
      "https://intranet/vm.mp3",
      "https://user:secret@cdn.example.com/vm.mp3",
      "not a url",
    ];
    for (const url of refused) {
      const res = await h.api<Invalid>("POST", "/agents", { ...BASE, amd_voicemail_audio_url: url });
      expect(res.status, url).toBe(422);
      expect(locs(res.body), url).toContain("body.amd_voicemail_audio_url");
    }
    for (const url of ["https://cdn.example.com/vm.mp3", "https://8.8.8.8/vm.mp3", "https://[2606:4700::1111]/vm.mp3"]) {
      expect((await h.api("POST", "/agents", { ...BASE, amd_voicemail_audio_url: url })).status, url).toBe(201);
    }
  });

  it("patches any subset, keeps the rest, and takes null where a field allows it", async () => {
    const agent = await create({ greeting: "Hi.", gemini_top_k: 40, transfer_targets: [{ name: "Sales", number: "+14155550100" }], business_name: "Acme" });
    const res = await h.api<Agent>("PATCH", `/agents/${agent.id}`, {
      greeting: null,
      gemini_top_k: null,
      transfer_targets: null,
      max_silence_seconds: 45,
      timezone: "UTC",
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toEqual({
      ...agent,
      greeting: null,
      gemini_top_k: null,
      transfer_targets: null,
      max_silence_seconds: 45,
      timezone: "UTC",
      updated_at: res.body.updated_at,
    });
    expect((await h.api("GET", `/agents/${agent.id}`)).body).toEqual(res.body);
    // An empty patch changes nothing but the timestamp.
    const same = await h.api<Agent>("PATCH", `/agents/${agent.id}`, {});
    expect({ ...same.body, updated_at: null }).toEqual({ ...res.body, updated_at: null });
  });

  it("refuses a bad patch naming the field, and changes nothing", async () => {
    const agent = await create({ temperature: 0.4, ai_speaks_first: true });
    const cases: [Record<string, unknown>, string][] = [
      [{ temperature: null }, "body.temperature"],
      [{ ai_speaks_first: null }, "body.ai_speaks_first"],
      [{ name: null }, "body.name"],
      [{ name: "" }, "body.name"],
      [{ max_call_duration_minutes: 500 }, "body.max_call_duration_minutes"],
      [{ unknown_field: true }, "body.unknown_field"],
      [{ timezone: "Nowhere/Special" }, "body.timezone"],
      [{ amd_voicemail_audio_url: "https://192.168.0.10/vm.mp3" }, "body.amd_voicemail_audio_url"],
      [{ voice_provider: "xai", voice: "alloy" }, "body.voice"],
    ];
    for (const [fields, loc] of cases) {
      const res = await h.api<Invalid>("PATCH", `/agents/${agent.id}`, fields);
      expect(res.status, JSON.stringify(fields)).toBe(422);
      expect(locs(res.body), JSON.stringify(fields)).toContain(loc);
    }
    expect((await h.api("GET", `/agents/${agent.id}`)).body).toEqual(agent);
  });

  it("checks cross-field rules on the merged agent", async () => {
    const agent = await create();
    const switchOnly = await h.api<Invalid>("PATCH", `/agents/${agent.id}`, { voice_provider: "elevenlabs" });
    expect(switchOnly.status).toBe(422);
    expect(locs(switchOnly.body)).toContain("body.elevenlabs_agent_id");

    expect((await h.api("PATCH", `/agents/${agent.id}`, { elevenlabs_agent_id: "agent_123" })).status).toBe(200);
    const switched = await h.api<Agent>("PATCH", `/agents/${agent.id}`, { voice_provider: "elevenlabs" });
    expect(switched.status).toBe(200);
    expect(switched.body).toMatchObject({ voice_provider: "elevenlabs", elevenlabs_agent_id: "agent_123" });

    const cleared = await h.api<Invalid>("PATCH", `/agents/${agent.id}`, { elevenlabs_agent_id: null });
    expect(cleared.status).toBe(422);
    expect(locs(cleared.body)).toContain("body.elevenlabs_agent_id");

    // A stored static voicemail message may not be removed while the behaviour needs it.
    await h.api("PATCH", `/agents/${agent.id}`, { amd_voicemail_behavior: "static_message", amd_voicemail_message: "Call back." });
    const noMessage = await h.api<Invalid>("PATCH", `/agents/${agent.id}`, { amd_voicemail_message: null });
    expect(locs(noMessage.body)).toContain("body.amd_voicemail_message");
    expect((await h.api("PATCH", `/agents/${agent.id}`, { amd_voicemail_message: null, amd_voicemail_behavior: "hangup" })).status).toBe(200);
  });

  it("toggles is_active", async () => {
    const agent = await create();
    const off = await h.api<Agent>("POST", `/agents/${agent.id}/toggle`);
    expect(off.status).toBe(200);
    expect(off.body.is_active).toBe(false);
    expect((await h.api<Agent>("POST", `/agents/${agent.id}/toggle`)).body.is_active).toBe(true);
  });

  it("duplicates as an inactive copy with every setting and no numbers", async () => {
    await h.api("PATCH", `/agents/${h.agentId}`, { tools_enabled: ["end_call"], max_silence_seconds: 30 });
    const original = (await h.api<Agent>("GET", `/agents/${h.agentId}`)).body;
    const res = await h.api<Agent>("POST", `/agents/${h.agentId}/duplicate`);
    expect(res.status).toBe(201);
    expect(res.body.id).not.toBe(original.id);
    expect(res.body).toEqual({
      ...original,
      id: res.body.id,
      name: `${String(original.name)} (Copy)`,
      is_active: false,
      phone_count: 0,
      created_at: res.body.created_at,
      updated_at: res.body.updated_at,
    });
    expect((await h.api<Agent>("GET", `/agents/${h.agentId}`)).body.phone_count).toBe(1);
  });

  it("deletes an agent; its numbers stay, unassigned", async () => {
    const agent = await create();
    const number = await h.api<{ id: string }>("POST", "/phone-numbers", { phone_number: "+15550100321", agent_id: agent.id });
    expect(number.status).toBe(201);
    expect((await h.api<Agent>("GET", `/agents/${agent.id}`)).body.phone_count).toBe(1);

    const res = await fetch(`${h.server.url}/agents/${agent.id}`, { method: "DELETE", headers: { "x-api-key": ADMIN_KEY } });
    expect(res.status).toBe(204);
    expect(await res.text()).toBe("");
    expect((await h.api("GET", `/agents/${agent.id}`)).status).toBe(404);
    expect((await h.api("DELETE", `/agents/${agent.id}`)).status).toBe(404);
    const numbers = await h.api<{ phone_numbers: { id: string; agent_id: string | null }[] }>("GET", "/phone-numbers");
    expect(numbers.body.phone_numbers.find((n) => n.id === number.body.id)).toMatchObject({ agent_id: null });
  });

  it("answers 404 for another tenant's agent on every route and changes nothing", async () => {
    const before = (await h.api<Agent>("GET", `/agents/${h.agentId}`)).body;
    const theirs = (await h.api<{ agents: unknown[] }>("GET", "/agents", undefined, otherKey)).body.agents.length;
    const attempts: [string, string, unknown?][] = [
      ["GET", `/agents/${h.agentId}`],
      ["PATCH", `/agents/${h.agentId}`, { name: "stolen" }],
      ["PATCH", `/agents/${h.agentId}`, {}],
      ["DELETE", `/agents/${h.agentId}`],
      ["POST", `/agents/${h.agentId}/toggle`],
      ["POST", `/agents/${h.agentId}/duplicate`],
    ];
    for (const [method, path, body] of attempts) {
      const res = await h.api<{ error: string }>(method, path, body, otherKey);
      expect(res.status, `${method} ${path}`).toBe(404);
      expect(res.body.error).toBe("not_found");
    }
    const malformed: [string, string, unknown?][] = [
      ["GET", "/agents/not-a-uuid"],
      ["PATCH", "/agents/not-a-uuid", { name: "x" }],
      ["DELETE", "/agents/not-a-uuid"],
      ["POST", "/agents/not-a-uuid/toggle"],
      ["POST", "/agents/not-a-uuid/duplicate"],
    ];
    for (const [method, path, body] of malformed) expect((await h.api(method, path, body)).status, `${method} ${path}`).toBe(404);
    expect((await h.api("GET", `/agents/${h.agentId}`)).body).toEqual(before);
    expect((await h.api<{ agents: unknown[] }>("GET", "/agents", undefined, otherKey)).body.agents.length).toBe(theirs);
    // The number still routes to the agent.
    const numbers = await h.api<{ phone_numbers: { phone_number: string; agent_id: string | null }[] }>("GET", "/phone-numbers");
    expect(numbers.body.phone_numbers.find((n) => n.phone_number === AGENT_NUMBER)?.agent_id).toBe(h.agentId);
  });

  it("documents every agent route with tags, summary and response schemas", async () => {
    const doc = (await (await fetch(`${h.server.url}/docs/json`)).json()) as {
      paths: Record<string, Record<string, { tags?: string[]; summary?: string; responses: Record<string, unknown>; requestBody?: unknown }>>;
    };
    const expected: [string, string, string][] = [
      ["/agents", "get", "200"],
      ["/agents", "post", "201"],
      ["/agents/{id}", "get", "200"],
      ["/agents/{id}", "patch", "200"],
      ["/agents/{id}", "delete", "204"],
      ["/agents/{id}/toggle", "post", "200"],
      ["/agents/{id}/duplicate", "post", "201"],
    ];
    for (const [path, method, status] of expected) {
      const op = doc.paths[path]?.[method];
      expect(op, `${method} ${path}`).toBeDefined();
      expect(op!.tags).toEqual(["agents"]);
      expect(op!.summary).toBeTruthy();
      expect(Object.keys(op!.responses)).toEqual(expect.arrayContaining([status, "401", "422"]));
    }
    expect(doc.paths["/agents/{id}"]?.patch?.requestBody).toBeDefined();
  });
});
