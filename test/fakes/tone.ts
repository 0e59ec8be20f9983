/** The fakes' default voice: a μ-law 8 kHz tone with short fades, unmistakable in a recording and loud enough for a VAD. */
import { linearToMulaw } from "../../media/g711.js";

/** `durationMs` of a `hz` tone as μ-law 8 kHz bytes, faded in and out over 20 ms. */
export function fadedTone(durationMs = 1_500, hz = 660): Buffer {
  const samples = durationMs * 8;
  const fade = 160;
  const audio = Buffer.alloc(samples);
  for (let i = 0; i < samples; i++) {
    const envelope = Math.min(1, i / fade, (samples - 1 - i) / fade);
    audio[i] = linearToMulaw(Math.round(8000 * envelope * Math.sin((2 * Math.PI * hz * i) / 8000)));
  }
  return audio;
}
