/**
 * Agent transcript lines wait for their reply's audio. ElevenLabs may send `agent_response` before the
 * reply's first audio chunk, while the call dates an agent line by when its audio started: a line passed
 * on early would be dated to the previous reply (before the caller's question it answers).
 */
interface PendingLine {
  readonly eventId: number;
  readonly text: string;
}

export class AgentLines {
  readonly #emit: (text: string) => void;
  readonly #pending: PendingLine[] = [];
  /** The highest event_id whose audio the call has been given. */
  #deliveredThrough = -1;

  constructor(emit: (text: string) => void) {
    this.#emit = emit;
  }

  /** A reply's text: passed on now if its audio already started, else held until it does. */
  add(eventId: number, text: string): void {
    if (eventId <= this.#deliveredThrough) this.#emit(text);
    else this.#pending.push({ eventId, text });
  }

  /** Audio of `eventId` reached the call: lines of that reply (and earlier ones) follow it. */
  audioDelivered(eventId: number): void {
    if (eventId > this.#deliveredThrough) this.#deliveredThrough = eventId;
    if (this.#pending.length !== 0) this.#release((line) => line.eventId <= eventId);
  }

  /** Lines whose audio can no longer come (their reply was cut) go out now rather than never. */
  releaseWhere(done: (eventId: number) => boolean): void {
    if (this.#pending.length !== 0) this.#release((line) => done(line.eventId));
  }

  /** The conversation moved on (the caller spoke, or the session ends): every held line goes out, in order. */
  flush(): void {
    if (this.#pending.length !== 0) this.#release(() => true);
  }

  #release(due: (line: PendingLine) => boolean): void {
    const keep: PendingLine[] = [];
    const lines = this.#pending.splice(0);
    for (const line of lines) {
      if (due(line)) this.#emit(line.text);
      else keep.push(line);
    }
    this.#pending.push(...keep);
  }
}
