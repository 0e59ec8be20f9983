/** Loads a script file: parses, validates, and reads every line's WAV (paths relative to the script). */
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { mulawFromWav } from "./mulawWav.js";
import { ScriptError, type Script, type ScriptLine, type ScriptLineOf, type ScriptOf } from "./script.js";
import { validateScript } from "./validate.js";

/** The package root is the nearest folder with package.json: this file runs from src (tsx) and from dist/. */
function packageRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, "package.json"))) return dir;
    if (dirname(dir) === dir) return resolve(from, "..", "..");
  }
}

/** The script the `scripted` provider speaks when `SCRIPTED_SCRIPT` is not set. */
export const DEFAULT_SCRIPT_PATH = join(
  packageRoot(dirname(fileURLToPath(import.meta.url))),
  "fixtures",
  "scripted",
  "default.json",
);

function reason(cause: unknown): string {
  return cause instanceof Error ? cause.message : String(cause);
}

/** Reads each distinct WAV once (the same reply audio often repeats) and records every failure. */
class AudioReader {
  readonly #dir: string;
  readonly #cache = new Map<string, Promise<Buffer>>();
  readonly problems: string[] = [];

  constructor(dir: string) {
    this.#dir = dir;
  }

  async read(relative: string, at: string): Promise<Buffer> {
    const path = resolve(this.#dir, relative);
    let pending = this.#cache.get(path);
    if (pending === undefined) {
      pending = readFile(path).then(mulawFromWav);
      this.#cache.set(path, pending);
    }
    try {
      return await pending;
    } catch (cause) {
      this.problems.push(`${at}: ${relative} (${path}): ${reason(cause)}`);
      return Buffer.alloc(0);
    }
  }
}

async function withAudio(line: ScriptLineOf<string>, at: string, reader: AudioReader): Promise<ScriptLine> {
  if (line.kind !== "reply") return line;
  return { ...line, audio: await reader.read(line.audio, at) };
}

async function loadAudio(source: ScriptOf<string>, dir: string, file: string): Promise<Script> {
  const reader = new AudioReader(dir);
  const [greetingAudio, lines] = await Promise.all([
    reader.read(source.greeting.audio, "greeting.audio"),
    Promise.all(source.lines.map((line, i) => withAudio(line, `lines[${i}].audio`, reader))),
  ]);
  if (reader.problems.length > 0) throw new ScriptError("script_invalid", file, reader.problems);
  return { greeting: { text: source.greeting.text, audio: greetingAudio }, lines };
}

/** Reads and validates a script; throws a `ScriptError` listing every problem, each naming line and field. */
export async function loadScriptFile(path: string): Promise<Script> {
  const file = resolve(path);
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(file, "utf8"));
  } catch (cause) {
    const problem = cause instanceof SyntaxError ? `not valid JSON: ${cause.message}` : `cannot be read: ${reason(cause)}`;
    throw new ScriptError(cause instanceof SyntaxError ? "script_invalid" : "script_unreadable", file, [problem], { cause });
  }
  const problems: string[] = [];
  const source = validateScript(raw, problems);
  if (source === null) throw new ScriptError("script_invalid", file, problems);
  return loadAudio(source, dirname(file), file);
}
