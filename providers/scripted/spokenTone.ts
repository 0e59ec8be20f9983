/**
 * Stand-in audio for a line the script has no recording of (`say`, the generic `requestReply` line): a
 * voiced tone per word with short gaps between words, as long as the words would take to speak.
 */
import { MULAW_BYTES_PER_MS } from "../../media/audioFormat.js";
import { linearToMulaw } from "../../media/g711.js";

/** Roughly conversational pace (about 150 words a minute): the line lasts as long as saying it would. */
export const SPOKEN_MS_PER_CHARACTER = 60;
/** Even a one-word line is heard as speech, not a click. */
export const SPOKEN_MIN_MS = 300;

const WORD_GAP_MS = 40;
const FADE_SAMPLES = 80;
const AMPLITUDE = 8000;
/** Alternating pitches so consecutive words are distinguishable in a recording. */
const WORD_HZ = [220, 260, 240, 200] as const;
const SAMPLE_RATE = 8000;

/** How long `text` lasts when spoken by the scripted voice: grows with its length. */
export function spokenDurationMs(text: string): number {
  return Math.max(SPOKEN_MIN_MS, text.trim().length * SPOKEN_MS_PER_CHARACTER);
}

/** μ-law 8 kHz audio for `text`: each word gets time in proportion to its letters. */
export function spokenTone(text: string): Buffer {
  const words = text.trim().split(/\s+/).filter((w) => w !== "");
  const total = spokenDurationMs(text) * MULAW_BYTES_PER_MS;
  const audio = Buffer.alloc(total, 0xff);
  const letters = words.reduce((sum, w) => sum + w.length, 0);
  const gap = WORD_GAP_MS * MULAW_BYTES_PER_MS;
  const voiced = Math.max(0, total - gap * words.length);
  let at = 0;
  for (const [i, word] of words.entries()) {
    const length = letters === 0 ? voiced : Math.floor((voiced * word.length) / letters);
    writeWord(audio, at, length, WORD_HZ[i % WORD_HZ.length] ?? 220);
    at += length + gap;
  }
  if (words.length === 0) writeWord(audio, 0, total, WORD_HZ[0]);
  return audio;
}

function writeWord(audio: Buffer, start: number, length: number, hz: number): void {
  const end = Math.min(audio.length, start + length);
  for (let i = start; i < end; i++) {
    const envelope = Math.min(1, (i - start) / FADE_SAMPLES, (end - 1 - i) / FADE_SAMPLES);
    audio[i] = linearToMulaw(Math.round(AMPLITUDE * envelope * Math.sin((2 * Math.PI * hz * (i - start)) / SAMPLE_RATE)));
  }
}
