import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compileParameters, loadCallFunctions } from "../../src/calls/callFunctions.js";
import { verifyWebhookSignature } from "../../src/net/webhookSignature.js";
import {
  attachFunction,
  createAgent,
  createFunction,
  createTenant,
  getWebhookSecret,
  IN_MEMORY,
  openDatabase,
  type Db,
  type FunctionInput,
} from "../../src/storage/index.js";

interface Received {
  method: string;
  url: string;
  body: string;
  headers: IncomingMessage["headers"];
}

const CALL = { callId: "11111111-1111-4111-8111-111111111111", callSid: "CA123", direction: "inbound", from: "+15550001111", to: "+15550002222" };
const INVENTORY = { type: "object", properties: { sku: { type: "string" }, qty: { type: "integer", minimum: 1 } }, required: ["sku"] };

describe("custom functions on a call", () => {
  let store: Db;
  let server: Server;
  let base: string;
  let tenantId: string;
  let agentId: string;
  const received: Received[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        received.push({ method: req.method!, url: req.url!, body: Buffer.concat(chunks).toString(), headers: req.headers });
        const path = req.url!.split("?")[0];
        if (path === "/slow") return void setTimeout(() => res.end("{}"), 3_000);
        if (path === "/fail") return void res.writeHead(500).end("out of stock service down");
        if (path === "/text") return void res.end("42 in stock");
        res.setHeader("content-type", "application/json");
        res.end(JSON.stringify({ in_stock: 42 }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

    store = await openDatabase({ dataDir: IN_MEMORY });
    tenantId = (await createTenant(store.db, "acme")).id;
    agentId = (await createAgent(store.db, tenantId, { name: "Desk" })).id;
    const add = async (input: Omit<FunctionInput, "description">, attachment = true) => {
      const fn = await createFunction(store.db, tenantId, { description: `does ${input.name}`, ...input });
      await attachFunction(store.db, tenantId, agentId, fn.id, attachment);
    };
    await add({ name: "check_inventory", parameters: INVENTORY, webhook_url: `${base}/inventory`, speak_during_execution: false });
    await add({ name: "lookup_order", webhook_url: `${base}/orders?src=pb`, webhook_method: "GET" });
    await add({ name: "slow_one", webhook_url: `${base}/slow`, webhook_timeout_ms: 1000 });
    await add({ name: "failing", webhook_url: `${base}/fail` });
    await add({ name: "plain_text", webhook_url: `${base}/text` });
    await add({ name: "metadata", webhook_url: "http://169.254.169.254/latest" });
    await add({ name: "library_off", webhook_url: `${base}/x`, is_enabled: false });
    await add({ name: "agent_off", webhook_url: `${base}/x` }, false);
    await createFunction(store.db, tenantId, { name: "not_attached", description: "x", webhook_url: `${base}/x` });
  });
  afterAll(async () => {
    await store?.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const load = () => loadCallFunctions(store.db, { ssrfAllowHosts: new Set(["127.0.0.1"]) }, tenantId, agentId, CALL);
  const signal = () => new AbortController().signal;

  it("offers only functions attached to the agent and enabled on both sides", async () => {
    const { definitions, functions } = await load();
    expect(definitions.map((d) => d.name)).toEqual(["check_inventory", "failing", "lookup_order", "metadata", "plain_text", "slow_one"]);
    expect(definitions[0]).toEqual({ name: "check_inventory", description: "does check_inventory", parameters: INVENTORY });
    expect(functions.lookup("check_inventory")).toEqual({ speakDuringExecution: false });
    expect(functions.lookup("agent_off")).toBeUndefined();
    const unknown = await functions.invoke("agent_off", "{}", signal());
    expect(unknown).toMatchObject({ ok: false, httpStatus: null });
  });

  it("refuses arguments that break the schema without calling the webhook", async () => {
    const { functions } = await load();
    const before = received.length;
    const result = await functions.invoke("check_inventory", '{"qty": 0}', signal());
    expect(result.ok).toBe(false);
    expect(result.httpStatus).toBeNull();
    const output = JSON.parse(result.output) as { error: string };
    expect(output.error).toMatch(/invalid arguments: .*sku/);
    expect(output.error).toMatch(/qty must be >= 1/);
    expect(result.error).toMatch(/^invalid_arguments/);
    expect((await functions.invoke("check_inventory", "{not json", signal())).output).toMatch(/not valid JSON/);
    expect(received.length).toBe(before);
  });

  it("POSTs the signed call context and hands the JSON answer to the model", async () => {
    const { functions } = await load();
    const result = await functions.invoke("check_inventory", '{"sku":"A1","qty":2}', signal());
    expect(result).toEqual({ ok: true, output: '{"in_stock":42}', httpStatus: 200, error: null });
    const req = received.at(-1)!;
    expect(req.method).toBe("POST");
    expect(req.headers["content-type"]).toBe("application/json");
    const body = JSON.parse(req.body) as Record<string, unknown>;
    expect(body).toMatchObject({
      function: "check_inventory",
      arguments: { sku: "A1", qty: 2 },
      call: { id: CALL.callId, call_sid: "CA123", direction: "inbound", from: CALL.from, to: CALL.to, agent_id: agentId },
    });
    expect(typeof body.timestamp).toBe("string");

    const secret = await getWebhookSecret(store.db, tenantId);
    const header = req.headers["x-patchbay-signature"] as string;
    const t = Number(req.headers["x-patchbay-timestamp"]);
    expect(header).toMatch(new RegExp(`^t=${t},v1=[0-9a-f]{64}$`));
    const now = { nowSeconds: Math.floor(Date.now() / 1000), toleranceSeconds: 300 };
    expect(verifyWebhookSignature(secret, header, req.body, now)).toBe(true);
    expect(verifyWebhookSignature(secret, header, req.body + " ", now)).toBe(false);
    expect(verifyWebhookSignature("whsec_other", header, req.body, now)).toBe(false);
  });

  it("sends GET arguments as a query string, signing the path and query", async () => {
    const { functions } = await load();
    const result = await functions.invoke("lookup_order", '{"order":"A 1","items":[1,2]}', signal());
    expect(result.ok).toBe(true);
    const req = received.at(-1)!;
    expect(req.method).toBe("GET");
    expect(req.body).toBe("");
    const url = new URL(req.url, base);
    expect(Object.fromEntries(url.searchParams)).toEqual({ src: "pb", order: "A 1", items: "[1,2]" });
    const secret = await getWebhookSecret(store.db, tenantId);
    const ok = verifyWebhookSignature(secret, req.headers["x-patchbay-signature"] as string, req.url, {
      nowSeconds: Math.floor(Date.now() / 1000),
      toleranceSeconds: 300,
    });
    expect(ok).toBe(true);
  });

  it("wraps a text answer and reports an error status in words", async () => {
    const { functions } = await load();
    expect(await functions.invoke("plain_text", "{}", signal())).toMatchObject({ ok: true, output: '{"result":"42 in stock"}' });
    const failed = await functions.invoke("failing", "{}", signal());
    expect(failed).toMatchObject({ ok: false, httpStatus: 500 });
    expect((JSON.parse(failed.output) as { error: string }).error).toMatch(/answered with an error \(HTTP 500\)/);
  });

  it("turns a timeout and a refused address into error results", async () => {
    const { functions } = await load();
    const slow = await functions.invoke("slow_one", "{}", signal());
    expect(slow).toMatchObject({ ok: false, httpStatus: null });
    expect(slow.error).toMatch(/^timeout/);
    expect((JSON.parse(slow.output) as { error: string }).error).toMatch(/took too long/);
    const blocked = await functions.invoke("metadata", "{}", signal());
    expect(blocked.ok).toBe(false);
    expect(blocked.error).toMatch(/^blocked_address/);
  });

  it("stops waiting when the call ends", async () => {
    const { functions } = await load();
    const controller = new AbortController();
    const started = performance.now();
    const pending = functions.invoke("slow_one", "{}", controller.signal);
    setTimeout(() => controller.abort(), 50);
    const result = await pending;
    expect(performance.now() - started).toBeLessThan(900);
    expect(result).toMatchObject({ ok: false, httpStatus: null });
    expect(result.error).toMatch(/^aborted/);
  });
});

describe("parameter schemas", () => {
  it("refuses patterns that could take exponential time to match, wherever they sit", () => {
    const nested = { type: "object", properties: { q: { type: "string", pattern: "^(a+)+$" } } };
    expect(compileParameters(nested).problem).toMatch(/exponential/);
    const keyed = { type: "object", patternProperties: { "^([a-z]+)*$": { type: "string" } } };
    expect(compileParameters(keyed).problem).toMatch(/exponential/);
    const deep = { type: "object", properties: { items: { type: "array", items: { type: "string", pattern: "(.*a){12}" } } } };
    expect(compileParameters(deep).problem).toMatch(/exponential/);
  });

  it("keeps ordinary patterns", () => {
    const schema = { type: "object", properties: { zip: { type: "string", pattern: "^\\d{5}(-\\d{4})?$" } } };
    const { validate, problem } = compileParameters(schema);
    expect(problem).toBeUndefined();
    expect(validate!({ zip: "12345-6789" })).toBe(true);
    expect(validate!({ zip: "12" })).toBe(false);
  });
});
