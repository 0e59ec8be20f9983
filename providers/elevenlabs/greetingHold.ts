/**
 * ElevenLabs speaks the first message as soon as the conversation starts, often before Twilio's media
 * stream is attached. The greeting's audio waits here until the call asks for it (`startGreeting`).
 */

/** 60 s of 16 kHz PCM16 in base64: far past any greeting; a stream that never attaches is ended by the call's media timeout. */
export const GREETING_HOLD_MAX_CHARS = 2_560_000;

export class GreetingHold {
  #holding: boolean;
  readonly #payloads: string[] = [];
  readonly #itemIds: string[] = [];
  readonly #eventIds: number[] = [];
  #chars = 0;

  constructor(holding: boolean) {
    this.#holding = holding;
  }

  get holding(): boolean {
    return this.#holding;
  }

  /** Keeps one chunk; past the cap the greeting is cut short rather than memory growing. */
  push(payloadB64: string, itemId: string, eventId: number): void {
    if (this.#chars + payloadB64.length > GREETING_HOLD_MAX_CHARS) return;
    this.#chars += payloadB64.length;
    this.#payloads.push(payloadB64);
    this.#itemIds.push(itemId);
    this.#eventIds.push(eventId);
  }

  /** Stops holding and hands over, in order, every chunk a barge-in has not made stale meanwhile. */
  release(emit: (payloadB64: string, itemId: string, eventId: number) => void, isStale: (eventId: number) => boolean): void {
    this.#holding = false;
    for (let i = 0; i < this.#payloads.length; i++) {
      const eventId = this.#eventIds[i] ?? -1;
      if (!isStale(eventId)) emit(this.#payloads[i] ?? "", this.#itemIds[i] ?? "", eventId);
    }
    this.#payloads.length = 0;
    this.#itemIds.length = 0;
    this.#eventIds.length = 0;
    this.#chars = 0;
  }
}
