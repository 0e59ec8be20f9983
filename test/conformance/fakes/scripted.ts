/**
 * The scripted voice's conformance double. Scripted runs inside the server, so there is no socket to
 * fake: this writes a script of the suite's replies, and its controls act on the server's own
 * ScriptedProvider once `attach` hands it over.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeMulawWav } from "../../../media/wav.js";
import { ScriptedProvider, type ScriptedSessionControls } from "../../../providers/scripted/index.js";
import type { RealtimeProvider } from "../../../providers/types.js";
import type { ConformanceFake, ConformanceFakeOptions, StartConformanceFake } from "../contract.js";

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

interface Turn {
  readonly reply: number;
  readonly caller: string | undefined;
}

/**
 * Which reply (after the greeting) and caller text each turn gets. The two lists cycle at different
 * lengths, so the script spans both cycles (their least common multiple) and then repeats like them.
 */
function turns(replyCount: number, callerTexts: readonly string[]): Turn[] {
  const spoken = replyCount > 1 ? Array.from({ length: replyCount - 1 }, (_, i) => i + 1) : [0];
  const callers = Math.max(callerTexts.length, 1);
  const length = (spoken.length * callers) / gcd(spoken.length, callers);
  return Array.from({ length }, (_, turn) => ({ reply: spoken[turn % spoken.length]!, caller: callerTexts[turn % callers] }));
}

async function writeScript(dir: string, options: ConformanceFakeOptions): Promise<string> {
  const { replies, callerTexts } = options;
  const greeting = replies[0];
  if (greeting === undefined) throw new Error("the scripted conformance double needs at least one reply (the greeting)");
  await Promise.all(replies.map((reply, i) => writeFile(join(dir, `reply-${i}.wav`), writeMulawWav(reply.audio))));
  const lines = turns(replies.length, callerTexts).map(({ reply, caller }) => ({
    ...(caller === undefined ? {} : { caller }),
    text: replies[reply]!.text,
    audio: `reply-${reply}.wav`,
  }));
  const path = join(dir, "script.json");
  await writeFile(path, JSON.stringify({ greeting: { text: greeting.text, audio: "reply-0.wav" }, lines }, null, 2));
  return path;
}

class ScriptedConformanceFake implements ConformanceFake {
  readonly provider = "scripted";
  readonly env: Readonly<Record<string, string>>;
  readonly agent = {};
  readonly network = false;
  readonly resumesAfterDrop = false;
  readonly #dir: string;
  #scripted: ScriptedProvider | null = null;
  #unsubscribe: (() => void) | null = null;
  /** Every session the server opened, closed ones too: their input is still asked for after the call. */
  readonly #seen: ScriptedSessionControls[] = [];
  readonly #toolCallSessions = new Map<string, ScriptedSessionControls>();

  constructor(dir: string, scriptPath: string) {
    this.#dir = dir;
    this.env = { SCRIPTED_SCRIPT: scriptPath };
  }

  /** Beyond the contract: the suite hands over the server's provider instance once the server is up. */
  attach(provider: RealtimeProvider | undefined): void {
    if (!(provider instanceof ScriptedProvider)) {
      throw new Error("the server under test has no ScriptedProvider under \"scripted\": did SCRIPTED_SCRIPT load?");
    }
    this.#unsubscribe?.();
    this.#scripted = provider;
    this.#unsubscribe = provider.onSession((session) => this.#seen.push(session));
  }

  inputAudioMulaw(): Buffer {
    return Buffer.concat(this.#seen.map((session) => session.inputAudio()));
  }

  connectionCount(): number {
    return this.#attached().sessions.length;
  }

  dropConnection(): void {
    for (const session of this.#attached().sessions) session.drop();
  }

  sendError(message: string): void {
    this.#newest().sendError(message);
  }

  requestToolCall(name: string, args: Record<string, unknown>): string {
    const session = this.#newest();
    const callId = session.requestToolCall(name, args);
    this.#toolCallSessions.set(callId, session);
    return callId;
  }

  replyRequests(): readonly (string | null)[] {
    return this.#seen.flatMap((session) => session.replyRequests());
  }

  waitForToolResult(callId: string, timeoutMs?: number): Promise<string> {
    const session = this.#toolCallSessions.get(callId);
    if (session === undefined) return Promise.reject(new Error(`no tool call ${callId} was requested through this double`));
    return session.waitForToolResult(callId, timeoutMs);
  }

  async close(): Promise<void> {
    this.#unsubscribe?.();
    this.#unsubscribe = null;
    await rm(this.#dir, { recursive: true, force: true });
  }

  #attached(): ScriptedProvider {
    if (this.#scripted === null) throw new Error("scripted conformance double used before attach(server.providers.get(\"scripted\"))");
    return this.#scripted;
  }

  #newest(): ScriptedSessionControls {
    const session = this.#attached().sessions.at(-1);
    if (session === undefined) throw new Error("no live scripted session: place a call first");
    return session;
  }
}

export const startScriptedConformanceFake: StartConformanceFake = async (options) => {
  const dir = await mkdtemp(join(tmpdir(), "patchbay-scripted-"));
  try {
    return new ScriptedConformanceFake(dir, await writeScript(dir, options));
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
};
