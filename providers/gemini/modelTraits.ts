/**
 * What each Live model family accepts in its setup, as data: the families reject fields the others
 * need (ai.google.dev model pages: 2.5 native audio, 3.1 Flash Live, 3.8 Live migration notes).
 */

export interface LiveModelTraits {
  /** How thinking is steered: a token budget (2.5), a level (3.1), or not at all (3.8 decides itself). */
  readonly thinking: "budget" | "level" | "none";
  /** `enableAffectiveDialog` is accepted (2.5 only; later families reject it). */
  readonly affectiveDialog: boolean;
  /** `proactivity` may be sent (2.5 only; 3.1 rejects it, 3.8 has it always on and rejects `false`). */
  readonly proactiveAudio: boolean;
}

const GEMINI_25: LiveModelTraits = Object.freeze({ thinking: "budget", affectiveDialog: true, proactiveAudio: true });
const GEMINI_31: LiveModelTraits = Object.freeze({ thinking: "level", affectiveDialog: false, proactiveAudio: false });
/** 3.8 Live and anything newer we don't know yet: send only what every family accepts. */
const GEMINI_LATEST: LiveModelTraits = Object.freeze({ thinking: "none", affectiveDialog: false, proactiveAudio: false });

export function liveModelTraits(model: string): LiveModelTraits {
  const name = model.startsWith("models/") ? model.slice("models/".length) : model;
  if (/^gemini-(live-)?2\.5-/.test(name)) return GEMINI_25;
  if (/^gemini-3\.1-/.test(name)) return GEMINI_31;
  return GEMINI_LATEST;
}
