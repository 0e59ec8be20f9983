import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import type { Beep } from "../../media/beepDetector.js";
import { decodeMulawInto } from "../../media/g711.js";
import { resolveVadConfig } from "../../media/vad/config.js";
import { FvadEngine } from "../../media/vad/fvad.js";
import { readWav } from "../../media/wav.js";
import {
  AMBIGUOUS_PAUSE_MS,
  AnsweringMachine,
  GREETING_END_SILENCE_MS,
  HUMAN_PAUSE_MS,
  INITIAL_SILENCE_HUMAN_MS,
  LATE_MACHINE_GREETING_MS,
  MACHINE_SPEECH_MS,
  NO_HOLD_TIMEOUT_MS,
  type AmdVerdict,
  type AnsweringMachineOptions,
  type GreetingEnd,
  type TwilioAmdResult,
} from "../../sessions/answeringMachine.js";

const FRAME_MS = 20;
const FRAME = 160;
const RATE = 8000;
/** When the local VAD reports an onset / offset after it happened (webrtc min speech; agent hangover). */
const ONSET_REPORT_MS = 100;
const END_REPORT_MS = 500;
const HOLD_MS = 5_000;

type Heard =
  | ({ type: "verdict" } & AmdVerdict)
  | ({ type: "greetingEnded" } & GreetingEnd)
  | { type: "twilioLate"; result: TwilioAmdResult; disagrees: boolean };

/**
 * One outbound call's first seconds on the stream clock: 20 ms frames of caller audio (silence unless
 * given), the local VAD's decisions delivered when a VAD would report them, Twilio's callback when sent.
 */
function call(options: Partial<AnsweringMachineOptions> = {}) {
  const heard: Heard[] = [];
  const amd = new AnsweringMachine(
    {
      onVerdict: (v) => heard.push({ type: "verdict", ...v }),
      onGreetingEnded: (e) => heard.push({ type: "greetingEnded", ...e }),
      onTwilioLate: (result, disagrees) => heard.push({ type: "twilioLate", result, disagrees }),
    },
    { holdGreetingMs: HOLD_MS, speechEndLagMs: END_REPORT_MS, ...options },
  );
  const reports: { atMs: number; deliver: () => void }[] = [];
  const silence = new Int16Array(FRAME);
  let pcm: Int16Array = new Int16Array(0);
  let now = 0;
  return {
    amd,
    heard,
    verdicts: () => heard.filter((h) => h.type === "verdict"),
    greetingEnds: () => heard.filter((h) => h.type === "greetingEnded"),
    /** The caller speaks from `onsetMs` to `offsetMs`; the VAD says so a little later each time. */
    callerSpeaks(onsetMs: number, offsetMs: number): void {
      reports.push({ atMs: onsetMs + ONSET_REPORT_MS, deliver: () => amd.speechStart(onsetMs) });
      reports.push({ atMs: offsetMs + END_REPORT_MS, deliver: () => amd.speechEnd(offsetMs) });
      reports.sort((a, b) => a.atMs - b.atMs);
    },
    /** Caller audio for the frames from now on (8 kHz PCM16); silence after it. */
    callerAudio(samples: Int16Array): void {
      pcm = samples;
    },
    /** Streams frames until `untilMs`, delivering VAD reports as they fall due. */
    streamUntil(untilMs: number): void {
      while (now < untilMs) {
        now += FRAME_MS;
        while (reports.length > 0 && (reports[0]?.atMs ?? Infinity) <= now) reports.shift()?.deliver();
        const from = ((now - FRAME_MS) * RATE) / 1000;
        amd.pcm(from + FRAME <= pcm.length ? pcm.subarray(from, from + FRAME) : silence, now);
      }
    },
    twilioSays(answeredBy: string, detectionMs: number | null = 3_900): void {
      amd.twilioVerdict(answeredBy, detectionMs);
    },
  };
}

/** `leadMs` of silence, then a sine of `hz` for `ms`, then silence to `totalMs`. */
function tone(leadMs: number, ms: number, hz: number, totalMs: number): Int16Array {
  const out = new Int16Array((totalMs * RATE) / 1000);
  const lead = (leadMs * RATE) / 1000;
  for (let i = 0; i < (ms * RATE) / 1000; i++) out[lead + i] = Math.round(0.3 * 32767 * Math.sin((2 * Math.PI * hz * i) / RATE));
  return out;
}

describe("AnsweringMachine: the verdict from the greeting's shape", () => {
  it("calls a short hello followed by a pause a human", () => {
    const c = call();
    c.callerSpeaks(600, 1200);
    c.streamUntil(6_000);
    expect(c.verdicts()).toEqual([{ type: "verdict", answeredBy: "human", source: "speech_pattern", atMs: 1200 + HUMAN_PAUSE_MS }]);
    expect(c.greetingEnds()).toEqual([]);
    expect(c.amd.active).toBe(false);
  });

  it("calls a silent pickup a human: someone is waiting for us to speak", () => {
    const c = call();
    c.streamUntil(6_000);
    expect(c.verdicts()).toEqual([{ type: "verdict", answeredBy: "human", source: "speech_pattern", atMs: INITIAL_SILENCE_HUMAN_MS }]);
  });

  it("calls a long greeting a machine once it outlasts the speech threshold, then waits out its silence", () => {
    const c = call();
    c.callerSpeaks(500, 4_500);
    c.streamUntil(10_000);
    // The offset of a 2.4 s greeting could still be on its way: the verdict waits for the VAD's report lag too.
    expect(c.verdicts()).toEqual([{ type: "verdict", answeredBy: "machine", source: "speech_pattern", atMs: 500 + MACHINE_SPEECH_MS + END_REPORT_MS }]);
    expect(c.greetingEnds()).toEqual([{ type: "greetingEnded", source: "silence", atMs: 4_500 + GREETING_END_SILENCE_MS }]);
  });

  it("counts a machine's sentences, with short pauses between them, as one greeting", () => {
    const c = call();
    // Pauses longer than the VAD's hangover (or it would not report them), shorter than a person's wait.
    c.callerSpeaks(400, 1_400);
    c.callerSpeaks(2_000, 2_600);
    c.callerSpeaks(3_200, 4_000);
    c.streamUntil(5_000);
    expect(c.verdicts()).toMatchObject([{ answeredBy: "machine", source: "speech_pattern" }]);
  });

  it("waits for a longer pause after a greeting between the human and machine lengths", () => {
    const c = call();
    c.callerSpeaks(500, 2_600); // 2.1 s: "Hello, this is Dana speaking"
    c.streamUntil(6_000);
    expect(c.verdicts()).toEqual([{ type: "verdict", answeredBy: "human", source: "speech_pattern", atMs: 2_600 + AMBIGUOUS_PAUSE_MS }]);
  });

  it("keeps listening when the speech resumes before the pause is long enough", () => {
    const c = call();
    c.callerSpeaks(500, 1_000);
    c.callerSpeaks(1_600, 4_000);
    c.streamUntil(5_000);
    expect(c.verdicts()).toMatchObject([{ answeredBy: "machine", source: "speech_pattern" }]);
  });

  it("fires the earliest rule when the clock jumps", () => {
    const c = call();
    c.amd.tick(9_000);
    expect(c.verdicts()).toEqual([{ type: "verdict", answeredBy: "human", source: "speech_pattern", atMs: 9_000 }]);
  });
});

describe("AnsweringMachine: beeps", () => {
  it("calls a beep a machine and starts the message where the beep stops", () => {
    const c = call();
    c.callerSpeaks(300, 1_000);
    c.callerAudio(tone(1_200, 400, 850, 3_000));
    c.streamUntil(3_000);
    // The short greeting would have made a human at 1800, but the beep sounds first.
    expect(c.heard).toMatchObject([
      { type: "verdict", answeredBy: "machine", source: "beep" },
      { type: "greetingEnded", source: "beep" },
    ]);
    const end = c.greetingEnds()[0] as GreetingEnd;
    expect(Math.abs(end.atMs - 1_600)).toBeLessThanOrEqual(10);
    expect(c.amd.decision.beep).toMatchObject({ hz: expect.closeTo(850, -1) as number });
  });

  it("ends the greeting on a beep after a speech-pattern verdict", () => {
    const c = call();
    c.callerSpeaks(200, 3_400);
    c.callerAudio(tone(3_900, 300, 1_000, 5_000));
    c.streamUntil(8_000);
    expect(c.heard).toMatchObject([
      { type: "verdict", answeredBy: "machine", source: "speech_pattern" },
      { type: "greetingEnded", source: "beep" },
    ]);
  });

  it("ignores a beep once a person answered", () => {
    const c = call();
    c.callerSpeaks(300, 800);
    c.callerAudio(tone(3_000, 300, 1_000, 4_000));
    c.streamUntil(4_000);
    expect(c.heard).toMatchObject([{ type: "verdict", answeredBy: "human" }]);
    expect(c.amd.decision.beep).toBeNull();
  });
});

describe("AnsweringMachine: Twilio's AMD result", () => {
  it("takes Twilio's verdict when it comes first, and does not decide again", () => {
    const c = call();
    c.callerSpeaks(500, 1_000);
    c.streamUntil(1_400);
    c.twilioSays("human", 1_380);
    c.streamUntil(6_000);
    expect(c.heard).toEqual([{ type: "verdict", answeredBy: "human", source: "twilio", atMs: 1_400 }]);
    expect(c.amd.decision).toMatchObject({ twilio: { raw: "human", answeredBy: "human", detectionMs: 1_380 }, twilioDisagrees: false });
  });

  it("ends the greeting on Twilio's machine_end_* after its machine_start", () => {
    const c = call();
    c.callerSpeaks(500, 6_000);
    c.streamUntil(2_000);
    c.twilioSays("machine_start", 1_950);
    c.streamUntil(6_800);
    c.twilioSays("machine_end_silence", 6_700);
    c.streamUntil(12_000);
    expect(c.heard).toEqual([
      { type: "verdict", answeredBy: "machine", source: "twilio", atMs: 2_000 },
      { type: "twilioLate", result: { raw: "machine_end_silence", answeredBy: "machine", detectionMs: 6_700, atMs: 6_800 }, disagrees: false },
      { type: "greetingEnded", source: "twilio", atMs: 6_800 },
    ]);
  });

  it("takes machine_end_beep as both the verdict and the greeting's end", () => {
    const c = call();
    c.streamUntil(1_000);
    c.twilioSays("machine_end_beep");
    expect(c.heard).toEqual([
      { type: "verdict", answeredBy: "machine", source: "twilio", atMs: 1_000 },
      { type: "greetingEnded", source: "twilio", atMs: 1_000 },
    ]);
  });

  it("maps fax, and keeps a value it does not know as unknown with the raw text", () => {
    const fax = call();
    fax.twilioSays("fax");
    expect(fax.verdicts()).toMatchObject([{ answeredBy: "fax", source: "twilio" }]);
    const odd = call();
    odd.twilioSays("machine_maybe", null);
    expect(odd.verdicts()).toMatchObject([{ answeredBy: "unknown", source: "twilio" }]);
    expect(odd.amd.decision.twilio).toEqual({ raw: "machine_maybe", answeredBy: "unknown", detectionMs: null, atMs: 0 });
  });

  it("records a late Twilio result that disagrees, without re-firing the verdict", () => {
    const c = call();
    c.callerSpeaks(400, 1_000);
    c.streamUntil(4_000);
    c.twilioSays("machine_end_beep", 3_950);
    c.streamUntil(10_000);
    expect(c.heard).toEqual([
      { type: "verdict", answeredBy: "human", source: "speech_pattern", atMs: 1_800 },
      { type: "twilioLate", result: { raw: "machine_end_beep", answeredBy: "machine", detectionMs: 3_950, atMs: 4_000 }, disagrees: true },
    ]);
    expect(c.amd.decision).toMatchObject({
      verdict: { answeredBy: "human", source: "speech_pattern" },
      twilio: { raw: "machine_end_beep" },
      twilioDisagrees: true,
      greetingEnd: null,
    });
  });
});

describe("AnsweringMachine: the hold cap and close", () => {
  it("gives up with unknown at holdGreetingMs so the agent is not held", () => {
    const c = call({ holdGreetingMs: 2_000 });
    c.streamUntil(4_000);
    expect(c.heard).toEqual([{ type: "verdict", answeredBy: "unknown", source: "timeout", atMs: 2_000 }]);
  });

  it("lets Twilio's late machine_start revise a timed-out verdict, then caps the unheard greeting at LATE_MACHINE_GREETING_MS", () => {
    const c = call({ holdGreetingMs: 2_000 });
    c.streamUntil(4_000);
    c.twilioSays("machine_start");
    c.streamUntil(4_000 + LATE_MACHINE_GREETING_MS - FRAME_MS);
    expect(c.greetingEnds()).toEqual([]);
    c.streamUntil(12_000);
    expect(c.heard).toEqual([
      { type: "verdict", answeredBy: "unknown", source: "timeout", atMs: 2_000 },
      { type: "verdict", answeredBy: "machine", source: "twilio", atMs: 4_000 },
      { type: "greetingEnded", source: "timeout", atMs: 4_000 + LATE_MACHINE_GREETING_MS },
    ]);
    expect(c.amd.decision).toMatchObject({ verdict: { source: "twilio" }, revisedFrom: { answeredBy: "unknown", source: "timeout" }, twilioDisagrees: false });
  });

  it("after a revision, ends the greeting at the speech's end plus the quiet, or at a late machine_end_*", () => {
    const quiet = call({ holdGreetingMs: 2_000 });
    quiet.callerSpeaks(1_000, 4_600);
    quiet.streamUntil(4_000);
    quiet.twilioSays("machine_start");
    quiet.streamUntil(12_000);
    expect(quiet.greetingEnds()).toEqual([{ type: "greetingEnded", source: "silence", atMs: 4_600 + GREETING_END_SILENCE_MS }]);

    const told = call({ holdGreetingMs: 2_000 });
    told.streamUntil(3_000);
    told.twilioSays("machine_start");
    told.streamUntil(4_000);
    told.twilioSays("machine_end_beep");
    told.streamUntil(12_000);
    expect(told.greetingEnds()).toEqual([{ type: "greetingEnded", source: "twilio", atMs: 4_000 }]);
  });

  it("revises only once, only to a machine or fax, and never a verdict reached from evidence", () => {
    const human = call({ holdGreetingMs: 2_000 });
    human.streamUntil(3_000);
    human.twilioSays("human");
    expect(human.verdicts()).toHaveLength(1);
    expect(human.heard.at(-1)).toMatchObject({ type: "twilioLate", disagrees: true });

    const fax = call({ holdGreetingMs: 2_000 });
    fax.streamUntil(3_000);
    fax.twilioSays("fax");
    fax.twilioSays("machine_start");
    expect(fax.verdicts()).toMatchObject([{ answeredBy: "unknown" }, { answeredBy: "fax", source: "twilio" }]);
    expect(fax.heard.at(-1)).toMatchObject({ type: "twilioLate" });

    const person = call({ holdGreetingMs: 5_000 });
    person.callerSpeaks(400, 1_000);
    person.streamUntil(4_000);
    person.twilioSays("machine_start");
    expect(person.verdicts()).toEqual([{ type: "verdict", answeredBy: "human", source: "speech_pattern", atMs: 1_800 }]);
  });

  it("without a hold, leaves the verdict to a beep or Twilio: the speech pattern and silence decide nothing", () => {
    const c = call({ holdGreetingMs: 0 });
    c.callerSpeaks(300, 900);
    c.streamUntil(6_000);
    expect(c.heard).toEqual([]);
    c.twilioSays("machine_end_beep", 5_900);
    expect(c.heard).toEqual([
      { type: "verdict", answeredBy: "machine", source: "twilio", atMs: 6_000 },
      { type: "greetingEnded", source: "twilio", atMs: 6_000 },
    ]);
  });

  it("caps the wait at NO_HOLD_TIMEOUT_MS when the greeting is not held", () => {
    // A VAD that reports offsets very late keeps the long-speech rule from deciding first.
    const c = call({ holdGreetingMs: 0, speechEndLagMs: 60_000 });
    c.callerSpeaks(100, 50_000);
    c.streamUntil(40_000);
    expect(c.verdicts()).toEqual([{ type: "verdict", answeredBy: "unknown", source: "timeout", atMs: NO_HOLD_TIMEOUT_MS }]);
  });

  it("measures from startMs", () => {
    const c = call({ startMs: 1_000 });
    c.streamUntil(6_000);
    expect(c.verdicts()).toMatchObject([{ atMs: 1_000 + INITIAL_SILENCE_HUMAN_MS }]);
  });

  it("fires nothing after close", () => {
    const c = call();
    c.callerSpeaks(500, 4_500);
    c.streamUntil(1_000);
    c.amd.close();
    c.callerAudio(tone(1_200, 300, 1_000, 3_000));
    c.streamUntil(10_000);
    c.twilioSays("machine_end_beep");
    expect(c.heard).toEqual([]);
    expect(c.amd.active).toBe(false);
    expect(c.amd.decision).toEqual({ verdict: null, greetingEnd: null, twilio: null, twilioDisagrees: false, beep: null, revisedFrom: null });
  });
});

// ---- The voicemail fixtures, frame by frame through the real beep detector ----

const fixturesDir = fileURLToPath(new URL("../../fixtures/", import.meta.url));

interface FixtureEntry {
  file: string;
  utterances: { onsetMs: number; offsetMs: number }[];
  beep?: Beep;
}

const fixtures = (JSON.parse(readFileSync(`${fixturesDir}fixtures.json`, "utf8")) as { fixtures: FixtureEntry[] }).fixtures;

function fixture(file: string): { pcm: Int16Array; entry: FixtureEntry } {
  const entry = fixtures.find((f) => f.file === file);
  if (entry === undefined) throw new Error(`no label for ${file}`);
  const { data } = readWav(readFileSync(`${fixturesDir}${file}`));
  const pcm = new Int16Array(data.length);
  decodeMulawInto(data, pcm);
  return { pcm, entry };
}

/** The fixture as a call, the VAD's decisions taken from its labels. */
function labelledCall(file: string) {
  const { pcm, entry } = fixture(file);
  const c = call();
  for (const u of entry.utterances) c.callerSpeaks(u.onsetMs, u.offsetMs);
  c.callerAudio(pcm);
  c.streamUntil(Math.floor(pcm.length / FRAME) * FRAME_MS);
  return { c, entry };
}

describe("AnsweringMachine on the voicemail fixtures", () => {
  it("voicemail-beep.wav: a machine by its greeting, the message starting at the beep's end", () => {
    const { c, entry } = labelledCall("voicemail-beep.wav");
    const label = entry.beep as Beep;
    expect(c.heard).toMatchObject([
      { type: "verdict", answeredBy: "machine", source: "speech_pattern" },
      { type: "greetingEnded", source: "beep" },
    ]);
    const end = c.greetingEnds()[0] as GreetingEnd;
    expect(Math.abs(end.atMs - label.endMs)).toBeLessThanOrEqual(30);
    expect(c.amd.decision.beep?.hz).toBeCloseTo(label.hz, -1);
  });

  it("voicemail-beep-440.wav: a short greeting would pass for a person, but the beep comes first", () => {
    const { c, entry } = labelledCall("voicemail-beep-440.wav");
    const label = entry.beep as Beep;
    expect(c.heard).toMatchObject([
      { type: "verdict", answeredBy: "machine", source: "beep" },
      { type: "greetingEnded", source: "beep" },
    ]);
    expect(Math.abs((c.greetingEnds()[0] as GreetingEnd).atMs - label.endMs)).toBeLessThanOrEqual(30);
  });

  it("voicemail-beep.wav with the WebRTC VAD deciding speech", async () => {
    const { pcm, entry } = fixture("voicemail-beep.wav");
    const engine = await FvadEngine.create();
    const config = resolveVadConfig("webrtc");
    const heard: Heard[] = [];
    const amd = new AnsweringMachine(
      { onVerdict: (v) => heard.push({ type: "verdict", ...v }), onGreetingEnded: (e) => heard.push({ type: "greetingEnded", ...e }) },
      { holdGreetingMs: HOLD_MS, speechEndLagMs: config.silenceDurationMs },
    );
    const vad = engine.createStream(config, { onSpeechStart: (at) => amd.speechStart(at), onSpeechEnd: (at) => amd.speechEnd(at) });
    for (let i = 0; i + FRAME <= pcm.length; i += FRAME) {
      const frame = pcm.subarray(i, i + FRAME);
      const endMs = ((i + FRAME) * 1000) / RATE;
      vad.push(frame, endMs);
      amd.pcm(frame, endMs);
    }
    vad.close();
    expect(heard).toMatchObject([
      { type: "verdict", answeredBy: "machine", source: "speech_pattern" },
      { type: "greetingEnded", source: "beep" },
    ]);
    expect(Math.abs((heard[1] as GreetingEnd).atMs - (entry.beep as Beep).endMs)).toBeLessThanOrEqual(30);
  });
});
