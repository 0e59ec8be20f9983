/** Checks a parsed script file's shape and names every fault by its JSON path (`lines[2].audio`). */
import type { ScriptLineOf, ScriptOf, ScriptToolCall, ScriptUtteranceOf } from "./script.js";

type Json = Record<string, unknown>;

const ROOT_KEYS = ["greeting", "lines"];
const UTTERANCE_KEYS = ["text", "audio"];
const REPLY_KEYS = ["caller", "text", "audio", "tool_call"];
const TOOL_CALL_KEYS = ["name", "arguments"];

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Unknown keys are usually typos (`tool_calls`), so they are faults rather than ignored. */
function checkKeys(value: Json, allowed: readonly string[], at: string, problems: string[]): void {
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) problems.push(`${at}: unknown field "${key}" (allowed: ${allowed.join(", ")})`);
  }
}

function text(value: Json, key: string, at: string, problems: string[]): string {
  const field = value[key];
  if (typeof field === "string" && field.trim() !== "") return field;
  problems.push(`${at}.${key}: ${field === undefined ? "missing" : "must be"} a non-empty string`);
  return "";
}

function utterance(value: Json, at: string, problems: string[]): ScriptUtteranceOf<string> {
  return { text: text(value, "text", at, problems), audio: text(value, "audio", at, problems) };
}

function toolCall(value: unknown, at: string, problems: string[]): ScriptToolCall | null {
  if (!isObject(value)) {
    problems.push(`${at}: must be an object {"name": "...", "arguments": {...}}`);
    return null;
  }
  checkKeys(value, TOOL_CALL_KEYS, at, problems);
  const name = text(value, "name", at, problems);
  const args = value.arguments ?? {};
  if (!isObject(args)) problems.push(`${at}.arguments: must be a JSON object`);
  return { name, arguments: JSON.stringify(args) };
}

function failureLine(value: Json, at: string, problems: string[]): ScriptLineOf<string> {
  const kind = "error" in value ? "error" : "disconnect";
  checkKeys(value, [kind], at, problems);
  const detail = text(value, kind, at, problems);
  return kind === "error" ? { kind, message: detail } : { kind, reason: detail };
}

function line(value: unknown, at: string, problems: string[]): ScriptLineOf<string> | null {
  if (!isObject(value)) {
    problems.push(`${at}: must be an object: a reply {"text", "audio"}, {"error": "..."} or {"disconnect": "..."}`);
    return null;
  }
  if ("error" in value || "disconnect" in value) return failureLine(value, at, problems);
  checkKeys(value, REPLY_KEYS, at, problems);
  const caller = value.caller;
  if (caller !== undefined && typeof caller !== "string") problems.push(`${at}.caller: must be a string`);
  return {
    kind: "reply",
    ...utterance(value, at, problems),
    caller: typeof caller === "string" && caller.trim() !== "" ? caller : null,
    toolCall: value.tool_call === undefined ? null : toolCall(value.tool_call, `${at}.tool_call`, problems),
  };
}

/** Returns the script when `problems` stays empty; otherwise the problems say what to fix. */
export function validateScript(raw: unknown, problems: string[]): ScriptOf<string> | null {
  if (!isObject(raw)) {
    problems.push(`the file must hold a JSON object {"greeting": {...}, "lines": [...]}`);
    return null;
  }
  checkKeys(raw, ROOT_KEYS, "script", problems);
  let greeting: ScriptUtteranceOf<string> | null = null;
  if (isObject(raw.greeting)) {
    checkKeys(raw.greeting, UTTERANCE_KEYS, "greeting", problems);
    greeting = utterance(raw.greeting, "greeting", problems);
  } else {
    problems.push(`greeting: ${raw.greeting === undefined ? "missing; expected" : "must be"} an object {"text", "audio"}`);
  }
  const lines: ScriptLineOf<string>[] = [];
  if (Array.isArray(raw.lines)) {
    raw.lines.forEach((value: unknown, i) => {
      const parsed = line(value, `lines[${i}]`, problems);
      if (parsed !== null) lines.push(parsed);
    });
  } else {
    problems.push(`lines: ${raw.lines === undefined ? "missing; expected" : "must be"} an array of lines`);
  }
  return greeting === null || problems.length > 0 ? null : { greeting, lines };
}
