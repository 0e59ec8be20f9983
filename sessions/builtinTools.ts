import type { ToolDefinition } from "../providers/types.js";
import type { BuiltinTool, TransferTarget } from "./ports.js";

/** The tools every agent can be given, as the model sees them. */
const END_CALL: ToolDefinition = {
  name: "end_call",
  description:
    "Hang up the phone call. Say a short goodbye first, in the same turn: the call ends once your goodbye has played. " +
    "Use it when the caller is done, asks to hang up, or the conversation cannot usefully continue.",
  parameters: {
    type: "object",
    properties: { reason: { type: "string", description: "Why the call is ending, in a few words." } },
    required: [],
    additionalProperties: false,
  },
};

function transferCall(targets: readonly TransferTarget[]): ToolDefinition {
  const list = targets.map((t) => `"${t.name}"${t.reason ? ` (${t.reason})` : ""}`).join("; ");
  return {
    name: "transfer_call",
    description:
      `Transfer the caller to a person. Targets: ${list}. Tell the caller you are transferring them before calling this; ` +
      "if the transfer fails you will be told and the caller will be back with you.",
    parameters: {
      type: "object",
      properties: {
        target: { type: "string", enum: targets.map((t) => t.name), description: "The name of the target to transfer to." },
        reason: { type: "string", description: "Why the caller needs this person, in a sentence: it briefs them." },
      },
      required: ["target", "reason"],
      additionalProperties: false,
    },
  };
}

/**
 * The built-in tools for an agent: `end_call` always, `transfer_call` when it has transfer targets;
 * `enabled` (the agent's `tools_enabled`), when set, limits them to the names it lists.
 */
export function builtinToolDefinitions(enabled: readonly string[] | null, targets: readonly TransferTarget[]): ToolDefinition[] {
  const on = (name: BuiltinTool): boolean => enabled === null || enabled.includes(name);
  const tools: ToolDefinition[] = [];
  if (on("end_call")) tools.push(END_CALL);
  if (on("transfer_call") && targets.length > 0) tools.push(transferCall(targets));
  return tools;
}

/** The transfer target the model named: exact name first, then case- and space-insensitive. */
export function findTransferTarget(targets: readonly TransferTarget[], name: unknown): TransferTarget | undefined {
  if (typeof name !== "string") return undefined;
  const loose = (s: string): string => s.trim().toLowerCase().replace(/\s+/g, " ");
  return targets.find((t) => t.name === name) ?? targets.find((t) => loose(t.name) === loose(name));
}
