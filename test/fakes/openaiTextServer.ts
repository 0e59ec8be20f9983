/**
 * A loopback stand-in for OpenAI's Chat Completions endpoint (`POST /v1/chat/completions`, non-streaming),
 * typed with the SDK's own request and response types, for the official client to talk to: Bearer auth,
 * a scripted answer (text, delay, or an error in OpenAI's shape), and every request recorded.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { ChatCompletion, ChatCompletionCreateParamsNonStreaming } from "openai/resources/chat/completions";
import type { ErrorObject } from "openai/resources/shared";
import { readBody, sendJson as send } from "./httpJson.js";

export const FAKE_OPENAI_TEXT_KEY = "sk-fake-openai-text-key";

/** How the fake answers the next requests. */
export interface FakeTextBehaviour {
  /** The assistant message's content. */
  readonly text?: string;
  /** Wait this long before answering (a slow model). */
  readonly delayMs?: number;
  /** Answer this HTTP status with an OpenAI error body instead. */
  readonly errorStatus?: number;
}

export interface RecordedTextRequest {
  readonly path: string;
  readonly authorization: string | undefined;
  readonly body: ChatCompletionCreateParamsNonStreaming;
}

const DEFAULT_TEXT = "A caller wants to reschedule a cleaning to next week. They already gave their name and number.";

export class FakeOpenAITextServer {
  readonly requests: RecordedTextRequest[] = [];
  behaviour: FakeTextBehaviour = {};
  readonly #server: Server;
  readonly #timers = new Set<NodeJS.Timeout>();
  #url = "";

  private constructor() {
    this.#server = createServer((req, res) => void this.#handle(req, res));
  }

  static async start(): Promise<FakeOpenAITextServer> {
    const fake = new FakeOpenAITextServer();
    await new Promise<void>((resolve) => fake.#server.listen(0, "127.0.0.1", resolve));
    fake.#url = `http://127.0.0.1:${(fake.#server.address() as AddressInfo).port}/v1`;
    return fake;
  }

  /** The base URL to give the SDK (OPENAI_BASE_URL). */
  get url(): string {
    return this.#url;
  }

  async close(): Promise<void> {
    for (const timer of this.#timers) clearTimeout(timer);
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await readBody(req);
    const path = new URL(req.url ?? "/", "http://127.0.0.1").pathname;
    if (req.method !== "POST" || path !== "/v1/chat/completions") return send(res, 404, errorBody("not_found", `no route ${req.method} ${path}`));
    if (req.headers.authorization !== `Bearer ${FAKE_OPENAI_TEXT_KEY}`) return send(res, 401, errorBody("invalid_api_key", "Incorrect API key provided"));
    const body = JSON.parse(raw) as ChatCompletionCreateParamsNonStreaming;
    this.requests.push({ path, authorization: req.headers.authorization, body });
    const { text = DEFAULT_TEXT, delayMs = 0, errorStatus } = this.behaviour;
    if (delayMs > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          this.#timers.delete(timer);
          resolve();
        }, delayMs);
        this.#timers.add(timer);
      });
    }
    if (res.destroyed) return;
    if (errorStatus !== undefined) return send(res, errorStatus, errorBody("server_error", "The server had an error while processing your request."));
    send(res, 200, completion(body.model, text));
  }
}

function completion(model: string, text: string): ChatCompletion {
  return {
    id: "chatcmpl-fake",
    object: "chat.completion",
    created: Math.floor(Date.now() / 1000),
    model,
    choices: [{ index: 0, finish_reason: "stop", logprobs: null, message: { role: "assistant", content: text, refusal: null } }],
    usage: { prompt_tokens: 100, completion_tokens: 30, total_tokens: 130 },
  };
}

function errorBody(code: string, message: string): { error: ErrorObject } {
  return { error: { code, message, param: null, type: code === "invalid_api_key" ? "invalid_request_error" : "server_error" } };
}
