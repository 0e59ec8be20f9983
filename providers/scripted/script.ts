/**
 * What a scripted conversation says, line by line. `ScriptOf<string>` is the file as validated (audio
 * as WAV paths); `Script` is the loaded form (audio as μ-law 8 kHz bytes).
 */

/** Something the agent says: its words and their pre-rendered audio. */
export interface ScriptUtteranceOf<Audio> {
  readonly text: string;
  readonly audio: Audio;
}

export interface ScriptToolCall {
  readonly name: string;
  /** The arguments object as JSON text, as a model would send it. */
  readonly arguments: string;
}

/** One scripted reply to a caller turn, optionally after a tool call. */
export interface ScriptReplyLineOf<Audio> extends ScriptUtteranceOf<Audio> {
  readonly kind: "reply";
  /** What the script expects the caller to have said: a stand-in caller transcript, not recognition. */
  readonly caller: string | null;
  readonly toolCall: ScriptToolCall | null;
}

/** Rehearses a provider error event: the call goes on. */
export interface ScriptErrorLine {
  readonly kind: "error";
  readonly message: string;
}

/** Rehearses a dropped provider connection: the call ends. */
export interface ScriptDisconnectLine {
  readonly kind: "disconnect";
  readonly reason: string;
}

export type ScriptLineOf<Audio> = ScriptReplyLineOf<Audio> | ScriptErrorLine | ScriptDisconnectLine;

export interface ScriptOf<Audio> {
  /** Spoken on `startGreeting()`. */
  readonly greeting: ScriptUtteranceOf<Audio>;
  /** One per caller turn, in order; after the last, the script goes on from its first reply line. */
  readonly lines: readonly ScriptLineOf<Audio>[];
}

export type ScriptUtterance = ScriptUtteranceOf<Buffer>;
export type ScriptReplyLine = ScriptReplyLineOf<Buffer>;
export type ScriptLine = ScriptLineOf<Buffer>;
export type Script = ScriptOf<Buffer>;

export type ScriptErrorCode = "script_unreadable" | "script_invalid";

/** Why a script could not be loaded; `problems` lists every fault, each naming the line and field. */
export class ScriptError extends Error {
  override readonly name = "ScriptError";
  constructor(
    readonly code: ScriptErrorCode,
    readonly file: string,
    readonly problems: readonly string[],
    options?: { cause?: unknown },
  ) {
    super(`scripted voice script ${file} cannot be used:\n  - ${problems.join("\n  - ")}`, options);
  }
}
