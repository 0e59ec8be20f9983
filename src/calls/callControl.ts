/** `CallControl` for a live call over the tenant's Twilio REST API: hang up, warm transfer. */
import type { CallControl } from "../../sessions/index.js";
import { controlErrorFrom, startTransfer, tenantTwilioRest, type ControlledCall, type TransferDeps } from "./transfer.js";

export { CALL_CONTROL_ERRORS, CallControlError, type CallControlErrorCode, type ControlledCall, type TransferDeps } from "./transfer.js";

/**
 * Call control for one live call. `hangUp` resolves when Twilio ended the call or it was already over;
 * both reject with a CallControlError (`code`, `retryable`, `cause`) the session logs before it falls back
 * to closing the stream.
 */
export function callControlFor(deps: TransferDeps, call: ControlledCall): CallControl {
  return {
    async hangUp() {
      const rest = await tenantTwilioRest(deps, call.tenantId);
      let ended: boolean;
      try {
        ended = await rest.hangUpCall(call.callSid);
      } catch (err) {
        throw controlErrorFrom(err, `hang up call ${call.callSid}`);
      }
      if (!ended) deps.log.debug({ callId: call.callId, callSid: call.callSid }, "hang-up: the call was already over");
    },
    transfer: (request) => startTransfer(deps, { ...call, request }),
  };
}

/** The agent's number on a call: the number called on inbound calls, the caller id on the calls we place. */
export function agentNumberOf(callLog: { readonly direction: string; readonly from_number: string; readonly to_number: string }): string {
  return callLog.direction === "outbound" ? callLog.from_number : callLog.to_number;
}
