import { readFileSync } from "node:fs";
import { loadConfig } from "../../src/config.js";
import { createLogger } from "../../src/log.js";
import { startServer, type RunningServer } from "../../src/server.js";
import { FAKE_OPENAI_API_KEY, FakeOpenAIRealtimeServer, type FakeOpenAIRealtimeOptions } from "../fakes/openaiRealtimeServer.js";
import { loadMulaw, placeCall, type CallHandle, type PlaceCallOptions } from "../sim/twilioSimulator.js";

export const AUTH_TOKEN = "test-twilio-auth-token-0123456789";
export const ACCOUNT_SID = "AC" + "0".repeat(32);
export const ADMIN_KEY = "pb_test_admin_key_0123456789abcdef";
/** The https origin Twilio "reaches"; the simulator signs against it and connects to the loopback server. */
export const PUBLIC_URL = "https://patchbay.test";
export const AGENT_NUMBER = "+15550100001";

export function fixture(name: string): string {
  return new URL(`../../fixtures/${name}`, import.meta.url).pathname;
}

export function fixtureAudio(name: string): Buffer {
  return loadMulaw(readFileSync(fixture(name)));
}

/** The server under test, its agent and number; provider-neutral. */
export interface ServerHarness {
  server: RunningServer;
  tenantId: string;
  agentId: string;
  api<T = Record<string, unknown>>(method: string, path: string, body?: unknown, key?: string): Promise<{ status: number; body: T }>;
  call(opts: Partial<PlaceCallOptions> & { fixture: string | Buffer }): CallHandle;
  /** The call log for a CallSid, once the session has finished writing it. */
  finishedCall(callSid: string): Promise<Record<string, unknown>>;
  close(): Promise<void>;
}

/** The server with the fake OpenAI Realtime server most e2e tests talk to. */
export interface Harness extends ServerHarness {
  fake: FakeOpenAIRealtimeServer;
}

export interface HarnessOptions {
  fake?: FakeOpenAIRealtimeOptions;
  agent?: Record<string, unknown>;
  env?: Record<string, string>;
}

/** The real server in-process on 127.0.0.1 (in-memory PGlite), its provider a loopback fake OpenAI. */
export async function startHarness(opts: HarnessOptions = {}): Promise<Harness> {
  const fake = await FakeOpenAIRealtimeServer.start(opts.fake);
  try {
    const h = await startServerHarness({
      env: { OPENAI_API_KEY: FAKE_OPENAI_API_KEY, OPENAI_BASE_URL: fake.url, ...opts.env },
      agent: { voice_provider: "openai", ...opts.agent },
    });
    return {
      ...h,
      fake,
      close: async () => {
        await h.close();
        await fake.close();
      },
    };
  } catch (err) {
    await fake.close();
    throw err;
  }
}

/** The real server in-process, configured by `env` (provider keys and base URLs), with one agent and number. */
export async function startServerHarness(opts: { env?: Record<string, string>; agent?: Record<string, unknown> } = {}): Promise<ServerHarness> {
  const config = loadConfig({
    PORT: "0",
    HOST: "127.0.0.1",
    PUBLIC_URL,
    DATA_DIR: ":memory:",
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? "silent",
    PATCHBAY_ADMIN_KEY: ADMIN_KEY,
    TWILIO_ACCOUNT_SID: ACCOUNT_SID,
    TWILIO_AUTH_TOKEN: AUTH_TOKEN,
    ...opts.env,
  });
  const server = await startServer(config, { log: createLogger(config.logLevel) });
  const { tenantId } = await server.ready;

  const api: Harness["api"] = async (method, path, body, key = ADMIN_KEY) => {
    const res = await fetch(server.url + path, {
      method,
      headers: { "x-api-key": key, ...(body === undefined ? {} : { "content-type": "application/json" }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : {}) as never };
  };

  const agent = await api<{ id: string }>("POST", "/agents", {
    name: "Front desk",
    system_prompt: "You answer the phone for a small business.",
    greeting: "Hello, thanks for calling Patchbay. How can I help you today?",
    ...opts.agent,
  });
  if (agent.status !== 201) throw new Error(`agent create failed: ${JSON.stringify(agent.body)}`);
  const number = await api("POST", "/phone-numbers", { phone_number: AGENT_NUMBER, agent_id: agent.body.id });
  if (number.status !== 201) throw new Error(`number create failed: ${JSON.stringify(number.body)}`);

  return {
    server,
    tenantId,
    agentId: agent.body.id,
    api,
    call: (o) =>
      placeCall({
        serverOrigin: server.url,
        webhookUrl: `${PUBLIC_URL}/webhooks/twilio/${tenantId}/voice`,
        authToken: AUTH_TOKEN,
        accountSid: ACCOUNT_SID,
        to: AGENT_NUMBER,
        from: "+15550199999",
        timeoutMs: 30_000,
        ...o,
      }),
    finishedCall: async (callSid) => {
      const deadline = performance.now() + 10_000;
      for (;;) {
        const list = await api<{ calls: Record<string, unknown>[] }>("GET", "/calls?limit=50");
        const log = list.body.calls.find((c) => c.twilio_call_sid === callSid);
        if (log && log.ended_at !== null) return log;
        if (performance.now() > deadline) throw new Error(`call ${callSid} has no finished log: ${JSON.stringify(log)}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    close: () => server.close(),
  };
}
