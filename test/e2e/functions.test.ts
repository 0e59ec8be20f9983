import { createHmac } from "node:crypto";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApiKey, createTenant } from "../../src/storage/index.js";
import { startServerHarness, type ServerHarness } from "./harness.js";

type Fn = Record<string, unknown> & { id: string; name: string };
type Invalid = { error: string; detail: { loc: (string | number)[]; msg: string; type: string }[]; message: string };
type TestResult = { success: boolean; status_code: number | null; response_time_ms: number; response_body: unknown; error: string | null; signature: string | null };
type Received = { method: string; url: string; body: string; headers: IncomingMessage["headers"] };

let seq = 0;
const fnName = () => `check_inventory_${seq++}`;

/** What a tenant's receiver does: recompute the HMAC over "<t>.<raw body>" with the secret from the API. */
function receiverVerifies(secret: string, req: Received): boolean {
  const header = String(req.headers["x-patchbay-signature"]);
  const match = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header);
  if (match === null) return false;
  const expected = createHmac("sha256", secret).update(`${match[1]}.${req.body}`).digest("hex");
  return match[2] === expected && req.headers["x-patchbay-timestamp"] === match[1];
}

describe("custom functions API", () => {
  let h: ServerHarness;
  let receiver: Server;
  let hook: string;
  let otherKey: string;
  let otherAgentId: string;
  let memberKey: string;
  const received: Received[] = [];

  beforeAll(async () => {
    receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        received.push({ method: req.method!, url: req.url!, body: Buffer.concat(chunks).toString(), headers: req.headers });
        if (req.url === "/slow") return void setTimeout(() => res.end("{}"), 2_500);
        res.setHeader("content-type", "application/json");
        res.end(JSON.stringify({ in_stock: 7 }));
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
    hook = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;

    h = await startServerHarness({ agent: { voice_provider: "scripted" }, env: { SSRF_ALLOW_HOSTS: "127.0.0.1" } });
    const db = h.server.store.db;
    memberKey = (await createApiKey(db, h.tenantId, { name: "member", isAdmin: false })).key;
    const other = await createTenant(db, "other");
    otherKey = (await createApiKey(db, other.id, { name: "other", isAdmin: true })).key;
    const otherAgent = await h.api<{ id: string }>("POST", "/agents", { name: "Theirs", system_prompt: "x", voice_provider: "scripted" }, otherKey);
    otherAgentId = otherAgent.body.id;
  });
  afterAll(async () => {
    await h?.close();
    await new Promise<void>((resolve) => receiver.close(() => resolve()));
  });

  const create = async (fields: Record<string, unknown> = {}, key?: string) => {
    const res = await h.api<Fn>("POST", "/functions", { name: fnName(), description: "Checks stock", webhook_url: `${hook}/inventory`, ...fields }, key);
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body;
  };
  const locs = (body: Invalid) => body.detail.map((d) => d.loc.join("."));

  it("creates with the reference's defaults, lists, reads, updates and deletes", async () => {
    const fn = await create({ parameters: { type: "object", properties: { sku: { type: "string" } }, required: ["sku"] } });
    expect(fn).toMatchObject({
      tenant_id: h.tenantId,
      agent_id: null,
      description: "Checks stock",
      parameters: { type: "object", properties: { sku: { type: "string" } }, required: ["sku"] },
      webhook_method: "POST",
      webhook_headers: {},
      webhook_timeout_ms: 5000,
      is_enabled: true,
      speak_during_execution: true,
    });
    const bare = await create();
    expect(bare.parameters).toEqual({ type: "object", properties: {} });

    const list = await h.api<{ functions: Fn[]; total: number }>("GET", "/functions");
    expect(list.status).toBe(200);
    expect(list.body.functions.find((f) => f.id === fn.id)).toMatchObject({ agents: [], agent_count: 0 });
    expect(list.body.total).toBe(list.body.functions.length);

    const got = await h.api<Fn>("GET", `/functions/${fn.id}`);
    expect(got.body).toMatchObject({ id: fn.id, name: fn.name, agents: [] });

    const put = await h.api<Fn>("PUT", `/functions/${fn.id}`, {
      description: "Checks stock levels",
      webhook_method: "GET",
      webhook_headers: { Authorization: "Bearer abc" },
      webhook_timeout_ms: 30000,
      is_enabled: false,
      name: null,
    });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    expect(put.body).toMatchObject({ name: fn.name, description: "Checks stock levels", webhook_method: "GET", webhook_headers: { Authorization: "Bearer abc" }, webhook_timeout_ms: 30000, is_enabled: false });

    expect((await h.api("PUT", `/functions/${fn.id}`, { name: bare.name })).status).toBe(409);
    expect((await h.api("POST", "/functions", { name: fn.name, description: "dup", webhook_url: hook })).status).toBe(409);

    expect((await h.api("DELETE", `/functions/${fn.id}`)).status).toBe(204);
    expect((await h.api("GET", `/functions/${fn.id}`)).status).toBe(404);
    expect((await h.api("DELETE", `/functions/${fn.id}`)).status).toBe(404);
    expect((await h.api("GET", "/functions/not-a-uuid")).status).toBe(404);
  });

  it("answers 422 naming each bad field", async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ name: "CheckStock" }, "body.name"],
      [{ name: "end_call" }, "body.name"],
      [{ name: "transfer_call" }, "body.name"],
      [{ parameters: { type: "object", properties: { x: { type: "strin" } } } }, "body.parameters"],
      [{ parameters: { type: "array" } }, "body.parameters"],
      [{ parameters: "nope" }, "body.parameters"],
      [{ webhook_url: "ftp://example.com/x" }, "body.webhook_url"],
      [{ webhook_url: "example.com" }, "body.webhook_url"],
      [{ webhook_method: "FETCH" }, "body.webhook_method"],
      [{ webhook_timeout_ms: 999 }, "body.webhook_timeout_ms"],
      [{ webhook_timeout_ms: 30001 }, "body.webhook_timeout_ms"],
      [{ webhook_timeout_ms: "5000" }, "body.webhook_timeout_ms"],
      [{ webhook_headers: { "X-Patchbay-Signature": "forged" } }, "body.webhook_headers.X-Patchbay-Signature"],
      [{ webhook_headers: { "x-patchbay-timestamp": "1" } }, "body.webhook_headers.x-patchbay-timestamp"],
      [{ webhook_headers: { "X-Note": "a\r\nInjected: yes" } }, "body.webhook_headers.X-Note"],
      [{ webhook_headers: { "Bad Name": "x" } }, "body.webhook_headers.Bad Name"],
      [{ webhook_headers: { Host: "internal" } }, "body.webhook_headers.Host"],
      [{ webhook_headers: { "X-Num": 5 } }, "body.webhook_headers.X-Num"],
      [{ surprise: true }, "body.surprise"],
    ];
    for (const [fields, loc] of cases) {
      const res = await h.api<Invalid>("POST", "/functions", { name: fnName(), description: "d", webhook_url: hook, ...fields });
      expect(res.status, `${JSON.stringify(fields)}: ${JSON.stringify(res.body)}`).toBe(422);
      expect(res.body.error).toBe("validation_error");
      expect(locs(res.body), JSON.stringify(fields)).toContain(loc);
    }
    const missing = await h.api<Invalid>("POST", "/functions", {});
    expect(locs(missing.body)).toEqual(expect.arrayContaining(["body.name", "body.description", "body.webhook_url"]));
    const fn = await create();
    const put = await h.api<Invalid>("PUT", `/functions/${fn.id}`, { name: "end_call", parameters: { type: "object", $async: true } });
    expect(put.status).toBe(422);
    expect(locs(put.body)).toEqual(["body.name", "body.parameters"]);
  });

  it("attaches, lists, enables, disables, updates per agent and detaches", async () => {
    const fn = await create();
    const loose = await create();
    const attach = await h.api("POST", `/agents/${h.agentId}/functions/attach`, { function_id: fn.id });
    expect(attach.status, JSON.stringify(attach.body)).toBe(201);
    expect(attach.body).toMatchObject({ agent_id: h.agentId, function_id: fn.id, is_enabled: true });
    expect((await h.api("POST", `/agents/${h.agentId}/functions/attach`, { function_id: fn.id })).status).toBe(409);

    const lists = await h.api<{ attached: Fn[]; available: Fn[] }>("GET", `/agents/${h.agentId}/functions`);
    expect(lists.body.attached.find((f) => f.id === fn.id)).toMatchObject({ agent_id: h.agentId, is_enabled: true, function_is_enabled: true });
    expect(lists.body.available.map((f) => f.id)).toContain(loose.id);
    expect(lists.body.available.map((f) => f.id)).not.toContain(fn.id);

    const disabled = await h.api("POST", `/agents/${h.agentId}/functions/${fn.id}/disable`);
    expect(disabled.status).toBe(200);
    expect(disabled.body).toMatchObject({ function_id: fn.id, is_enabled: false });
    const one = await h.api<Fn>("GET", `/agents/${h.agentId}/functions/${fn.id}`);
    expect(one.body).toMatchObject({ id: fn.id, agent_id: h.agentId, is_enabled: false, function_is_enabled: true });
    expect((await h.api("POST", `/agents/${h.agentId}/functions/${fn.id}/enable`)).body).toMatchObject({ is_enabled: true });

    // is_enabled changes this agent only; the description changes the library.
    const put = await h.api<Fn>("PUT", `/agents/${h.agentId}/functions/${fn.id}`, { is_enabled: false, description: "Stock levels" });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    expect(put.body).toMatchObject({ is_enabled: false, function_is_enabled: true, description: "Stock levels" });
    expect((await h.api<Fn>("GET", `/functions/${fn.id}`)).body).toMatchObject({
      is_enabled: true,
      description: "Stock levels",
      agent_count: 1,
      agents: [{ agent_id: h.agentId, agent_name: "Front desk", is_enabled: false }],
    });
    const agents = await h.api<{ agents: unknown[]; total: number }>("GET", `/functions/${fn.id}/agents`);
    expect(agents.body).toMatchObject({ total: 1, agents: [{ agent_id: h.agentId }] });

    expect((await h.api("GET", `/agents/${h.agentId}/functions/${loose.id}`)).status).toBe(404);
    expect((await h.api("DELETE", `/agents/${h.agentId}/functions/detach/${fn.id}`)).status).toBe(204);
    expect((await h.api("DELETE", `/agents/${h.agentId}/functions/detach/${fn.id}`)).status).toBe(404);
    expect((await h.api("GET", `/functions/${fn.id}`)).body).toMatchObject({ agents: [] });
  });

  it("creates and attaches in one step, and deletes from every agent", async () => {
    const name = fnName();
    const res = await h.api<Fn>("POST", `/agents/${h.agentId}/functions`, { name, description: "d", webhook_url: hook });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body).toMatchObject({ name, agent_id: h.agentId });
    expect((await h.api<Fn>("GET", `/agents/${h.agentId}/functions/${res.body.id}`)).body.is_enabled).toBe(true);
    // Deleting through the agent removes it from the library.
    expect((await h.api("DELETE", `/agents/${h.agentId}/functions/${res.body.id}`)).status).toBe(204);
    expect((await h.api("GET", `/functions/${res.body.id}`)).status).toBe(404);
    // A failed attach leaves no function behind.
    const ghost = fnName();
    expect((await h.api("POST", `/agents/${otherAgentId}/functions`, { name: ghost, description: "d", webhook_url: hook })).status).toBe(404);
    const list = await h.api<{ functions: Fn[] }>("GET", "/functions");
    expect(list.body.functions.map((f) => f.name)).not.toContain(ghost);
  });

  it("keeps every tenant's functions and agents to itself", async () => {
    const mine = await create();
    const theirs = await create({}, otherKey);
    expect((await h.api<{ functions: Fn[] }>("GET", "/functions", undefined, otherKey)).body.functions.map((f) => f.id)).toEqual([theirs.id]);
    for (const [method, path, body] of [
      ["GET", `/functions/${mine.id}`],
      ["PUT", `/functions/${mine.id}`, { description: "mine now" }],
      ["DELETE", `/functions/${mine.id}`],
      ["GET", `/functions/${mine.id}/agents`],
      ["POST", `/functions/${mine.id}/test`, { arguments: {} }],
      ["GET", `/agents/${h.agentId}/functions`],
      ["POST", `/agents/${otherAgentId}/functions/attach`, { function_id: mine.id }],
      ["POST", `/agents/${h.agentId}/functions/attach`, { function_id: theirs.id }],
    ] as const) {
      const res = await h.api(method, path, body, otherKey);
      expect(res.status, `${method} ${path}`).toBe(404);
    }
    // Nor can the owner attach another tenant's function.
    expect((await h.api("POST", `/agents/${h.agentId}/functions/attach`, { function_id: theirs.id })).status).toBe(404);
    expect((await h.api<Fn>("GET", `/functions/${mine.id}`)).body.description).toBe("Checks stock");
  });

  it("tests a function with a real signed request the receiver can verify", async () => {
    const secretRes = await h.api<{ webhook_secret: string; signature_header: string }>("GET", "/tenants/me/webhook-secret");
    expect(secretRes.status).toBe(200);
    const secret = secretRes.body.webhook_secret;
    expect(secret).toMatch(/^whsec_/);
    expect(secretRes.body.signature_header).toBe("X-Patchbay-Signature");

    const fn = await create({ parameters: { type: "object", properties: { sku: { type: "string" } }, required: ["sku"] } });
    const res = await h.api<TestResult>("POST", `/functions/${fn.id}/test`, { arguments: { sku: "A1" } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({ success: true, status_code: 200, response_body: { in_stock: 7 }, error: null });
    expect(res.body.response_time_ms).toBeGreaterThan(0);
    const req = received.at(-1)!;
    expect(req.headers["x-patchbay-signature"]).toBe(res.body.signature);
    expect(JSON.parse(req.body)).toMatchObject({ function: fn.name, arguments: { sku: "A1" }, call: { direction: "test", agent_id: null } });
    expect(receiverVerifies(secret, req)).toBe(true);

    // Through the agent: its id is in the call context.
    await h.api("POST", `/agents/${h.agentId}/functions/attach`, { function_id: fn.id });
    const viaAgent = await h.api<TestResult>("POST", `/agents/${h.agentId}/functions/${fn.id}/test`, { arguments: { sku: "B2" } });
    expect(viaAgent.body.success).toBe(true);
    expect(JSON.parse(received.at(-1)!.body)).toMatchObject({ call: { agent_id: h.agentId } });

    // Arguments that break the schema never leave.
    const before = received.length;
    const bad = await h.api<TestResult>("POST", `/functions/${fn.id}/test`, { arguments: { sku: 5 } });
    expect(bad.body).toMatchObject({ success: false, status_code: null });
    expect(bad.body.error).toMatch(/sku must be string/);
    expect(received.length).toBe(before);

    // Rotation: new secret, old signatures stop verifying.
    expect((await h.api("POST", "/tenants/me/webhook-secret/rotate", undefined, memberKey)).status).toBe(403);
    expect((await h.api("GET", "/tenants/me/webhook-secret", undefined, memberKey)).status).toBe(403);
    const rotated = await h.api<{ webhook_secret: string }>("POST", "/tenants/me/webhook-secret/rotate");
    expect(rotated.status).toBe(200);
    expect(rotated.body.webhook_secret).not.toBe(secret);
    expect((await h.api<{ webhook_secret: string }>("GET", "/tenants/me/webhook-secret")).body.webhook_secret).toBe(rotated.body.webhook_secret);
    await h.api("POST", `/functions/${fn.id}/test`, { arguments: { sku: "C3" } });
    expect(receiverVerifies(rotated.body.webhook_secret, received.at(-1)!)).toBe(true);
    expect(receiverVerifies(secret, received.at(-1)!)).toBe(false);
    // Another tenant's secret is its own.
    const theirs = await h.api<{ webhook_secret: string }>("GET", "/tenants/me/webhook-secret", undefined, otherKey);
    expect(theirs.body.webhook_secret).not.toBe(rotated.body.webhook_secret);
  });

  it("tests a webhook URL before a function exists", async () => {
    const secret = (await h.api<{ webhook_secret: string }>("GET", "/tenants/me/webhook-secret")).body.webhook_secret;
    const res = await h.api<TestResult>("POST", "/functions/test-webhook", {
      webhook_url: `${hook}/inventory`,
      webhook_headers: { Authorization: "Bearer t0k" },
      function_name: "check_inventory",
      fields: [{ name: "sku", type: "string" }, { name: "qty", type: "integer" }],
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({ success: true, status_code: 200, response_body: { in_stock: 7 } });
    const req = received.at(-1)!;
    expect(req.headers.authorization).toBe("Bearer t0k");
    expect(JSON.parse(req.body)).toMatchObject({ function: "check_inventory", arguments: { sku: "test", qty: 1 } });
    expect(receiverVerifies(secret, req)).toBe(true);
    const bad = await h.api<Invalid>("POST", "/functions/test-webhook", { webhook_url: "ftp://x", webhook_headers: { "X-Patchbay-Signature": "x" } });
    expect(bad.status).toBe(422);
    expect(locs(bad.body)).toEqual(["body.webhook_url", "body.webhook_headers.X-Patchbay-Signature"]);
  });

  it("documents every function route in the OpenAPI spec", async () => {
    type Op = { tags?: string[]; summary?: string; responses?: Record<string, unknown> };
    const spec = (await (await fetch(`${h.server.url}/docs/json`)).json()) as { paths: Record<string, Record<string, Op>> };
    const routes: [string, string][] = [
      ["get", "/functions"],
      ["post", "/functions"],
      ["post", "/functions/test-webhook"],
      ["get", "/functions/{id}"],
      ["put", "/functions/{id}"],
      ["delete", "/functions/{id}"],
      ["get", "/functions/{id}/agents"],
      ["post", "/functions/{id}/test"],
      ["get", "/agents/{id}/functions"],
      ["post", "/agents/{id}/functions"],
      ["post", "/agents/{id}/functions/attach"],
      ["delete", "/agents/{id}/functions/detach/{functionId}"],
      ["get", "/agents/{id}/functions/{functionId}"],
      ["put", "/agents/{id}/functions/{functionId}"],
      ["delete", "/agents/{id}/functions/{functionId}"],
      ["post", "/agents/{id}/functions/{functionId}/enable"],
      ["post", "/agents/{id}/functions/{functionId}/disable"],
      ["post", "/agents/{id}/functions/{functionId}/test"],
      ["get", "/tenants/me/webhook-secret"],
      ["post", "/tenants/me/webhook-secret/rotate"],
    ];
    const undocumented = routes.filter(([method, path]) => {
      const op = spec.paths[path]?.[method];
      const codes = Object.keys(op?.responses ?? {});
      return !op?.tags?.length || !op.summary || !codes.includes("401") || !codes.some((c) => c.startsWith("2"));
    });
    expect(undocumented).toEqual([]);
  });

  it("honours the function's timeout", async () => {
    const fn = await create({ webhook_url: `${hook}/slow`, webhook_timeout_ms: 1000 });
    const started = performance.now();
    // No body at all: the arguments default to {}.
    const res = await h.api<TestResult>("POST", `/functions/${fn.id}/test`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({ success: false, status_code: null, response_body: null });
    expect(res.body.error).toMatch(/^timeout/);
    expect(performance.now() - started).toBeLessThan(2_300);
  });

  it("refuses private addresses that SSRF_ALLOW_HOSTS does not list", async () => {
    const before = received.length;
    const port = new URL(hook).port;
    for (const url of [`http://localhost:${port}/inventory`, "http://169.254.169.254/latest/meta-data", "http://10.0.0.1/x"]) {
      const fn = await create({ webhook_url: url });
      const res = await h.api<TestResult>("POST", `/functions/${fn.id}/test`, { arguments: {} });
      expect(res.body, url).toMatchObject({ success: false, status_code: null });
      expect(res.body.error, url).toMatch(/^blocked_address: .*SSRF_ALLOW_HOSTS/);
    }
    expect(received.length).toBe(before);
  });
});
