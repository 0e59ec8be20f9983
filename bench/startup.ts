/**
 * `npm run bench:startup`: how long `node dist/src/main.js` takes to answer /health, and to have storage
 * ready, on a fresh data directory (first boot, PGlite initdb) and on an existing one. Bounded: 5 runs each.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const RUNS = 5;
const PORT = 18_080;
const TIMEOUT_MS = 30_000;

async function health(): Promise<string | null> {
  try {
    const res = await fetch(`http://127.0.0.1:${PORT}/health`);
    return res.status === 200 ? ((await res.json()) as { status: string }).status : null;
  } catch {
    return null;
  }
}

async function once(dataDir: string): Promise<{ firstHealthMs: number; readyMs: number }> {
  const t0 = performance.now();
  const child = spawn(process.execPath, ["dist/src/main.js"], {
    env: { PATH: process.env.PATH ?? "", PORT: String(PORT), DATA_DIR: dataDir, LOG_LEVEL: "warn", PATCHBAY_ADMIN_KEY: "pb_bench_admin_key_0123456789" },
    stdio: "ignore",
  });
  const exited = new Promise((resolve) => child.on("exit", resolve));
  let firstHealthMs = -1;
  try {
    for (;;) {
      if (performance.now() - t0 > TIMEOUT_MS) throw new Error("server did not become ready in time");
      const status = await health();
      if (status !== null && firstHealthMs < 0) firstHealthMs = performance.now() - t0;
      if (status === "ok") return { firstHealthMs, readyMs: performance.now() - t0 };
      await new Promise((r) => setTimeout(r, 10));
    }
  } finally {
    child.kill("SIGTERM");
    await exited;
  }
}

function summary(label: string, xs: number[]): string {
  const sorted = [...xs].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)]!;
  return `${label.padEnd(34)} median ${median.toFixed(0).padStart(5)} ms   max ${sorted.at(-1)!.toFixed(0).padStart(5)} ms`;
}

const fresh: { firstHealthMs: number; readyMs: number }[] = [];
const warm: { firstHealthMs: number; readyMs: number }[] = [];
const warmDir = mkdtempSync(join(tmpdir(), "patchbay-bench-warm-"));
for (let i = 0; i < RUNS; i++) {
  const dir = mkdtempSync(join(tmpdir(), "patchbay-bench-"));
  try {
    fresh.push(await once(dir));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  warm.push(await once(warmDir));
  process.stderr.write(`  run ${i + 1}/${RUNS} done\n`);
}
rmSync(warmDir, { recursive: true, force: true });
console.log(`startup (node dist/src/main.js, ${RUNS} runs each, embedded PGlite)`);
console.log(summary("fresh data dir: /health 200", fresh.map((r) => r.firstHealthMs)));
console.log(summary("fresh data dir: storage ready", fresh.map((r) => r.readyMs)));
console.log(summary("existing data dir: /health 200", warm.map((r) => r.firstHealthMs)));
console.log(summary("existing data dir: storage ready", warm.map((r) => r.readyMs)));
