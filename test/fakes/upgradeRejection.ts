/** Refuses a WebSocket upgrade the way an HTTP API does: a status line and a JSON error body, then close. */
import type { Duplex } from "node:stream";

export function rejectUpgradeWithJson(socket: Duplex, status: number, statusText: string, body: unknown): void {
  const json = JSON.stringify(body);
  socket.end(
    `HTTP/1.1 ${status} ${statusText}\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${Buffer.byteLength(json)}\r\nConnection: close\r\n\r\n${json}`,
  );
}
