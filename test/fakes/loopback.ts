/** What every loopback fake server shares: where it listens and the caller's default line. */
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";

/** What a fake "transcribes" for each caller utterance when a test scripts no caller texts. */
export const DEFAULT_CALLER_TEXT = "Hi, I'd like to book an appointment for tomorrow.";

/** Listens on 127.0.0.1 at a free port; resolves with the port. */
export async function listenOnLoopback(http: Server): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    http.once("error", reject).listen(0, "127.0.0.1", () => resolve());
  });
  return (http.address() as AddressInfo).port;
}
