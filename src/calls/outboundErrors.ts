/** Why an outbound call was not placed: one catalogue of kinds, each with the HTTP status the API answers. */

export const OUTBOUND_ERRORS = {
  not_found: { status: 404, retryable: false },
  agent_unavailable: { status: 409, retryable: false },
  invalid_request: { status: 422, retryable: false },
  rate_limited: { status: 429, retryable: true },
  too_many_calls: { status: 429, retryable: true },
  twilio_refused: { status: 502, retryable: false },
  // No answer from Twilio is not a refusal: the call may have been placed, so a blind retry could ring twice.
  twilio_unreachable: { status: 502, retryable: false },
  twilio_unconfigured: { status: 503, retryable: false },
  provider_unavailable: { status: 503, retryable: false },
} as const satisfies Record<string, { status: number; retryable: boolean }>;

export type OutboundErrorKind = keyof typeof OUTBOUND_ERRORS;

/** A field problem, as the API's 422 `detail` names it. */
export interface OutboundFieldIssue {
  loc: (string | number)[];
  msg: string;
  type: string;
}

export class OutboundError extends Error {
  override readonly name = "OutboundError";
  constructor(
    readonly kind: OutboundErrorKind,
    message: string,
    readonly extra: { issues?: OutboundFieldIssue[]; retryAfterSeconds?: number; callId?: string } = {},
    options?: ErrorOptions,
  ) {
    super(message, options);
  }

  get status(): number {
    return OUTBOUND_ERRORS[this.kind].status;
  }

  get retryable(): boolean {
    return OUTBOUND_ERRORS[this.kind].retryable;
  }
}

/** A 422 for one field. */
export function invalidField(loc: (string | number)[], msg: string, type = "value_error"): OutboundError {
  return new OutboundError("invalid_request", `${loc.join(".")}: ${msg}`, { issues: [{ loc, msg, type }] });
}
