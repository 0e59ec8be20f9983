import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isBlockedAddress } from "../../src/net/addresses.js";
import { safeRequest, SafeRequestError, type SafeRequestOptions } from "../../src/net/safeRequest.js";

const LOOPBACK = new Set(["127.0.0.1"]);
const BASE: Omit<SafeRequestOptions, "allowHosts"> = { method: "GET", timeoutMs: 2_000, maxBytes: 1024 };

/** A loopback receiver: each path answers differently; records what it received. */
function receiver(): Promise<{ server: Server; url: string; seen: { method?: string; url?: string; body: string; headers: IncomingMessage["headers"] }[] }> {
  const seen: { method?: string; url?: string; body: string; headers: IncomingMessage["headers"] }[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      seen.push({ method: req.method, url: req.url, body: Buffer.concat(chunks).toString(), headers: req.headers });
      if (req.url === "/slow") return void setTimeout(() => res.end("late"), 1_500);
      if (req.url === "/big") return void res.end("x".repeat(5_000));
      if (req.url === "/big-chunked") {
        res.write("y".repeat(800));
        return void setTimeout(() => res.end("y".repeat(800)), 20);
      }
      if (req.url === "/redirect") return void res.writeHead(302, { location: "http://127.0.0.1:1/" }).end();
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ ok: true }));
    });
  });
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () => resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen })),
  );
}

async function failure(promise: Promise<unknown>): Promise<SafeRequestError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(SafeRequestError);
  return err as SafeRequestError;
}

describe("safeRequest", () => {
  let r: Awaited<ReturnType<typeof receiver>>;
  beforeAll(async () => {
    r = await receiver();
  });
  afterAll(() => new Promise<void>((resolve) => r.server.close(() => resolve())));

  it("reaches a loopback receiver whose host is in allowHosts, sending method, headers and body", async () => {
    const res = await safeRequest(`${r.url}/echo?q=1`, {
      ...BASE,
      method: "POST",
      headers: { "content-type": "application/json", "x-custom": "yes" },
      body: '{"a":1}',
      allowHosts: LOOPBACK,
    });
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body.toString())).toEqual({ ok: true });
    expect(res.durationMs).toBeGreaterThan(0);
    const last = r.seen.at(-1)!;
    expect(last).toMatchObject({ method: "POST", url: "/echo?q=1", body: '{"a":1}' });
    expect(last.headers["x-custom"]).toBe("yes");
  });

  it("turns a request Node refuses outright (a header with a line break) into a typed error, and nothing fires later", async () => {
    const err = await failure(safeRequest(`${r.url}/echo`, { ...BASE, headers: { "x-bad": "a\r\nb" }, timeoutMs: 50, allowHosts: LOOPBACK }));
    expect(err.code).toBe("network");
    // The deadline would have fired by now; it must not throw from its timer.
    await new Promise((resolve) => setTimeout(resolve, 80));
  });

  it("refuses a loopback IP literal that is not allowed, without connecting", async () => {
    const before = r.seen.length;
    const err = await failure(safeRequest(`${r.url}/echo`, { ...BASE, allowHosts: new Set() }));
    expect(err.code).toBe("blocked_address");
    expect(err.message).toMatch(/SSRF_ALLOW_HOSTS/);
    expect(r.seen.length).toBe(before);
  });

  it("refuses a name resolving to loopback (localhost) even when its IP is allowed", async () => {
    const port = new URL(r.url).port;
    const err = await failure(safeRequest(`http://localhost:${port}/echo`, { ...BASE, allowHosts: LOOPBACK }));
    expect(err.code).toBe("blocked_address");
    expect(err.message).toMatch(/localhost resolves to/);
  });

  it("allows a name listed in allowHosts", async () => {
    const port = new URL(r.url).port;
    const res = await safeRequest(`http://LOCALHOST:${port}/echo`, { ...BASE, allowHosts: new Set(["localhost"]) });
    expect(res.status).toBe(200);
  });

  it("refuses private, link-local and mapped literals", async () => {
    for (const url of ["http://10.0.0.1/", "http://169.254.169.254/latest/meta-data", "http://[::1]/", "http://[::ffff:127.0.0.1]/", "http://0.0.0.0/", "http://[fd00::1]/"]) {
      expect((await failure(safeRequest(url, { ...BASE, allowHosts: new Set() }))).code, url).toBe("blocked_address");
    }
  });

  it("gives up at the deadline with a timeout", async () => {
    const started = performance.now();
    const err = await failure(safeRequest(`${r.url}/slow`, { ...BASE, timeoutMs: 200, allowHosts: LOOPBACK }));
    expect(err.code).toBe("timeout");
    expect(err.retryable).toBe(true);
    expect(performance.now() - started).toBeLessThan(1_400);
  });

  it("caps the body, by Content-Length and while streaming", async () => {
    expect((await failure(safeRequest(`${r.url}/big`, { ...BASE, allowHosts: LOOPBACK }))).code).toBe("too_large");
    expect((await failure(safeRequest(`${r.url}/big-chunked`, { ...BASE, allowHosts: LOOPBACK }))).code).toBe("too_large");
  });

  it("does not follow redirects", async () => {
    const res = await safeRequest(`${r.url}/redirect`, { ...BASE, allowHosts: LOOPBACK });
    expect(res.status).toBe(302);
    expect(res.headers.location).toBe("http://127.0.0.1:1/");
  });

  it("rejects bad URLs and reports network failures", async () => {
    expect((await failure(safeRequest("ftp://example.com/x", { ...BASE, allowHosts: LOOPBACK }))).code).toBe("bad_url");
    expect((await failure(safeRequest("not a url", { ...BASE, allowHosts: LOOPBACK }))).code).toBe("bad_url");
    expect((await failure(safeRequest("http://user:pw@example.com/", { ...BASE, allowHosts: LOOPBACK }))).code).toBe("bad_url");
    // Port 1 on loopback: nothing listens.
    expect((await failure(safeRequest("http://127.0.0.1:1/", { ...BASE, allowHosts: LOOPBACK }))).code).toBe("network");
  });

  it("rejects with the signal's reason when aborted", async () => {
    const controller = new AbortController();
    const pending = safeRequest(`${r.url}/slow`, { ...BASE, allowHosts: LOOPBACK, signal: controller.signal });
    setTimeout(() => controller.abort(new Error("call ended")), 50);
    await expect(pending).rejects.toThrow("call ended");
  });
});

describe("isBlockedAddress", () => {
  it.each([
    "127.0.0.1",
    "10.1.2.3",
    "172.16.0.1",
    "172.31.255.255",
    "192.168.1.1",
    "169.254.169.254",
    "100.64.0.1",
    "0.0.0.0",
    "224.0.0.1",
    "255.255.255.255",
    "::",
    "::1",
    "fe80::1%eth0",
    "fc00::1",
    "fd12:3456::1",
    "ff02::1",
    "::ffff:10.0.0.1",
    "::ffff:a00:1",
    "::ffff:7f00:1",
    "64:ff9b::a9fe:a9fe",
    "2002:c0a8:0101::1",
    "not-an-ip",
  ])("blocks %s", (address) => expect(isBlockedAddress(address)).toBe(true));

  it.each(["8.8.8.8", "172.32.0.1", "100.128.0.1", "1.1.1.1", "2606:4700:4700::1111", "::ffff:8.8.8.8"])("allows %s", (address) =>
    expect(isBlockedAddress(address)).toBe(false),
  );
});
