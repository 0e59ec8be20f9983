import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { listCallLogs, openDatabase } from "../../src/storage/index.js";
import { fixture, startHarness, type Harness } from "./harness.js";

describe("shutdown with a live call", () => {
  const dataDir = mkdtempSync(join(tmpdir(), "patchbay-shutdown-"));
  let h: Harness | undefined;
  afterAll(async () => {
    await h?.fake.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("ends the call, hangs up the stream and writes its log before storage closes", async () => {
    h = await startHarness({ env: { DATA_DIR: dataDir } });
    const handle = h.call({ fixture: fixture("silence.wav"), tailMs: 10_000 });
    await new Promise((r) => setTimeout(r, 1_500));
    expect(h.server.sessions.size).toBe(1);
    await h.server.close();
    const result = await handle.done;
    expect(result.outcome).toBe("server_closed");

    // Reopen the store the server closed: the call's log was finished before it shut.
    const store = await openDatabase({ dataDir });
    try {
      const { calls } = await listCallLogs(store.db, h.tenantId, { limit: 10, offset: 0 });
      expect(calls).toHaveLength(1);
      expect(calls[0]!.ended_at).not.toBeNull();
      expect(calls[0]).toMatchObject({ status: "failed", metadata: { end_reason: "shutdown" } });
    } finally {
      await store.close();
    }
  });
});
