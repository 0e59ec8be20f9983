import { Writable } from "node:stream";
import type { FastifyInstance } from "fastify";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SessionRegistry, systemClock } from "../../sessions/index.js";
import { openBus, type Bus } from "../../src/bus/index.js";
import { CallFactory } from "../../src/calls/callFactory.js";
import { loadConfig } from "../../src/config.js";
import { buildApp } from "../../src/http/app.js";
import { providerRegistry } from "../../src/providers.js";
import { IN_MEMORY, openDatabase, type Db } from "../../src/storage/index.js";
import { startServerHarness, type ServerHarness } from "./harness.js";

interface ErrorBody {
  error: string;
  message: string;
  detail?: unknown[];
  request_id: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

async function send(url: string, init: RequestInit = {}): Promise<{ status: number; body: ErrorBody; requestId: string | null; type: string | null }> {
  const res = await fetch(url, init);
  return { status: res.status, body: (await res.json()) as ErrorBody, requestId: res.headers.get("x-request-id"), type: res.headers.get("content-type") };
}

/** Every error answers the one shape, its request_id the same as the x-request-id header. */
function expectErrorShape(res: Awaited<ReturnType<typeof send>>, status: number, error: string): void {
  expect(res.status).toBe(status);
  expect(res.type).toMatch(/^application\/json/);
  expect(res.body).toEqual({ error, message: expect.any(String) as unknown, request_id: expect.any(String) as unknown, ...(res.body.detail ? { detail: expect.any(Array) as unknown } : {}) });
  expect(res.body.message).not.toBe("");
  expect(res.body.request_id).toBe(res.requestId);
}

describe("errors over HTTP: one shape, with the request id", () => {
  let h: ServerHarness;
  let base: string;
  const json = (body: string, headers: Record<string, string> = {}): RequestInit => ({
    method: "POST",
    headers: { "x-api-key": "pb_test_admin_key_0123456789abcdef", "content-type": "application/json", ...headers },
    body,
  });
  beforeAll(async () => {
    h = await startServerHarness({ agent: { voice_provider: "scripted" } });
    base = h.server.url;
  });
  afterAll(async () => h?.close());

  it("answers an unknown route with a 404 naming it", async () => {
    const res = await send(`${base}/no/such/route?token=x`);
    expectErrorShape(res, 404, "not_found");
    expect(res.body.message).toBe("no route for GET /no/such/route");
    expect(res.requestId).toMatch(UUID);
  });

  it("puts x-request-id on successful responses too, keeping a sane incoming one and replacing anything else", async () => {
    const ok = await fetch(`${base}/health`, { headers: { "x-request-id": "trace-abc.123:xyz" } });
    expect(ok.status).toBe(200);
    expect(ok.headers.get("x-request-id")).toBe("trace-abc.123:xyz");
    const listed = await fetch(`${base}/tenants/me`, { headers: { "x-api-key": "pb_test_admin_key_0123456789abcdef" } });
    expect(listed.headers.get("x-request-id")).toMatch(UUID);
    const insane = await send(`${base}/nowhere`, { headers: { "x-request-id": "has spaces and \"quotes\"" } });
    expect(insane.requestId).toMatch(UUID);
    const tooLong = await send(`${base}/nowhere`, { headers: { "x-request-id": "a".repeat(200) } });
    expect(tooLong.requestId).toMatch(UUID);
  });

  it("answers malformed and empty JSON with a 400 that says so", async () => {
    const bad = await send(`${base}/agents`, json("{\"name\": "));
    expectErrorShape(bad, 400, "bad_request");
    expect(bad.body.message).toBe("request body is not valid JSON");
    const empty = await send(`${base}/agents`, json(""));
    expectErrorShape(empty, 400, "bad_request");
    expect(empty.body.message).toMatch(/empty/);
  });

  it("answers an unknown content type with 415 and an oversized body with 413", async () => {
    const xml = await send(`${base}/agents`, json("<agent/>", { "content-type": "application/xml" }));
    expectErrorShape(xml, 415, "unsupported_media_type");
    expect(xml.body.message).toMatch(/application\/xml.*application\/json/);
    const big = await send(`${base}/agents`, json(JSON.stringify({ name: "x".repeat(1024 * 1024 + 10) })));
    expectErrorShape(big, 413, "payload_too_large");
    expect(big.body.message).toMatch(/1048576 bytes/);
  });

  it("answers a bad URL encoding with a 400 in the same shape", async () => {
    const res = await send(`${base}/agents/%E0%A4%A`, { headers: { "x-api-key": "pb_test_admin_key_0123456789abcdef" } });
    expectErrorShape(res, 400, "bad_request");
  });

  it("keeps the shape for 401 and 422, with 422's detail", async () => {
    expectErrorShape(await send(`${base}/agents`), 401, "unauthorized");
    const invalid = await send(`${base}/agents`, json(JSON.stringify({ temperature: 9 })));
    expectErrorShape(invalid, 422, "validation_error");
    expect(invalid.body.detail).toEqual(expect.arrayContaining([{ loc: ["body", "name"], msg: expect.any(String) as unknown, type: "required" }]));
  });
});

describe("errors from a route that throws", () => {
  const lines: Record<string, unknown>[] = [];
  let app: FastifyInstance;
  let store: Db;
  let bus: Bus;
  beforeAll(async () => {
    const config = loadConfig({ DATA_DIR: IN_MEMORY, LOG_LEVEL: "info" });
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const line of chunk.toString("utf8").split("\n").filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
        done();
      },
    });
    const log = pino({ level: "info" }, sink);
    store = await openDatabase({ dataDir: IN_MEMORY });
    bus = await openBus();
    const sessions = new SessionRegistry();
    const providers = providerRegistry(config, undefined);
    const calls = new CallFactory({ db: store.db, config, bus, providers, sessions, clock: systemClock, log, vadFor: () => undefined });
    app = await buildApp({
      log,
      db: store.db,
      providerNames: providers.names,
      ready: Promise.resolve(),
      services: { config, db: store.db, log, clock: systemClock, bus, sessions, calls, providers, tokens: undefined },
      publicRoutes: (a) => {
        a.get("/boom", async () => {
          throw new Error("secret internals: connection string postgres://user:pw@db");
        });
      },
    });
  });
  afterAll(async () => {
    await app?.close();
    await bus?.close();
    await store?.close();
  });

  it("answers 500 with a generic message and the request id, and logs the error under that id", async () => {
    const res = await app.inject({ method: "GET", url: "/boom", headers: { "x-request-id": "req-boom-1" } });
    expect(res.statusCode).toBe(500);
    expect(res.headers["x-request-id"]).toBe("req-boom-1");
    const body = res.json<ErrorBody>();
    expect(body).toEqual({ error: "internal_error", message: expect.stringMatching(/internal error/) as unknown, request_id: "req-boom-1" });
    expect(res.body).not.toMatch(/secret internals|stack|\n\s+at /);
    const logged = lines.find((l) => l.level === 50 && l.reqId === "req-boom-1");
    expect(logged).toBeDefined();
    expect(JSON.stringify(logged)).toContain("secret internals");
  });
});
