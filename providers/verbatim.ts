/**
 * How every adapter asks a model to speak a line word for word (`RealtimeSession.say`). One wording for
 * all providers, so a transcript check or a fake can recognise it.
 */

/** Everything before the quoted line; the instruction and its parser are both built from it. */
const VERBATIM_PREFIX = "Say exactly this, word for word, and nothing else: ";

/** The instruction that makes a model say `text` verbatim as its next reply. */
export function verbatimInstruction(text: string): string {
  return `${VERBATIM_PREFIX}"${text}"`;
}

/** The quoted line when `instructions` are a `verbatimInstruction` (surrounding whitespace allowed); null for any others. */
export function verbatimText(instructions: string | null | undefined): string | null {
  if (instructions === null || instructions === undefined) return null;
  const trimmed = instructions.trim();
  const quoteAt = VERBATIM_PREFIX.length;
  if (!trimmed.startsWith(VERBATIM_PREFIX) || trimmed.length < quoteAt + 2) return null;
  if (trimmed[quoteAt] !== '"' || !trimmed.endsWith('"')) return null;
  return trimmed.slice(quoteAt + 1, -1);
}
