import { beforeAll, describe, expect, it } from "vitest";
import { MULAW_8K, type AudioFormat } from "../../media/audioFormat.js";
import { decodeMulawInto, encodeMulawInto } from "../../media/g711.js";
import { initResamplers } from "../../media/resample/index.js";
import { createTranscoder } from "../../media/transcoder.js";

const PCM16_16K: AudioFormat = { encoding: "pcm16", rate: 16000 };
const PCM16_24K: AudioFormat = { encoding: "pcm16", rate: 24000 };
const ALAW_8K: AudioFormat = { encoding: "alaw", rate: 8000 };

/** μ-law 8 kHz of a 997 Hz tone, `ms` long. */
function toneMulaw(ms: number): Buffer {
  const pcm = Int16Array.from({ length: ms * 8 }, (_, i) => Math.round(8000 * Math.sin((2 * Math.PI * 997 * i) / 8000)));
  const out = Buffer.alloc(pcm.length);
  encodeMulawInto(pcm, out);
  return out;
}

function chunks(buf: Buffer, size: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < buf.length; i += size) out.push(buf.subarray(i, i + size).toString("base64"));
  return out;
}

function pcmOf(mulaw: Buffer): Int16Array {
  const pcm = new Int16Array(mulaw.length);
  decodeMulawInto(mulaw, pcm);
  return pcm;
}

beforeAll(async () => {
  await initResamplers();
});

describe("createTranscoder", () => {
  it("passes μ-law through untouched when the provider takes it", () => {
    const t = createTranscoder(MULAW_8K, MULAW_8K);
    const frame = toneMulaw(20).toString("base64");
    expect(t.convert(frame)).toBe(frame);
  });

  it("turns 20 ms of μ-law 8 kHz into PCM16 at the provider's rate, in step over a stream", () => {
    const t = createTranscoder(MULAW_8K, PCM16_16K);
    let bytes = 0;
    for (const frame of chunks(toneMulaw(1000), 160)) bytes += Buffer.from(t.convert(frame), "base64").length;
    // 1 s at 16 kHz, 2 bytes a sample (the resampler's short start-up delay aside).
    expect(Math.abs(bytes - 32_000)).toBeLessThanOrEqual(2 * 64);
  });

  it("brings a 24 kHz reply back to μ-law 8 kHz without losing the tone", () => {
    const up = createTranscoder(MULAW_8K, PCM16_24K);
    const down = createTranscoder(PCM16_24K, MULAW_8K);
    const source = toneMulaw(1000);
    const back = Buffer.concat(chunks(source, 160).map((f) => Buffer.from(down.convert(up.convert(f)), "base64")));
    expect(Math.abs(back.length - source.length)).toBeLessThanOrEqual(64);
    // Compare after the chain's delay: find the best lag, then the error power relative to the signal.
    const a = pcmOf(source);
    const b = pcmOf(back);
    let best = { lag: 0, snrDb: -Infinity };
    for (let lag = 0; lag < 80; lag++) {
      let sig = 0;
      let err = 0;
      for (let i = 800; i < 7000; i++) {
        sig += a[i]! ** 2;
        err += (a[i]! - (b[i + lag] ?? 0)) ** 2;
      }
      const snrDb = 10 * Math.log10(sig / err);
      if (snrDb > best.snrDb) best = { lag, snrDb };
    }
    // Two μ-law quantisations bound this (~38 dB each); the resamplers must not be what limits it.
    expect(best.snrDb).toBeGreaterThan(30);
  });

  it("keeps a PCM16 chunk's odd trailing byte for the next chunk", () => {
    const pcm = Buffer.from(Int16Array.from({ length: 480 }, (_, i) => (i * 97) % 20000 - 10000).buffer);
    const whole = createTranscoder(PCM16_24K, MULAW_8K);
    const split = createTranscoder(PCM16_24K, MULAW_8K);
    const expected = Buffer.from(whole.convert(pcm.toString("base64")), "base64");
    const parts = [pcm.subarray(0, 301), pcm.subarray(301, 655), pcm.subarray(655)];
    const got = Buffer.concat(parts.map((p) => Buffer.from(split.convert(p.toString("base64")), "base64")));
    expect(got.equals(expected)).toBe(true);
  });

  it("converts between the G.711 laws at the same rate without a resampler", () => {
    const t = createTranscoder(MULAW_8K, ALAW_8K);
    const out = Buffer.from(t.convert(toneMulaw(20).toString("base64")), "base64");
    expect(out.length).toBe(160);
  });
});
