import { describe, expect, it } from "vitest";
import { MULAW_DECODE, linearToMulaw } from "../../media/g711.js";
import { CallerAudioTap } from "../../sessions/callerAudio.js";

/** μ-law bytes whose decoded samples count up, so the test can see exactly which samples arrived. */
function ramp(from: number, n: number): Buffer {
  return Buffer.from(Array.from({ length: n }, (_, i) => linearToMulaw((from + i) * 64)));
}

function tap() {
  const frames: { len: number; endMs: number; first?: number }[] = [];
  const t = new CallerAudioTap([{ push: (pcm, endMs) => frames.push({ len: pcm.length, endMs, first: pcm[0] }), close: () => {} }]);
  return { t, frames };
}

describe("CallerAudioTap", () => {
  it("feeds the VAD whole 20 ms frames whatever size the payloads are", () => {
    const { t, frames } = tap();
    t.push(ramp(0, 80).toString("base64"));
    expect(frames).toEqual([]);
    t.push(ramp(80, 80).toString("base64"));
    t.push(ramp(160, 400).toString("base64"));
    // Each frame starts with the sample that follows the previous frame's last one.
    const first = (k: number) => MULAW_DECODE[linearToMulaw(k * 64)];
    expect(frames).toEqual([
      { len: 160, endMs: 20, first: first(0) },
      { len: 160, endMs: 40, first: first(160) },
      { len: 160, endMs: 60, first: first(320) },
    ]);
    t.push(ramp(560, 80).toString("base64"));
    expect(frames.at(-1)).toEqual({ len: 160, endMs: 80, first: first(480) });
  });

  it("ignores an empty payload and survives an oversized one", () => {
    const { t, frames } = tap();
    t.push("");
    expect(frames).toEqual([]);
    t.push(Buffer.alloc(10_000, 0xff).toString("base64"));
    expect(frames.length).toBeGreaterThan(0);
    expect(frames.every((f) => f.len === 160)).toBe(true);
  });
});
