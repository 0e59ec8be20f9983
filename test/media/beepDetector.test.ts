import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { BeepDetector, type Beep, type BeepDetectorOptions } from "../../media/beepDetector.js";
import { decodeMulawInto } from "../../media/g711.js";
import { readWav } from "../../media/wav.js";

const fixturesDir = fileURLToPath(new URL("../../fixtures/", import.meta.url));
const RATE = 8000;
const FRAME = 160;

interface FixtureEntry {
  file: string;
  utterances: unknown[];
  background?: { kind: string };
  beep?: Beep;
  dtmf?: unknown[];
  backchannel?: boolean;
}

const fixtures = (JSON.parse(readFileSync(`${fixturesDir}fixtures.json`, "utf8")) as { fixtures: FixtureEntry[] }).fixtures;

function loadPcm(file: string): Int16Array {
  const { data } = readWav(readFileSync(`${fixturesDir}${file}`));
  const pcm = new Int16Array(data.length);
  decodeMulawInto(data, pcm);
  return pcm;
}

/** Feeds `pcm` in chunks of `chunk` samples, stamping each with the time of its last sample. */
function detect(pcm: Int16Array, options: Partial<BeepDetectorOptions> = {}, chunk = FRAME): Beep[] {
  const beeps: Beep[] = [];
  const detector = new BeepDetector({ ...options, onBeep: (beep) => beeps.push(beep) });
  for (let i = 0; i < pcm.length; i += chunk) {
    const part = pcm.subarray(i, Math.min(i + chunk, pcm.length));
    detector.push(part, ((i + part.length) * 1000) / RATE);
  }
  detector.flush();
  return beeps;
}

interface ToneSpec {
  hz: number;
  ms: number;
  /** Peak amplitude relative to full scale. */
  amplitude?: number;
  /** Frequency at the end of the tone, for a glide. */
  toHz?: number;
}

/** `leadMs` of silence, the tones summed (all starting together), then 500 ms of silence. */
function synth(leadMs: number, ...tones: ToneSpec[]): Int16Array {
  const lead = Math.round((leadMs * RATE) / 1000);
  const longest = Math.max(...tones.map((t) => Math.round((t.ms * RATE) / 1000)));
  const out = new Int16Array(lead + longest + RATE / 2);
  for (const { hz, ms, amplitude = 0.3, toHz = hz } of tones) {
    const n = Math.round((ms * RATE) / 1000);
    let phase = 0;
    for (let i = 0; i < n; i++) {
      out[lead + i] = (out[lead + i] ?? 0) + Math.round(32767 * amplitude * Math.sin(phase));
      phase += (2 * Math.PI * (hz + ((toHz - hz) * i) / n)) / RATE;
    }
  }
  return out;
}

describe("BeepDetector on the fixtures", () => {
  const voicemails = fixtures.filter((f) => f.beep !== undefined);
  const others = fixtures.filter((f) => f.beep === undefined);

  it("has voicemail fixtures and every kind of non-beep audio to check against", () => {
    expect(voicemails.length).toBeGreaterThanOrEqual(2);
    expect(others.some((f) => f.dtmf !== undefined)).toBe(true);
    expect(others.some((f) => f.backchannel === true)).toBe(true);
    expect(others.some((f) => f.background?.kind === "line-noise")).toBe(true);
    expect(others.some((f) => f.background?.kind === "pink-noise")).toBe(true);
    expect(others.some((f) => f.utterances.length === 0 && f.background === undefined && f.dtmf === undefined)).toBe(true);
  });

  it.each(voicemails.map((f) => [f.file, f] as const))("finds the beep in %s, ending where the label says", (_file, entry) => {
    const label = entry.beep as Beep;
    const beeps = detect(loadPcm(entry.file));
    expect(beeps).toHaveLength(1);
    const [beep] = beeps as [Beep];
    expect(Math.abs(beep.endMs - label.endMs)).toBeLessThanOrEqual(100);
    expect(Math.abs(beep.startMs - label.startMs)).toBeLessThanOrEqual(100);
    expect(Math.abs(beep.hz - label.hz)).toBeLessThanOrEqual(label.hz * 0.02);
  });

  it.each(others.map((f) => [f.file] as const))("finds no beep in %s", (file) => {
    expect(detect(loadPcm(file))).toEqual([]);
  });

  it("gives the same beeps however the stream is chunked", () => {
    for (const entry of voicemails) {
      const pcm = loadPcm(entry.file);
      const framed = detect(pcm);
      expect(framed).toHaveLength(1);
      expect(detect(pcm, {}, pcm.length)).toEqual(framed);
      expect(detect(pcm, {}, 37)).toEqual(framed);
      expect(detect(pcm, {}, 480)).toEqual(framed);
    }
  });

  it("finds a beep under line noise", () => {
    const noise = loadPcm("line-noise.wav");
    const tone = synth(1000, { hz: 850, ms: 300, amplitude: 0.1 });
    const mixed = noise.map((x, i) => x + (tone[i] ?? 0));
    const [beep, ...rest] = detect(mixed);
    expect(rest).toEqual([]);
    expect(beep?.hz).toBeCloseTo(850, -1);
    expect(Math.abs((beep?.endMs ?? 0) - 1300)).toBeLessThanOrEqual(20);
  });
});

describe("BeepDetector on synthetic tones", () => {
  it("detects a 150 ms tone with its edges and pitch", () => {
    const beeps = detect(synth(307, { hz: 1000, ms: 150 }));
    expect(beeps).toHaveLength(1);
    const [beep] = beeps as [Beep];
    expect(Math.abs(beep.startMs - 307)).toBeLessThanOrEqual(10);
    expect(Math.abs(beep.endMs - 457)).toBeLessThanOrEqual(10);
    expect(Math.abs(beep.hz - 1000)).toBeLessThanOrEqual(5);
  });

  it("ignores a 100 ms tone unless the minimum duration allows it", () => {
    const pcm = synth(300, { hz: 1000, ms: 100 });
    expect(detect(pcm)).toEqual([]);
    expect(detect(pcm, { minDurationMs: 80 })).toHaveLength(1);
  });

  it("ignores tones outside the frequency range unless configured", () => {
    expect(detect(synth(300, { hz: 300, ms: 300 }))).toEqual([]);
    expect(detect(synth(300, { hz: 2500, ms: 300 }))).toEqual([]);
    expect(detect(synth(300, { hz: 2500, ms: 300 }), { maxHz: 3000 })[0]?.hz).toBeCloseTo(2500, -1);
    expect(detect(synth(300, { hz: 300, ms: 300 }), { minHz: 250 })[0]?.hz).toBeCloseTo(300, -1);
  });

  it("ignores a long DTMF digit, even with 8 dB of twist", () => {
    expect(detect(synth(300, { hz: 770, ms: 400, amplitude: 0.12 }, { hz: 1336, ms: 400, amplitude: 0.3 }))).toEqual([]);
  });

  it("ignores a glide: the pitch of a beep holds still", () => {
    expect(detect(synth(300, { hz: 700, toHz: 1300, ms: 400 }))).toEqual([]);
  });

  it("ignores tones that are too quiet or too long to be a beep", () => {
    expect(detect(synth(300, { hz: 1000, ms: 300, amplitude: 0.005 }))).toEqual([]);
    expect(detect(synth(300, { hz: 1000, ms: 4000 }))).toEqual([]);
    expect(detect(synth(300, { hz: 1000, ms: 4000 }), { maxDurationMs: 5000 })).toHaveLength(1);
  });

  it("reports the beep on the first frame after the tone stops", () => {
    const pcm = synth(300, { hz: 1000, ms: 400 }); // the tone ends exactly at the end of frame 35
    const beeps: Beep[] = [];
    const detector = new BeepDetector({ onBeep: (beep) => beeps.push(beep) });
    for (let frame = 0; frame < 35; frame++) detector.push(pcm.subarray(frame * FRAME, (frame + 1) * FRAME), (frame + 1) * 20);
    expect(beeps).toEqual([]);
    detector.push(pcm.subarray(35 * FRAME, 36 * FRAME), 720);
    expect(beeps).toEqual([{ startMs: 300, endMs: 700, hz: 1000 }]);
  });

  it("judges a tone still sounding when the stream is flushed", () => {
    const pcm = synth(300, { hz: 1000, ms: 300 }).subarray(0, (500 * RATE) / 1000);
    const beeps: Beep[] = [];
    const detector = new BeepDetector({ onBeep: (beep) => beeps.push(beep) });
    detector.push(pcm, 500);
    expect(beeps).toEqual([]);
    detector.flush();
    expect(beeps).toEqual([{ startMs: 300, endMs: 500, hz: 1000 }]);
  });

  it("rejects a frequency range it cannot measure", () => {
    const onBeep = (): void => undefined;
    expect(() => new BeepDetector({ onBeep, minHz: 2000, maxHz: 400 })).toThrow(RangeError);
    expect(() => new BeepDetector({ onBeep, maxHz: 4000 })).toThrow(/inside/);
    expect(() => new BeepDetector({ onBeep, minDurationMs: 0 })).toThrow(/durations/);
  });
});
