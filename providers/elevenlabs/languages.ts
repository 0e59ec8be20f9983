/** The languages a conversation override may name: the wire type is a union, this is its runtime twin. */
import type { ConversationConfigOverrideAgentLanguage } from "@elevenlabs/types";

/** A Record so the compiler checks it against the published union in both directions. */
const OVERRIDE_LANGUAGES: Readonly<Record<ConversationConfigOverrideAgentLanguage, true>> = {
  en: true, ja: true, zh: true, de: true, hi: true, fr: true, ko: true, pt: true, "pt-br": true, it: true,
  es: true, id: true, nl: true, tr: true, pl: true, sv: true, bg: true, ro: true, ar: true, cs: true,
  el: true, fi: true, ms: true, da: true, ta: true, uk: true, ru: true, hu: true, hr: true, sk: true,
  no: true, vi: true, tl: true, af: true, hy: true, as: true, az: true, be: true, bn: true, bs: true,
  ca: true, et: true, gl: true, ka: true, gu: true, ha: true, he: true, is: true, ga: true, jv: true,
  kn: true, kk: true, ky: true, lv: true, lt: true, lb: true, mk: true, ml: true, mr: true, ne: true,
  ps: true, fa: true, pa: true, sr: true, sd: true, sl: true, so: true, sw: true, te: true, th: true,
  ur: true, cy: true,
};

/** Every language code an override may carry, for the API's validation. */
export const ELEVENLABS_LANGUAGES: readonly string[] = Object.keys(OVERRIDE_LANGUAGES);

/** `pt-BR` → `pt-br`; null when ElevenLabs would reject the override. */
export function overrideLanguage(code: string): ConversationConfigOverrideAgentLanguage | null {
  const normalized = code.trim().toLowerCase();
  return Object.hasOwn(OVERRIDE_LANGUAGES, normalized) ? (normalized as ConversationConfigOverrideAgentLanguage) : null;
}
