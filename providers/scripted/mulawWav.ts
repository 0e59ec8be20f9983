/** Reads a WAV as μ-law 8 kHz mono bytes, the format the scripted voice speaks. */
import { ALAW_DECODE, linearToMulaw } from "../../media/g711.js";
import { readWav } from "../../media/wav.js";

const SCRIPT_AUDIO_RATE = 8000;
const CONVERT_HINT = "convert it with: sox in.wav -r 8000 -c 1 -e mu-law out.wav";

/** Returns the μ-law bytes, or throws an Error whose message says what is wrong and how to fix it. */
export function mulawFromWav(file: Buffer): Buffer {
  const wav = readWav(file);
  if (wav.sampleRate !== SCRIPT_AUDIO_RATE || wav.channels !== 1) {
    throw new Error(`audio is ${wav.sampleRate} Hz with ${wav.channels} channel(s); 8000 Hz mono is needed (${CONVERT_HINT})`);
  }
  if (wav.data.length === 0) throw new Error("audio has no samples");
  switch (wav.format) {
    case "mulaw":
      return wav.data;
    case "alaw": {
      const out = Buffer.allocUnsafe(wav.data.length);
      for (let i = 0; i < out.length; i++) out[i] = linearToMulaw(ALAW_DECODE[wav.data[i] ?? 0] ?? 0);
      return out;
    }
    case "pcm16": {
      const out = Buffer.allocUnsafe(wav.data.length >> 1);
      for (let i = 0; i < out.length; i++) out[i] = linearToMulaw(wav.data.readInt16LE(i * 2));
      return out;
    }
  }
}
