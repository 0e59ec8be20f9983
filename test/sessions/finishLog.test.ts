import { afterEach, describe, expect, it, vi } from "vitest";
import { finishWithRetry } from "../../sessions/finishLog.js";
import type { CallOutcome } from "../../sessions/index.js";

const OUTCOME: CallOutcome = { status: "completed", endedAt: new Date(0), durationSeconds: 3, transcript: [], metadata: { end_reason: "stream_stopped" } };
const log = () => ({ debug: vi.fn(), info: vi.fn(), warn: vi.fn(), error: vi.fn() });

afterEach(() => vi.useRealTimers());

describe("finishWithRetry", () => {
  it("rides out a database blip", async () => {
    vi.useFakeTimers();
    let calls = 0;
    const port = {
      markInProgress: async () => {},
      finish: async () => {
        if (++calls < 3) throw new Error("connection reset");
      },
    };
    const l = log();
    const done = finishWithRetry(port, "c1", OUTCOME, l);
    await vi.runAllTimersAsync();
    await done;
    expect(calls).toBe(3);
    expect(l.warn).toHaveBeenCalledTimes(2);
    expect(l.error).not.toHaveBeenCalled();
  });

  it("gives up after its attempts without throwing, and keeps the outcome in the error log", async () => {
    vi.useFakeTimers();
    const port = { markInProgress: async () => {}, finish: vi.fn(async () => Promise.reject(new Error("database is down"))) };
    const l = log();
    const done = finishWithRetry(port, "c1", OUTCOME, l);
    await vi.runAllTimersAsync();
    await expect(done).resolves.toBeUndefined();
    expect(port.finish).toHaveBeenCalledTimes(5);
    expect(l.error).toHaveBeenCalledWith(expect.objectContaining({ callId: "c1", outcome: OUTCOME }), expect.any(String));
  });
});
