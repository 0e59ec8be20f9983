/** The tool calls of one call, as its log keeps them: what was called, when, how long it took and how it went. */

/** Tool calls kept in the call log; a model stuck in a loop must not bloat it. */
export const MAX_LOGGED_TOOL_CALLS = 100;

/** One tool call; filled in as it runs. */
export interface ToolCallRecord {
  name: string;
  call_id: string;
  at_ms: number;
  duration_ms?: number;
  ok?: boolean;
  error?: string;
  http_status?: number | null;
}

export class ToolCallLog {
  readonly #records: ToolCallRecord[] = [];

  /** A new record for a call made `atMs` into the call; past the cap it is filled in but not kept. */
  begin(name: string, callId: string, atMs: number): ToolCallRecord {
    const record: ToolCallRecord = { name, call_id: callId, at_ms: Math.round(atMs) };
    if (this.#records.length < MAX_LOGGED_TOOL_CALLS) this.#records.push(record);
    return record;
  }

  /** The records for the call log (a call still running fills its record in later, e.g. for a retried write), or null when none. */
  entries(): ToolCallRecord[] | null {
    return this.#records.length > 0 ? [...this.#records] : null;
  }
}

/** A tool call's arguments as an object; anything unparsable is an empty one (the tool then says what's missing). */
export function parseToolArgs(json: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(json);
    return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}
