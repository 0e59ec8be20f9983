import type { CallLogPort, CallOutcome, SessionLogger } from "./ports.js";

/** A database blip must not lose a call's log: retry with backoff before giving up. */
const FINISH_ATTEMPTS = 5;
/** First retry delay; doubles each time (0.2 s … 1.6 s, about 3 s in all). */
const FINISH_BACKOFF_MS = 200;
/** One write that hasn't answered by now is treated as failed, so a stalled database can't hang the retries. */
export const FINISH_ATTEMPT_TIMEOUT_MS = 3_000;

function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`call-log write took longer than ${ms} ms`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

/** Write the finished call log, retrying; on final failure the outcome goes to the error log whole. */
export async function finishWithRetry(
  port: CallLogPort,
  callId: string,
  outcome: CallOutcome,
  log: SessionLogger,
): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await withTimeout(port.finish(callId, outcome), FINISH_ATTEMPT_TIMEOUT_MS);
      return;
    } catch (err) {
      if (attempt >= FINISH_ATTEMPTS) {
        log.error({ err, callId, outcome }, "could not write the finished call log; outcome kept in this log line");
        return;
      }
      log.warn({ err, attempt }, "finishing the call log failed; retrying");
      await new Promise((resolve) => setTimeout(resolve, FINISH_BACKOFF_MS * 2 ** (attempt - 1)));
    }
  }
}
