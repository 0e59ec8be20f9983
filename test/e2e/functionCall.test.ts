/**
 * A tenant function called by the model on a live call: the webhook is signed with the tenant's secret,
 * its answer reaches the model as the tool result, a slow one times out into an error the model can
 * relay, and a private address is never contacted.
 */
import { createHmac } from "node:crypto";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fixture, startHarness, type Harness } from "./harness.js";

interface Received {
  headers: IncomingHttpHeaders;
  body: string;
}

describe("custom functions on a live call", () => {
  let h: Harness;
  let receiver: Server;
  let base: string;
  const received: Received[] = [];
  beforeAll(async () => {
    receiver = createServer((req, res) => {
      let body = "";
      req.on("data", (chunk: Buffer) => (body += chunk.toString("utf8")));
      req.on("end", () => {
        received.push({ headers: req.headers, body });
        const delay = req.url === "/slow" ? 2_500 : 0;
        setTimeout(() => {
          res.writeHead(200, { "content-type": "application/json" });
          res.end(JSON.stringify({ status: "shipped", eta_days: 2 }));
        }, delay);
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
    // The test receiver is on loopback: allowed by configuration, as an on-premises service would be.
    h = await startHarness({ env: { SSRF_ALLOW_HOSTS: "127.0.0.1", LOCAL_VAD: "off" }, agent: { enable_recording_disclosure: false } });
  });
  afterAll(async () => {
    await h?.close();
    receiver?.closeAllConnections();
    await new Promise((r) => receiver?.close(r));
  });

  async function attach(name: string, webhookUrl: string, extra: Record<string, unknown> = {}): Promise<void> {
    const res = await h.api("POST", `/agents/${h.agentId}/functions`, {
      name,
      description: "Looks up an order's shipping status.",
      parameters: { type: "object", properties: { order_id: { type: "string" } }, required: ["order_id"] },
      webhook_url: webhookUrl,
      webhook_timeout_ms: 1_000,
      ...extra,
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
  }

  it("calls the signed webhook and hands its answer to the model; a timeout and a private address become errors", async () => {
    await attach("order_status", `${base}/orders`);
    await attach("slow_lookup", `${base}/slow`);
    await attach("internal_lookup", "http://10.1.2.3/orders", { speak_during_execution: false });
    const secret = (await h.api<{ webhook_secret: string }>("GET", "/tenants/me/webhook-secret")).body.webhook_secret;

    const call = h.call({ fixture: fixture("silence.wav"), tailMs: 12_000 });
    const session = await h.fake.waitForClientEvent("session.update");
    // The model is offered the functions next to the built-in tools.
    const offered = (session.session as { tools?: { name: string }[] }).tools?.map((t) => t.name);
    expect(offered).toEqual(expect.arrayContaining(["end_call", "order_status", "slow_lookup", "internal_lookup"]));

    const ok = h.fake.requestToolCall("order_status", { order_id: "A-1001" });
    expect(JSON.parse(await h.fake.waitForToolOutput(ok))).toEqual({ status: "shipped", eta_days: 2 });
    const hit = received.at(-1)!;
    const [, t, v1] = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(String(hit.headers["x-patchbay-signature"]))!;
    expect(createHmac("sha256", secret).update(`${t}.${hit.body}`).digest("hex")).toBe(v1);
    expect(JSON.parse(hit.body)).toMatchObject({ function: "order_status", arguments: { order_id: "A-1001" }, call: { call_sid: call.callSid } });

    // Once the answer to it has played, the line is quiet: a slow lookup then gets a spoken "one moment".
    await new Promise((r) => setTimeout(r, 3_000));
    const slow = h.fake.requestToolCall("slow_lookup", { order_id: "A-1002" });
    const slowOutput = JSON.parse(await h.fake.waitForToolOutput(slow, 5_000)) as { error?: string };
    expect(slowOutput.error).toMatch(/too long/);
    // speak_during_execution: while it ran, the model was asked to tell the caller it's checking.
    const asked = h.fake.received.filter((e) => e.type === "response.create").map((e) => (e as { response?: { instructions?: string } }).response?.instructions ?? "");
    expect(asked.some((i) => /still running/.test(i)), JSON.stringify(h.fake.received.filter((e) => e.type === "response.create"))).toBe(true);

    const before = received.length;
    const refused = h.fake.requestToolCall("internal_lookup", { order_id: "A-1003" });
    const refusedOutput = JSON.parse(await h.fake.waitForToolOutput(refused)) as { error?: string };
    expect(refusedOutput.error).toBeDefined();
    expect(received.length).toBe(before);

    call.hangup();
    const log = await h.finishedCall((await call.done).callSid);
    const calls = (log.metadata as { tool_calls: { name: string; ok: boolean; duration_ms: number; error?: string }[] }).tool_calls;
    expect(calls.map((c) => [c.name, c.ok])).toEqual([
      ["order_status", true],
      ["slow_lookup", false],
      ["internal_lookup", false],
    ]);
    expect(calls[1]!.duration_ms).toBeGreaterThanOrEqual(950);
    expect(calls[1]!.duration_ms).toBeLessThan(2_000);
    expect(calls[2]!.error).toMatch(/blocked|private|address/i);
  });
});
