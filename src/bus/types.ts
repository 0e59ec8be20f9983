/** The cross-instance bus: JSON messages on named channels, at-most-once, no history. */
export type BusHandler = (message: unknown) => void;

export interface Bus {
  readonly kind: BusKind;
  /** Resolves once the message is handed to the transport; rejects if it is not JSON-serialisable. */
  publish(channel: string, message: unknown): Promise<void>;
  /** Resolves once deliveries can arrive; the returned function unsubscribes (idempotent). */
  subscribe(channel: string, handler: BusHandler): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

export type BusKind = "in-process" | "redis";

export interface BusStats {
  published: number;
  delivered: number;
  /** Redis payloads that were not JSON; skipped. */
  malformed: number;
  handlerErrors: number;
}

export interface BusOptions {
  /** Connection problems, malformed payloads and throwing handlers land here; never thrown. */
  onError?: (err: Error) => void;
}

export type BusErrorCode = "BUS_CLOSED" | "BUS_UNSERIALISABLE" | "BUS_MALFORMED_MESSAGE" | "BUS_HANDLER_FAILED" | "BUS_CONNECT_FAILED";

export class BusError extends Error {
  override readonly name = "BusError";
  constructor(
    readonly code: BusErrorCode,
    message: string,
    // Only a lost connection is worth retrying; the rest are bugs or bad input.
    readonly retryable = false,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** Without a listener, bus errors still surface as process warnings rather than vanish. */
export function defaultOnError(err: Error): void {
  process.emitWarning(err);
}

/** JSON text of a message, or a typed error for values Redis could not carry either. */
export function encodeMessage(channel: string, message: unknown): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(message);
  } catch (err) {
    throw new BusError("BUS_UNSERIALISABLE", `message for ${channel} is not JSON-serialisable`, false, { cause: err });
  }
  if (text === undefined) throw new BusError("BUS_UNSERIALISABLE", `message for ${channel} is not JSON-serialisable`);
  return text;
}
