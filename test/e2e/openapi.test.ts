import { Validator } from "@seriousme/openapi-schema-validator";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startHarness, type Harness } from "./harness.js";

/** Every route the control plane promises (DESIGN.md, issue 5), as OpenAPI paths. */
const ROUTES: readonly [string, string][] = [
  ["get", "/health"],
  ["get", "/agents"],
  ["post", "/agents"],
  ["get", "/agents/{id}"],
  ["patch", "/agents/{id}"],
  ["delete", "/agents/{id}"],
  ["post", "/agents/{id}/toggle"],
  ["post", "/agents/{id}/duplicate"],
  ["get", "/agents/{id}/phone-numbers"],
  ["get", "/phone-numbers"],
  ["post", "/phone-numbers"],
  ["patch", "/phone-numbers/{id}"],
  ["delete", "/phone-numbers/{id}"],
  ["get", "/calls"],
  ["get", "/calls/{id}"],
  ["get", "/calls/export"],
  ["get", "/calls/{id}/recording"],
  ["post", "/outbound/trigger"],
  ["post", "/outbound/agents/{agentId}/call"],
  ["get", "/auth/api-keys"],
  ["post", "/auth/api-keys"],
  ["post", "/auth/api-keys/{id}/revoke"],
  ["post", "/webhooks/twilio/{tenantId}/voice"],
  ["post", "/webhooks/twilio/{tenantId}/status"],
  ["post", "/webhooks/twilio/{tenantId}/recording"],
  ["post", "/webhooks/twilio/{tenantId}/amd-status"],
  ["get", "/webhooks/twilio/{tenantId}/whisper/{callSid}"],
  ["post", "/webhooks/twilio/{tenantId}/whisper/{callSid}"],
  ["post", "/webhooks/twilio/{tenantId}/transfer-status"],
  ["get", "/functions"],
  ["post", "/functions"],
  ["get", "/functions/{id}"],
  ["put", "/functions/{id}"],
  ["delete", "/functions/{id}"],
  ["post", "/functions/{id}/test"],
  ["get", "/agents/{id}/functions"],
  ["post", "/agents/{id}/functions/attach"],
  ["get", "/tenants/me/webhook-secret"],
  ["post", "/tenants/me/webhook-secret/rotate"],
];

type Operation = { responses?: Record<string, { content?: Record<string, { schema?: unknown }> }>; tags?: string[] };

describe("OpenAPI", () => {
  let h: Harness;
  let spec: { openapi: string; paths: Record<string, Record<string, Operation>> };
  beforeAll(async () => {
    h = await startHarness();
    const res = await fetch(`${h.server.url}/docs/json`);
    expect(res.status).toBe(200);
    spec = (await res.json()) as typeof spec;
  });
  afterAll(async () => h?.close());

  it("serves a spec that validates as OpenAPI 3", async () => {
    const result = await new Validator().validate(spec);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(spec.openapi).toMatch(/^3\./);
  });

  it("documents every route with a tag and a response schema for success", () => {
    const missing = ROUTES.filter(([method, path]) => spec.paths[path]?.[method] === undefined);
    expect(missing).toEqual([]);
    for (const [method, path] of ROUTES) {
      const op = spec.paths[path]![method]!;
      expect(op.tags?.length, `${method} ${path} tags`).toBeGreaterThan(0);
      const success = Object.entries(op.responses ?? {}).filter(([code]) => code.startsWith("2"));
      expect(success.length, `${method} ${path} has a 2xx response`).toBeGreaterThan(0);
    }
  });

  it("serves the UI", async () => {
    const res = await fetch(`${h.server.url}/docs/`);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain("swagger");
  });
});
