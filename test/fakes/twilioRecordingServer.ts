/**
 * A loopback stand-in for Twilio's recording media endpoint,
 * `GET /2010-04-01/Accounts/{AccountSid}/Recordings/{RecordingSid}.mp3|.wav`: HTTP basic auth with the
 * account SID and auth token, the audio streamed in chunks, Twilio's error JSON otherwise. Every request
 * is recorded so tests can assert what was (and was not) fetched.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface RecordingRequest {
  path: string;
  authorization: string | undefined;
}

export interface FakeRecording {
  audio: Buffer;
  /** Sends the first chunk, then waits for this before the rest: shows the proxy streams. */
  hold?: Promise<void>;
  /** Closes the socket instead of answering: Twilio unreachable mid-request. */
  drop?: boolean;
}

const PATH = /^\/2010-04-01\/Accounts\/(AC[0-9a-f]{32})\/Recordings\/(RE[0-9a-f]{32})\.(mp3|wav)$/;
const CHUNK = 1024;

export class FakeTwilioRecordingServer {
  readonly requests: RecordingRequest[] = [];
  readonly recordings = new Map<string, FakeRecording>();
  #server: Server;
  #expectedAuth: string;

  private constructor(server: Server, accountSid: string, authToken: string) {
    this.#server = server;
    this.#expectedAuth = "Basic " + Buffer.from(`${accountSid}:${authToken}`).toString("base64");
  }

  static async start(accountSid: string, authToken: string): Promise<FakeTwilioRecordingServer> {
    const server = createServer();
    const fake = new FakeTwilioRecordingServer(server, accountSid, authToken);
    server.on("request", (req, res) => void fake.#handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return fake;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = req.url ?? "";
    this.requests.push({ path, authorization: req.headers.authorization });
    if (req.headers.authorization !== this.#expectedAuth) return twilioError(res, 401, 20003, "Authentication Error - invalid username");
    const match = PATH.exec(path);
    const recording = match === null ? undefined : this.recordings.get(match[2]!);
    if (match === null || recording === undefined) return twilioError(res, 404, 20404, `The requested resource ${path} was not found`);
    if (recording.drop === true) return void req.socket.destroy();
    res.writeHead(200, { "content-type": match[3] === "wav" ? "audio/x-wav" : "audio/mpeg", "content-length": recording.audio.length });
    res.write(recording.audio.subarray(0, CHUNK));
    if (recording.hold !== undefined) await recording.hold;
    for (let at = CHUNK; at < recording.audio.length; at += CHUNK) res.write(recording.audio.subarray(at, at + CHUNK));
    res.end();
  }
}

function twilioError(res: ServerResponse, status: number, code: number, message: string): void {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify({ code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status }));
}
