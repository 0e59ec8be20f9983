import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** Requests held while the app loads; past this many the newest are told to retry. */
const MAX_HELD_REQUESTS = 1_000;

export interface EarlyListener {
  readonly server: Server;
  readonly url: string;
  /** Route everything to the app from now on, replaying the requests held meanwhile. */
  handOver(handler: Handler): void;
}

/**
 * Opens the port before the app's modules have loaded, so `/health` answers within moments of start.
 * Other requests are held (their bodies unread) and replayed into the app once it is ready.
 */
export async function listenEarly(port: number, host: string): Promise<EarlyListener> {
  let handler: Handler | null = null;
  const held: [IncomingMessage, ServerResponse][] = [];
  const server = createServer((req, res) => {
    if (handler !== null) return handler(req, res);
    if ((req.url ?? "").split("?")[0] === "/health") {
      res.writeHead(200, { "content-type": "application/json" }).end('{"status":"starting","storage_ready":false}');
      return;
    }
    if (held.length >= MAX_HELD_REQUESTS) {
      res.writeHead(503, { "content-type": "application/json", "retry-after": "1" }).end('{"error":"starting","message":"Patchbay is starting; retry shortly"}');
      return;
    }
    held.push([req, res]);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port: bound } = server.address() as AddressInfo;
  return {
    server,
    url: `http://${host}:${bound}`,
    handOver(h) {
      handler = h;
      for (const [req, res] of held.splice(0)) h(req, res);
    },
  };
}
