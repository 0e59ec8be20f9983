/**
 * Which agent turn each audio chunk belongs to, and which chunks went stale in a barge-in.
 *
 * ElevenLabs numbers events, and every audio chunk of one agent reply carries that reply's `event_id`
 * (the official clients gate playback and feedback on it), so a turn is "the audio with one event_id"
 * and a new turn begins with the first chunk of a higher id. An `interruption` names an event id below
 * which audio is stale (the official clients keep audio whose id equals it); we also cut the turn that was
 * speaking when it arrived, so its late chunks are dropped whichever way the ids line up.
 */
export type TurnEndStatus = "completed" | "cancelled";

export type TurnEnded = (itemId: string, status: TurnEndStatus) => void;

export class AgentTurns {
  readonly #ended: TurnEnded;
  /** event_id of the reply whose audio is arriving; -1 before the first. */
  #eventId = -1;
  #itemId = "";
  #open = false;
  /** Audio with an id below this is stale (the last `interruption`'s event_id). */
  #staleBelow = -1;
  /** Audio with an id at or below this belongs to a turn that was cut. */
  #cutThrough = -1;

  constructor(ended: TurnEnded) {
    this.#ended = ended;
  }

  /** Item id for audio with `eventId`, or null when that audio is stale. Hot path: allocates once per turn. */
  accept(eventId: number): string | null {
    if (this.isStale(eventId)) return null;
    if (eventId !== this.#eventId) {
      this.#end("completed");
      this.#eventId = eventId;
      this.#itemId = `turn-${eventId}`;
      this.#open = true;
    }
    return this.#itemId;
  }

  /** A reply's audio is arriving and the reply has not ended. */
  get open(): boolean {
    return this.#open;
  }

  isStale(eventId: number): boolean {
    return eventId < this.#staleBelow || eventId <= this.#cutThrough;
  }

  /** We barged in: the rest of the current reply is dropped until a reply with a higher id begins. */
  cut(): void {
    if (this.#eventId > this.#cutThrough) this.#cutThrough = this.#eventId;
    this.#end("cancelled");
  }

  /** ElevenLabs heard the caller interrupt: drop the current reply and anything numbered before `eventId`. */
  interrupted(eventId: number): void {
    this.cut();
    if (eventId > this.#staleBelow) this.#staleBelow = eventId;
  }

  /** The caller took a turn, so the reply before it has finished. */
  finish(): void {
    this.#end("completed");
  }

  #end(status: TurnEndStatus): void {
    if (!this.#open) return;
    this.#open = false;
    this.#ended(this.#itemId, status);
  }
}
