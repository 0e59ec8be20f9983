import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { InferenceSession, Tensor } from "onnxruntime-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeMulawInto } from "../../media/g711.js";
import { SpeechDecider } from "../../media/vad/decisions.js";
import {
  type VadCallbacks,
  type VadEngines,
  VadError,
  type VadKind,
  type VadStream,
  createVad,
  loadVadEngines,
  resolveVadConfig,
  sileroModelPath,
} from "../../media/vad/index.js";
import { readWav } from "../../media/wav.js";

const fixturesDir = fileURLToPath(new URL("../../fixtures/", import.meta.url));
const FRAME = 160;
const FRAME_MS = 20;
/** The brief's bar: every labelled onset found within this much. */
const ONSET_TOLERANCE_MS = 100;
const MODEL_SHA256 = "2623a2953f6ff3d2c1e61740c6cdb7168133479b267dfef114a4a3cc5bdd788f";
const KINDS: VadKind[] = ["silero", "webrtc"];

interface Utterance {
  onsetMs: number;
  offsetMs: number;
}

interface Fixture {
  file: string;
  durationMs: number;
  speechOnsetMs: number | null;
  speechOffsetMs: number | null;
  utterances?: Utterance[];
  backchannel?: boolean;
  beep?: { startMs: number; endMs: number };
}

const fixtures = (JSON.parse(readFileSync(`${fixturesDir}fixtures.json`, "utf8")) as { fixtures: Fixture[] }).fixtures;

function utterancesOf(f: Fixture): Utterance[] {
  if (f.utterances) return f.utterances;
  return f.speechOnsetMs === null || f.speechOffsetMs === null ? [] : [{ onsetMs: f.speechOnsetMs, offsetMs: f.speechOffsetMs }];
}

const speechFixtures = fixtures.filter((f) => utterancesOf(f).length > 0 && f.backchannel !== true);
const quietFixtures = fixtures.filter((f) => utterancesOf(f).length === 0);
const backchannels = fixtures.filter((f) => f.backchannel === true);

const mulawCache = new Map<string, Buffer>();
function mulawOf(file: string): Buffer {
  let data = mulawCache.get(file);
  if (data === undefined) {
    data = readWav(readFileSync(`${fixturesDir}${file}`)).data;
    mulawCache.set(file, data);
  }
  return data;
}

interface Decision {
  type: "start" | "end";
  atMs: number;
}

interface Recorder extends VadCallbacks {
  decisions: Decision[];
  probabilities: number[];
}

function recorder(): Recorder {
  const decisions: Decision[] = [];
  const probabilities: number[] = [];
  return {
    decisions,
    probabilities,
    onSpeechStart: (atMs) => decisions.push({ type: "start", atMs }),
    onSpeechEnd: (atMs) => decisions.push({ type: "end", atMs }),
    onWindow: (p) => probabilities.push(p),
  };
}

/** Feeds several fixtures into their streams in lockstep, like concurrent calls, flushing every `flushEvery` frames. */
async function feed(engines: VadEngines, pairs: { stream: VadStream; file: string }[], flushEvery = 1): Promise<void> {
  const pcm = new Int16Array(FRAME); // one decode buffer reused for every frame, as the media path does
  const frames = Math.max(...pairs.map((p) => Math.floor(mulawOf(p.file).length / FRAME)));
  for (let i = 0; i < frames; i++) {
    for (const { stream, file } of pairs) {
      const data = mulawOf(file);
      if ((i + 1) * FRAME > data.length) continue;
      decodeMulawInto(data.subarray(i * FRAME, (i + 1) * FRAME), pcm);
      stream.push(pcm, (i + 1) * FRAME_MS);
    }
    if ((i + 1) % flushEvery === 0) await engines.silero?.flush();
  }
  await engines.silero?.flush();
}

async function run(engines: VadEngines, kind: VadKind, file: string): Promise<Recorder> {
  const rec = recorder();
  const stream = createVad(kind, { engines, callbacks: rec });
  await feed(engines, [{ stream, file }]);
  stream.close();
  return rec;
}

const starts = (rec: Recorder): number[] => rec.decisions.filter((d) => d.type === "start").map((d) => d.atMs);
const ends = (rec: Recorder): number[] => rec.decisions.filter((d) => d.type === "end").map((d) => d.atMs);

let engines: VadEngines;
beforeAll(async () => {
  engines = await loadVadEngines();
});
afterAll(async () => {
  await engines.silero?.close();
});

describe("local VAD on labelled fixtures", () => {
  it("uses the pinned Silero v5 model file", () => {
    expect(createHash("sha256").update(readFileSync(sileroModelPath())).digest("hex")).toBe(MODEL_SHA256);
  });

  it("has fixtures of every kind the tests rely on", () => {
    expect(speechFixtures.length).toBeGreaterThan(0);
    expect(quietFixtures.length).toBeGreaterThan(0);
  });

  describe.each(KINDS)("%s", (kind) => {
    it.each(speechFixtures.map((f) => [f.file, f] as const))("finds every onset in %s within 100 ms", async (_file, f) => {
      const found = starts(await run(engines, kind, f.file));
      for (const u of utterancesOf(f)) {
        const nearest = Math.min(...found.map((at) => Math.abs(at - u.onsetMs)));
        expect(nearest, `onset ${u.onsetMs} ms; starts at ${found.join(", ")}`).toBeLessThanOrEqual(ONSET_TOLERANCE_MS);
      }
      // WebRTC VAD reads a long pure tone as voice: a start inside a voicemail beep is expected of it only.
      const unexplained = found.filter(
        (at) =>
          !utterancesOf(f).some((u) => Math.abs(at - u.onsetMs) <= ONSET_TOLERANCE_MS) &&
          !(kind === "webrtc" && f.beep !== undefined && at >= f.beep.startMs - ONSET_TOLERANCE_MS && at <= f.beep.endMs),
      );
      expect(unexplained).toEqual([]);
    });

    it.each(speechFixtures.map((f) => [f.file, f] as const))("ends speech in %s after each utterance", async (_file, f) => {
      const rec = await run(engines, kind, f.file);
      const config = resolveVadConfig(kind);
      for (const u of utterancesOf(f)) {
        // No end can be decided unless the file runs on for the hangover after the utterance.
        if (f.durationMs - u.offsetMs < config.silenceDurationMs + 200) continue;
        const end = ends(rec).find((at) => at > u.onsetMs);
        expect(end, `offset ${u.offsetMs} ms`).toBeDefined();
        expect(Math.abs((end ?? 0) - u.offsetMs)).toBeLessThanOrEqual(250);
      }
      // Decisions alternate start, end, start…
      rec.decisions.forEach((d, i) => expect(d.type).toBe(i % 2 === 0 ? "start" : "end"));
    });

    it.each(quietFixtures.map((f) => [f.file] as const))("never starts speech on %s", async (file) => {
      expect((await run(engines, kind, file)).decisions).toEqual([]);
    });

    it.each(backchannels.map((f) => [f.file] as const))("does not start speech on the backchannel %s", async (file) => {
      expect((await run(engines, kind, file)).decisions).toEqual([]);
    });

    it("reset forgets a half-heard utterance without calling back", async () => {
      const f = speechFixtures[0]!;
      const rec = recorder();
      const stream = createVad(kind, { engines, callbacks: rec });
      const onset = utterancesOf(f)[0]!.onsetMs;
      const data = mulawOf(f.file);
      const pcm = new Int16Array(FRAME);
      for (let i = 0; (i + 1) * FRAME_MS <= onset + 1000; i++) {
        decodeMulawInto(data.subarray(i * FRAME, (i + 1) * FRAME), pcm);
        stream.push(pcm, (i + 1) * FRAME_MS);
        await engines.silero?.flush();
      }
      expect(stream.speaking).toBe(true);
      stream.reset();
      expect(stream.speaking).toBe(false);
      const decisionsBefore = rec.decisions.length;
      // After a reset the stream behaves like a fresh one.
      rec.decisions.length = 0;
      await feed(engines, [{ stream, file: f.file }]);
      stream.close();
      expect(decisionsBefore).toBe(1);
      expect(rec.decisions).toEqual((await run(engines, kind, f.file)).decisions);
    });
  });
});

/** Silero v5 at 8 kHz run by hand, one window at a time: [last 32 samples of the previous window | 256 new]. */
async function referenceSilero(file: string): Promise<number[]> {
  const session = await InferenceSession.create(sileroModelPath(), { intraOpNumThreads: 1 });
  const data = mulawOf(file);
  const pcm = new Int16Array(data.length);
  decodeMulawInto(data, pcm);
  const sr = new Tensor("int64", BigInt64Array.of(8000n), []);
  let state: Tensor = new Tensor("float32", new Float32Array(256), [2, 1, 128]);
  const input = new Float32Array(288);
  const probabilities: number[] = [];
  for (let at = 0; at + 256 <= pcm.length; at += 256) {
    input.copyWithin(0, 256);
    for (let i = 0; i < 256; i++) input[32 + i] = pcm[at + i]! / 32768;
    const out = await session.run({ input: new Tensor("float32", input.slice(), [1, 288]), state, sr });
    probabilities.push((out.output!.data as Float32Array)[0]!);
    state = out.stateN as Tensor;
  }
  await session.release();
  return probabilities;
}

describe("batched Silero", () => {
  it("gives the probabilities of the model run by hand, window by window, with 32 samples of context", async () => {
    const file = speechFixtures[0]!.file;
    const rec = await run(engines, "silero", file);
    expect(rec.probabilities).toEqual(await referenceSilero(file));
  });

  it("decides for N concurrent streams exactly as for each stream alone", async () => {
    const files = fixtures.map((f) => f.file);
    const alone: Recorder[] = [];
    for (const file of files) alone.push(await run(engines, "silero", file));
    for (const flushEvery of [1, 3]) {
      const recs = files.map(() => recorder());
      const streams = recs.map((callbacks) => createVad("silero", { engines, callbacks }));
      await feed(engines, streams.map((stream, i) => ({ stream, file: files[i]! })), flushEvery);
      streams.forEach((s) => s.close());
      recs.forEach((rec, i) => {
        expect(rec.decisions, `${files[i]} flushing every ${flushEvery} frames`).toEqual(alone[i]!.decisions);
        expect(rec.probabilities).toEqual(alone[i]!.probabilities);
      });
    }
  });

  it("drops the oldest windows when nobody flushes, and counts them", () => {
    const stream = createVad("silero", { engines, callbacks: recorder() });
    const pcm = new Int16Array(FRAME);
    // 40 frames = 800 ms = 25 windows; the queue holds 16.
    for (let i = 0; i < 40; i++) stream.push(pcm, (i + 1) * FRAME_MS);
    expect(stream.overruns).toBe(10);
    stream.close();
  });

  it("forgets closed streams", async () => {
    const before = engines.silero!.streamCount;
    const rec = recorder();
    const stream = createVad("silero", { engines, callbacks: rec });
    expect(engines.silero!.streamCount).toBe(before + 1);
    stream.push(new Int16Array(2 * FRAME), 2 * FRAME_MS);
    stream.close();
    await engines.silero!.flush();
    expect(engines.silero!.streamCount).toBe(before);
    expect(rec.probabilities).toEqual([]);
  });
});

describe("VAD setup", () => {
  it("refuses a kind whose engine was not loaded", () => {
    const thrown = (): unknown => {
      try {
        createVad("webrtc", { engines: {}, callbacks: recorder() });
      } catch (error) {
        return error;
      }
      return null;
    };
    const error = thrown();
    expect(error).toBeInstanceOf(VadError);
    expect((error as VadError).code).toBe("engine_not_loaded");
  });

  it("rejects WebRTC frames libfvad cannot take", () => {
    const stream = createVad("webrtc", { engines, callbacks: recorder() });
    expect(() => stream.push(new Int16Array(100), 20)).toThrow(/80\/160\/240/);
    stream.close();
  });

  it("maps the agent's fields, keeping the agent's offset around Silero's own default", () => {
    expect(resolveVadConfig("silero")).toEqual({ threshold: 0.4, endThreshold: 0.25, minSpeechMs: 80, silenceDurationMs: 500, prefixPaddingMs: 300 });
    expect(resolveVadConfig("webrtc").minSpeechMs).toBe(100);
    expect(resolveVadConfig("silero", { vad_threshold: 0.8 }).threshold).toBeCloseTo(0.55);
    expect(resolveVadConfig("silero", { vad_threshold: 0 }).threshold).toBe(0.1);
    expect(resolveVadConfig("webrtc", { vad_threshold: 0.9 }).threshold).toBe(0.5);
    const custom = resolveVadConfig("webrtc", { vad_silence_duration_ms: 800, vad_prefix_padding_ms: null }, { minSpeechMs: 100 });
    expect(custom).toMatchObject({ silenceDurationMs: 800, prefixPaddingMs: 300, minSpeechMs: 100 });
  });
});

describe("speech decisions", () => {
  const config = { threshold: 0.5, endThreshold: 0.35, minSpeechMs: 100, silenceDurationMs: 200, prefixPaddingMs: 0 };

  function decide(probabilities: number[], windowMs = 20): Decision[] {
    const rec = recorder();
    const decider = new SpeechDecider(config, rec, 0);
    probabilities.forEach((p, i) => decider.observe(p, i * windowMs, (i + 1) * windowMs));
    return rec.decisions;
  }

  it("reports the onset and offset, not the moment of deciding", () => {
    expect(decide([0, 0, 0.9, 0.9, 0.9, 0.9, 0.9, ...Array<number>(12).fill(0)])).toEqual([
      { type: "start", atMs: 40 },
      { type: "end", atMs: 140 },
    ]);
  });

  it("ignores speech shorter than minSpeechMs", () => {
    expect(decide([0.9, 0.9, 0.9, 0.9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0.9, 0.9, 0])).toEqual([]);
  });

  it("lets a short pause inside an onset count towards it, and a long one cancel it", () => {
    expect(decide([0.9, 0.9, 0.9, 0, 0.9, 0.9])).toEqual([{ type: "start", atMs: 0 }]);
    expect(decide([0.9, 0.9, 0.9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0.9, 0.9])).toEqual([]);
  });

  it("holds speech through dips above the end threshold (hysteresis)", () => {
    const dips = [0.9, 0.9, 0.9, 0.9, 0.9, ...Array<number>(20).fill(0.4)];
    expect(decide(dips)).toEqual([{ type: "start", atMs: 0 }]);
    // …but a window between the thresholds cannot begin speech on its own.
    expect(decide(Array<number>(20).fill(0.4))).toEqual([]);
  });
});
