/**
 * Cost of the voicemail beep detector per 20 ms caller frame, on three kinds of audio: a voicemail
 * greeting with its beep (typical), a steady tone (worst case: every block runs the whole Goertzel
 * bank) and silence (blocks under the level floor skip the bank). Bounded: ~0.4 s per case.
 */
import { readFileSync } from "node:fs";
import { BeepDetector } from "../../media/beepDetector.js";
import { decodeMulawInto } from "../../media/g711.js";
import { readWav } from "../../media/wav.js";

export interface BenchRow {
  name: string;
  usPerFrame: number;
  notes?: string;
}

const FRAME = 160;
const FRAME_MS = 20;
/** Long enough for a stable mean, short enough that the whole media bench stays quick. */
const BUDGET_MS = 400;
const WARMUP_PASSES = 3;

function fixturePcm(file: string): Int16Array {
  const { data } = readWav(readFileSync(new URL(`../../fixtures/${file}`, import.meta.url)));
  const pcm = new Int16Array(data.length - (data.length % FRAME));
  decodeMulawInto(data, pcm);
  return pcm;
}

function tonePcm(seconds: number, hz: number): Int16Array {
  const pcm = new Int16Array(seconds * 8000);
  for (let i = 0; i < pcm.length; i++) pcm[i] = Math.round(10000 * Math.sin((2 * Math.PI * hz * i) / 8000));
  return pcm;
}

/** Feeds the audio frame by frame, over and over, until the budget is spent; µs per frame. */
function measure(pcm: Int16Array): { usPerFrame: number; beeps: number } {
  // Frame views are made up front so the timed loop measures the detector, not subarray().
  const frames: Int16Array[] = [];
  for (let i = 0; i < pcm.length; i += FRAME) frames.push(pcm.subarray(i, i + FRAME));
  let beeps = 0;
  const detector = new BeepDetector({ onBeep: () => beeps++ });
  const pass = (): void => {
    for (let f = 0; f < frames.length; f++) detector.push(frames[f] as Int16Array, (f + 1) * FRAME_MS);
    detector.flush();
  };
  for (let w = 0; w < WARMUP_PASSES; w++) pass();
  beeps = 0;
  let passes = 0;
  const t0 = performance.now();
  let elapsed = 0;
  while (elapsed < BUDGET_MS) {
    pass();
    passes++;
    elapsed = performance.now() - t0;
  }
  return { usPerFrame: (elapsed * 1000) / (passes * frames.length), beeps: beeps / passes };
}

/** `beep`: rows for `npm run bench:media`. */
export function benchBeep(): BenchRow[] {
  const cases: [string, Int16Array, string][] = [
    ["beep: voicemail greeting + beep", fixturePcm("voicemail-beep.wav"), "typical: speech, silence, one beep"],
    ["beep: steady 1 kHz tone", tonePcm(2, 1000), "worst case: full Goertzel bank every block"],
    ["beep: silence", fixturePcm("silence.wav"), "under the level floor: energy only"],
  ];
  return cases.map(([name, pcm, notes]) => {
    const { usPerFrame, beeps } = measure(pcm);
    return { name, usPerFrame: Math.round(usPerFrame * 100) / 100, notes: `${notes}; ${beeps} beep(s) per pass` };
  });
}
