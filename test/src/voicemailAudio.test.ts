import { readFileSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MULAW_DECODE, linearToAlaw } from "../../media/g711.js";
import { readWav } from "../../media/wav.js";
import { SafeRequestError } from "../../src/net/safeRequest.js";
import { VoicemailAudioError, fetchVoicemailAudio, type VoicemailAudioOptions } from "../../src/calls/voicemailAudio.js";

const fixturesDir = fileURLToPath(new URL("../../fixtures/", import.meta.url));
const LOOPBACK = new Set(["127.0.0.1"]);

/** A RIFF/WAVE file with one fmt chunk (PCM 1, A-law 6, μ-law 7) and `data`. */
function wavFile(formatTag: number, bits: number, rate: number, channels: number, data: Buffer): Buffer {
  const fmt = Buffer.alloc(16);
  const blockAlign = (bits / 8) * channels;
  fmt.writeUInt16LE(formatTag, 0);
  fmt.writeUInt16LE(channels, 2);
  fmt.writeUInt32LE(rate, 4);
  fmt.writeUInt32LE(rate * blockAlign, 8);
  fmt.writeUInt16LE(blockAlign, 12);
  fmt.writeUInt16LE(bits, 14);
  const header = Buffer.alloc(12);
  header.write("RIFF", 0, "latin1");
  header.writeUInt32LE(4 + 8 + fmt.length + 8 + data.length, 4);
  header.write("WAVE", 8, "latin1");
  const chunk = (id: string, size: number): Buffer => {
    const b = Buffer.alloc(8);
    b.write(id, 0, "latin1");
    b.writeUInt32LE(size, 4);
    return b;
  };
  return Buffer.concat([header, chunk("fmt ", fmt.length), fmt, chunk("data", data.length), data]);
}

/** Interleaved PCM16 of a sine per channel (amplitude 0 for a silent channel). */
function sinePcm16(rate: number, ms: number, hz: number, amplitudes: number[]): Buffer {
  const frames = Math.round((rate * ms) / 1000);
  const out = Buffer.alloc(frames * amplitudes.length * 2);
  for (let f = 0; f < frames; f++) {
    const s = Math.sin((2 * Math.PI * hz * f) / rate);
    amplitudes.forEach((a, c) => out.writeInt16LE(Math.round(a * 32767 * s), (f * amplitudes.length + c) * 2));
  }
  return out;
}

const decode = (mulaw: Buffer): Int16Array => Int16Array.from(mulaw, (b) => MULAW_DECODE[b] ?? 0);
const rms = (pcm: Int16Array): number => Math.sqrt(pcm.reduce((s, x) => s + x * x, 0) / pcm.length);
/** Sign changes per second: twice the frequency of a pure tone. */
const crossingsPerSecond = (pcm: Int16Array, rate: number): number => {
  let n = 0;
  for (let i = 1; i < pcm.length; i++) if (((pcm[i - 1] ?? 0) < 0) !== ((pcm[i] ?? 0) < 0)) n++;
  return (n * rate) / pcm.length;
};

// ---- A loopback file host: each path is one behaviour ----

const files = new Map<string, Buffer>();
let server: http.Server;
let base: string;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const path = req.url ?? "/";
    if (path === "/slow.wav") return; // never answers
    const file = files.get(path);
    if (file === undefined) {
      res.writeHead(404).end("not found");
      return;
    }
    res.writeHead(200, { "content-type": "audio/wav" }).end(file);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

/** The agent's owner uploaded `file` at `path`; returns its URL. */
function ownerUploads(path: string, file: Buffer): string {
  files.set(path, file);
  return `${base}${path}`;
}

function fetchIt(url: string, options: Partial<VoicemailAudioOptions> = {}): Promise<Buffer> {
  return fetchVoicemailAudio(url, { allowHosts: LOOPBACK, ...options });
}

async function refusal(promise: Promise<unknown>): Promise<VoicemailAudioError> {
  const err = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(VoicemailAudioError);
  return err as VoicemailAudioError;
}

describe("fetchVoicemailAudio: conversions", () => {
  it("converts a 16 kHz PCM16 WAV to μ-law 8 kHz of the same length and pitch", async () => {
    const url = ownerUploads("/pcm16k.wav", wavFile(1, 16, 16_000, 1, sinePcm16(16_000, 1_000, 440, [0.5])));
    const audio = await fetchIt(url);
    expect(audio.length).toBe(8_000);
    const pcm = decode(audio).subarray(400, 7_600); // past the resampler's edges
    expect(rms(pcm) / (0.5 * 32767 * Math.SQRT1_2)).toBeCloseTo(1, 1);
    expect(crossingsPerSecond(pcm, 8_000)).toBeCloseTo(880, -1);
    // The resampler's filter delay is flushed: the last 10 ms still hold the tone.
    expect(rms(decode(audio).subarray(7_920))).toBeGreaterThan(0.5 * 32767 * Math.SQRT1_2 * 0.8);
  });

  it("mixes a 44.1 kHz stereo WAV down to mono", async () => {
    const url = ownerUploads("/stereo.wav", wavFile(1, 16, 44_100, 2, sinePcm16(44_100, 500, 1_000, [0.6, 0])));
    const audio = await fetchIt(url);
    expect(audio.length).toBe(4_000);
    // One silent channel halves the level.
    expect(rms(decode(audio).subarray(200, 3_800)) / (0.3 * 32767 * Math.SQRT1_2)).toBeCloseTo(1, 1);
  });

  it("passes a μ-law 8 kHz mono WAV through byte for byte", async () => {
    const file = readFileSync(`${fixturesDir}voicemail-beep.wav`);
    const audio = await fetchIt(ownerUploads("/mulaw.wav", file));
    expect(audio.equals(readWav(file).data)).toBe(true);
  });

  it("converts an A-law WAV", async () => {
    const pcm = sinePcm16(8_000, 200, 500, [0.4]);
    const alaw = Buffer.alloc(pcm.length / 2);
    for (let i = 0; i < alaw.length; i++) alaw[i] = linearToAlaw(pcm.readInt16LE(i * 2));
    const audio = await fetchIt(ownerUploads("/alaw.wav", wavFile(6, 8, 8_000, 1, alaw)));
    expect(audio.length).toBe(1_600);
    expect(rms(decode(audio)) / (0.4 * 32767 * Math.SQRT1_2)).toBeCloseTo(1, 1);
  });
});

describe("fetchVoicemailAudio: refusals", () => {
  it("refuses a file over maxBytes", async () => {
    const url = ownerUploads("/big.wav", wavFile(7, 8, 8_000, 1, Buffer.alloc(50_000, 0xff)));
    const err = await refusal(fetchIt(url, { maxBytes: 20_000 }));
    expect(err.code).toBe("too_large");
    expect(err.retryable).toBe(false);
    expect(err.message).toMatch(/upload a WAV/);
  });

  it("refuses audio longer than the cap", async () => {
    const url = ownerUploads("/long.wav", wavFile(7, 8, 8_000, 1, Buffer.alloc(61 * 8_000, 0xff)));
    const err = await refusal(fetchIt(url));
    expect(err.code).toBe("too_long");
    expect(err.message).toMatch(/61\.0 s.*under 60 s/);
  });

  it("gives up on a host that does not answer in time", async () => {
    const started = performance.now();
    const err = await refusal(fetchIt(`${base}/slow.wav`, { timeoutMs: 200 }));
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(err.code).toBe("fetch_failed");
    expect(err.retryable).toBe(true);
    expect((err.cause as SafeRequestError).code).toBe("timeout");
  });

  it("refuses MP3 and other non-WAV files, saying what to upload", async () => {
    const mp3 = Buffer.concat([Buffer.from("ID3\x04\x00\x00\x00\x00\x00\x00", "latin1"), Buffer.alloc(2_000, 0x55)]);
    const err = await refusal(fetchIt(ownerUploads("/message.mp3", mp3)));
    expect(err.code).toBe("unsupported_format");
    expect(err.message).toMatch(/MP3.*upload a WAV file/);
    const page = await refusal(fetchIt(ownerUploads("/page.html", Buffer.from("<!doctype html><p>hi</p>"))));
    expect(page.message).toMatch(/HTML/);
  });

  it("refuses a WAV encoding it cannot read (24-bit PCM)", async () => {
    const err = await refusal(fetchIt(ownerUploads("/pcm24.wav", wavFile(1, 24, 8_000, 1, Buffer.alloc(2_400)))));
    expect(err.code).toBe("unsupported_format");
    expect(err.message).toMatch(/upload a WAV file/);
  });

  it("refuses loopback unless the host is allowed", async () => {
    const url = ownerUploads("/ok.wav", readFileSync(`${fixturesDir}silence.wav`));
    const err = await refusal(fetchVoicemailAudio(url, { allowHosts: new Set() }));
    expect(err.code).toBe("fetch_failed");
    expect(err.retryable).toBe(false);
    expect((err.cause as SafeRequestError).code).toBe("blocked_address");
    expect((await fetchIt(url)).length).toBe(24_000);
  });

  it("reports an HTTP error status", async () => {
    const err = await refusal(fetchIt(`${base}/missing.wav`));
    expect(err.code).toBe("fetch_failed");
    expect(err.message).toMatch(/HTTP 404/);
    expect(err.retryable).toBe(false);
  });
});
