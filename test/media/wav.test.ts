import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { WavError, readWav, writeMulawWav } from "../../media/wav.js";

const fixturesDir = fileURLToPath(new URL("../../fixtures/", import.meta.url));

interface Chunk {
  id: string;
  body: Buffer;
}

function chunk(id: string, body: Buffer): Chunk {
  return { id, body };
}

/** Builds a RIFF/WAVE file from chunks, padding odd-sized ones as the spec requires. */
function riff(chunks: Chunk[]): Buffer {
  const parts: Buffer[] = [Buffer.from("WAVE", "latin1")];
  for (const { id, body } of chunks) {
    const header = Buffer.alloc(8);
    header.write(id, 0, "latin1");
    header.writeUInt32LE(body.length, 4);
    parts.push(header, body);
    if (body.length & 1) parts.push(Buffer.alloc(1));
  }
  const payload = Buffer.concat(parts);
  const head = Buffer.alloc(8);
  head.write("RIFF", 0, "latin1");
  head.writeUInt32LE(payload.length, 4);
  return Buffer.concat([head, payload]);
}

function fmt(formatTag: number, channels: number, sampleRate: number, bits: number, extra = Buffer.alloc(0)): Chunk {
  const body = Buffer.alloc(16);
  const blockAlign = (channels * bits) / 8;
  body.writeUInt16LE(formatTag, 0);
  body.writeUInt16LE(channels, 2);
  body.writeUInt32LE(sampleRate, 4);
  body.writeUInt32LE(sampleRate * blockAlign, 8);
  body.writeUInt16LE(blockAlign, 12);
  body.writeUInt16LE(bits, 14);
  return chunk("fmt ", Buffer.concat([body, extra]));
}

function expectWavError(buf: Buffer, code: WavError["code"], message: RegExp): void {
  try {
    readWav(buf);
  } catch (err) {
    expect(err).toBeInstanceOf(WavError);
    expect((err as WavError).code).toBe(code);
    expect((err as WavError).message).toMatch(message);
    return;
  }
  throw new Error("readWav accepted a bad file");
}

describe("writeMulawWav → readWav", () => {
  it("round-trips μ-law bytes with the sample rate", () => {
    const data = Buffer.from([0xff, 0x00, 0x7f, 0x80, 0x12]);
    const wav = writeMulawWav(data, 16000);
    expect(wav.toString("latin1", 0, 4)).toBe("RIFF");
    expect(wav.readUInt32LE(4)).toBe(wav.length - 8);
    expect(wav.length % 2).toBe(0); // odd data chunk is padded
    const parsed = readWav(wav);
    expect(parsed).toMatchObject({ format: "mulaw", sampleRate: 16000, channels: 1 });
    expect(Buffer.compare(parsed.data, data)).toBe(0);
  });

  it("writes WAVE_FORMAT_MULAW with a fact chunk, defaulting to 8 kHz", () => {
    const wav = writeMulawWav(Buffer.alloc(160, 0xff));
    expect(wav.readUInt16LE(20)).toBe(7);
    expect(wav.readUInt32LE(24)).toBe(8000);
    expect(wav.indexOf("fact", 0, "latin1")).toBeGreaterThan(0);
    expect(readWav(wav).data).toHaveLength(160);
  });
});

describe("readWav", () => {
  it("reads PCM16, A-law and WAVE_FORMAT_EXTENSIBLE μ-law", () => {
    const pcm = riff([fmt(1, 2, 44100, 16), chunk("data", Buffer.alloc(8))]);
    expect(readWav(pcm)).toMatchObject({ format: "pcm16", sampleRate: 44100, channels: 2 });
    const alaw = riff([fmt(6, 1, 8000, 8, Buffer.alloc(2)), chunk("fact", Buffer.alloc(4)), chunk("data", Buffer.alloc(3))]);
    expect(readWav(alaw)).toMatchObject({ format: "alaw", sampleRate: 8000, channels: 1 });
    const ext = Buffer.alloc(8); // cbSize, valid bits, channel mask; the SubFormat GUID follows
    ext.writeUInt16LE(22, 0);
    const guid = Buffer.alloc(16);
    guid.writeUInt16LE(7, 0);
    const extensible = riff([fmt(0xfffe, 1, 8000, 8, Buffer.concat([ext, guid])), chunk("data", Buffer.alloc(4))]);
    expect(readWav(extensible).format).toBe("mulaw");
  });

  it("skips unknown chunks and honours odd-size padding before data", () => {
    const data = Buffer.from([1, 2, 3, 4]);
    const wav = riff([fmt(7, 1, 8000, 8, Buffer.alloc(2)), chunk("LIST", Buffer.from("odd")), chunk("fact", Buffer.alloc(4)), chunk("data", data)]);
    expect(Array.from(readWav(wav).data)).toEqual([1, 2, 3, 4]);
  });

  it("clamps a streaming writer's oversized data length to the file", () => {
    const wav = riff([fmt(7, 1, 8000, 8), chunk("data", Buffer.alloc(6, 0xff))]);
    wav.writeUInt32LE(0xffffffff, wav.length - 10);
    expect(readWav(wav).data).toHaveLength(6);
  });

  it("rejects non-WAV input with a clear message", () => {
    expectWavError(Buffer.from("ID3\x03 definitely an mp3"), "not_wav", /not a WAV file/);
    expectWavError(Buffer.alloc(0), "not_wav", /RIFF\/WAVE/);
  });

  it("rejects unsupported formats naming the format tag", () => {
    expectWavError(riff([fmt(3, 1, 8000, 32), chunk("data", Buffer.alloc(4))]), "unsupported_format", /format tag 3 with 32 bits/);
    expectWavError(riff([fmt(1, 1, 8000, 8), chunk("data", Buffer.alloc(4))]), "unsupported_format", /format tag 1 with 8 bits/);
  });

  it("rejects files missing fmt or data", () => {
    expectWavError(riff([chunk("data", Buffer.alloc(4))]), "malformed", /before the fmt chunk/);
    expectWavError(riff([fmt(7, 1, 8000, 8)]), "malformed", /no data chunk/);
    expectWavError(riff([chunk("LIST", Buffer.alloc(2))]), "malformed", /no fmt chunk/);
  });
});

interface Utterance {
  onsetMs: number;
  offsetMs: number;
  text: string;
}

interface Span {
  startMs: number;
  endMs: number;
}

interface FixtureEntry {
  file: string;
  durationMs: number;
  speechOnsetMs: number | null;
  speechOffsetMs: number | null;
  utterances: Utterance[];
  background?: { kind: string; rmsDbfs: number };
  beep?: Span & { hz: number };
  dtmf?: (Span & { digit: string })[];
}

/** Every labelled sound in a fixture (speech, beep, DTMF digits), in time order. */
function soundSpans(entry: FixtureEntry): Span[] {
  const spans: Span[] = entry.utterances.map((u) => ({ startMs: u.onsetMs, endMs: u.offsetMs }));
  if (entry.beep) spans.push(entry.beep);
  spans.push(...(entry.dtmf ?? []));
  return spans.sort((a, b) => a.startMs - b.startMs);
}

const isSilent = (bytes: Buffer): boolean => bytes.every((b) => b === 0xff);

describe("committed fixtures", () => {
  const sidecar = JSON.parse(readFileSync(`${fixturesDir}fixtures.json`, "utf8")) as { fixtures: FixtureEntry[] };

  it.each(sidecar.fixtures.map((f) => [f.file, f] as const))("%s is μ-law 8 kHz mono and matches fixtures.json", (_file, entry) => {
    const wav = readWav(readFileSync(`${fixturesDir}${entry.file}`));
    expect(wav).toMatchObject({ format: "mulaw", sampleRate: 8000, channels: 1 });
    expect(Math.abs(wav.data.length / 8 - entry.durationMs)).toBeLessThanOrEqual(1);
    // The top-level onset/offset span all utterances, for readers that predate `utterances`.
    expect(entry.speechOnsetMs).toBe(entry.utterances[0]?.onsetMs ?? null);
    expect(entry.speechOffsetMs).toBe(entry.utterances.at(-1)?.offsetMs ?? null);
    const spans = soundSpans(entry);
    if (entry.background) {
      // Background noise runs from the first sample to the last, around and under the labelled sounds.
      expect(isSilent(wav.data.subarray(0, 800))).toBe(false);
      expect(isSilent(wav.data.subarray(-800))).toBe(false);
      return;
    }
    // Without background, every labelled sound starts within 100 ms of its label and the audio outside
    // them is digital silence. Labels are rounded to whole ms, so allow one ms of slack at each edge.
    let quietFrom = 0;
    for (const { startMs, endMs } of spans) {
      expect(startMs).toBeGreaterThanOrEqual(quietFrom);
      expect(isSilent(wav.data.subarray(quietFrom * 8, Math.max(quietFrom, startMs - 1) * 8))).toBe(true);
      expect(isSilent(wav.data.subarray(startMs * 8, startMs * 8 + 800))).toBe(false);
      quietFrom = endMs + 1;
    }
    expect(isSilent(wav.data.subarray(quietFrom * 8))).toBe(true);
  });
});
