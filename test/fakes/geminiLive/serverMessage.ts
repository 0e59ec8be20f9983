import type { LiveServerMessage } from "@google/genai";

/** A server frame as JSON: the SDK's `LiveServerMessage` minus its convenience getters. */
export type LiveServerFrame = Omit<LiveServerMessage, "text" | "data">;
