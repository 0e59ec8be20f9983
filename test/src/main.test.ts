import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const ROOT = new URL("../..", import.meta.url).pathname;
const ADMIN = "pb_main_test_admin_key_0123456789";

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** Runs `src/main.ts` as a user would run the server, from source. */
function runMain(env: Record<string, string>) {
  const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return { child, exited, out: () => stdout, err: () => stderr };
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 20_000): Promise<T> {
  const deadline = performance.now() + ms;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe("main", () => {
  const dataDir = mkdtempSync(join(tmpdir(), "patchbay-main-"));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it("refuses to start on bad config with one message naming every bad value", async () => {
    const run = runMain({ PORT: "eighty", LOG_LEVEL: "loud", DATABASE_URL: "mysql://x" });
    expect(await run.exited).toBe(1);
    for (const name of ["PORT", "LOG_LEVEL", "DATABASE_URL"]) expect(run.err()).toContain(name);
  });

  // A whole process booting from source under tsx: slow while the other test workers run calls.
  it("answers /health while storage boots, serves the API once it is ready, and exits on SIGTERM", async () => {
    const port = await freePort();
    const run = runMain({ PORT: String(port), DATA_DIR: dataDir, PATCHBAY_ADMIN_KEY: ADMIN, LOG_LEVEL: "info" });
    const base = `http://127.0.0.1:${port}`;
    const first = await until("first /health", async () => {
      const res = await fetch(`${base}/health`);
      return res.status === 200 ? ((await res.json()) as { status: string }) : undefined;
    });
    expect(["starting", "ok"]).toContain(first.status);
    // An API request made during boot waits for storage instead of failing.
    const agents = await fetch(`${base}/agents`, { headers: { "x-api-key": ADMIN } });
    expect(agents.status).toBe(200);
    const health = (await (await fetch(`${base}/health`)).json()) as { status: string; storage_ready: boolean };
    expect(health).toMatchObject({ status: "ok", storage_ready: true });
    // The log line and the HTTP reply travel on different pipes; the reply can arrive first.
    await until("the storage-ready log line", async () => (run.out().includes("storage ready") ? true : undefined), 10_000);
    expect(run.out()).not.toContain(ADMIN);
    run.child.kill("SIGTERM");
    expect(await run.exited).toBe(0);
  }, 60_000);
});
