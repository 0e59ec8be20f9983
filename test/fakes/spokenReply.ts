/**
 * How the fakes answer a request to speak a line verbatim (Patchbay's `say`): a real model reads the
 * instruction and says the quoted words; the fakes recognise Patchbay's wording (`verbatimText`) and "say"
 * the quote as a tone as long as the words, so end-to-end tests can check what the agent said. Shared by
 * every fake.
 */
import { fadedTone } from "./tone.js";

/** About conversational pace, so a longer line plays longer. */
const MS_PER_CHARACTER = 60;
const MIN_MS = 400;
const SPOKEN_HZ = 520;

/** The fake voice saying `text`: a μ-law 8 kHz tone whose length grows with the text. */
export function spokenReply(text: string): { readonly text: string; readonly audio: Buffer } {
  return { text, audio: fadedTone(Math.max(MIN_MS, text.length * MS_PER_CHARACTER), SPOKEN_HZ) };
}
