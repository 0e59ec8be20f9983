/**
 * The caller's keypad: Twilio sends one `dtmf` message per key, so keys pressed in quick succession are
 * gathered into one entry ("1234") before the model hears of them. One timer per call.
 */

/** Keys pressed within this long of the previous one belong to the same entry (a PIN, an extension). */
export const DTMF_BATCH_MS = 1_500;

/** The keys a phone keypad can send (A–D exist on some handsets and test tools). */
const KEYPAD_DIGIT = /^[0-9*#A-D]$/;

/** One key press as kept in the call log; `at_ms` counts from the call's start. */
export interface KeypadPress {
  readonly digit: string;
  readonly at_ms: number;
}

/** A finished entry: its digits, and when its first key was pressed (ms from the call's start). */
export type KeypadEntryHandler = (digits: string, atMs: number) => void;

export function isKeypadDigit(digit: string): boolean {
  return KEYPAD_DIGIT.test(digit);
}

/** What the model is told: a plain statement of fact, so it reads as context, not as words said to it. */
export function keypadContextText(digits: string): string {
  return digits.length === 1 ? `The caller pressed ${digits} on the keypad.` : `The caller entered ${digits} on the keypad.`;
}

export class Keypad {
  readonly #onEntry: KeypadEntryHandler;
  readonly #presses: KeypadPress[] = [];
  #pending = "";
  #pendingAtMs = 0;
  #timer: NodeJS.Timeout | null = null;

  constructor(onEntry: KeypadEntryHandler) {
    this.#onEntry = onEntry;
  }

  /** Every key pressed on this call, in order. */
  get presses(): readonly KeypadPress[] {
    return this.#presses;
  }

  /** One key; the entry is handed on once no key follows within `DTMF_BATCH_MS`. */
  press(digit: string, atMs: number): void {
    this.#presses.push({ digit, at_ms: atMs });
    if (this.#pending === "") this.#pendingAtMs = atMs;
    this.#pending += digit;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.flush(), DTMF_BATCH_MS);
  }

  /** Hands on the entry in progress now (the call is ending, or its pause has passed). */
  flush(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    const digits = this.#pending;
    this.#pending = "";
    if (digits !== "") this.#onEntry(digits, this.#pendingAtMs);
  }
}
