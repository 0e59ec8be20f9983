/** Every adapter the conformance suite runs, with the loopback double that stands in for its service. */
import type { StartConformanceFake } from "./contract.js";
import { startElevenLabsConformanceFake } from "./fakes/elevenlabs.js";
import { startGeminiConformanceFake } from "./fakes/gemini.js";
import { startOpenAIConformanceFake } from "./fakes/openai.js";
import { startScriptedConformanceFake } from "./fakes/scripted.js";
import { startXaiConformanceFake } from "./fakes/xai.js";

export const CONFORMANCE_PROVIDERS: Readonly<Record<string, StartConformanceFake>> = {
  openai: startOpenAIConformanceFake,
  xai: startXaiConformanceFake,
  gemini: startGeminiConformanceFake,
  elevenlabs: startElevenLabsConformanceFake,
  scripted: startScriptedConformanceFake,
};
