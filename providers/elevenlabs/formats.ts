/** ElevenLabs names its audio formats `<encoding>_<rate>` (`ulaw_8000`, `pcm_16000`); we speak AudioFormat. */
import { MULAW_8K, type AudioFormat } from "../../media/audioFormat.js";

const PCM_FORMAT = /^pcm_([1-9][0-9]{3,5})$/;

/** The AudioFormat an ElevenLabs format name stands for, or null when it is one we cannot carry. */
export function audioFormatOf(name: string): AudioFormat | null {
  if (name === "ulaw_8000") return MULAW_8K;
  const pcm = PCM_FORMAT.exec(name);
  if (pcm === null) return null;
  return Object.freeze({ encoding: "pcm16", rate: Number(pcm[1]) });
}
