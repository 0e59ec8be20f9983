/**
 * The provider conformance suite: the same phone behaviour, checked end to end through the real server
 * and the simulated Twilio caller, for every adapter against its loopback fake.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fixture, fixtureAudio, startServerHarness, type ServerHarness } from "../e2e/harness.js";
import { until } from "../providers/sessionRecorder.js";
import type { RealtimeProvider } from "../../providers/types.js";
import { bestCorrelation } from "./audioMatch.js";
import type { ConformanceFake, StartConformanceFake } from "./contract.js";
import { replyCommandCases } from "./replyCommands.js";

export const GREETING = { text: "Hello, thanks for calling Patchbay. How can I help you today?", audio: fixtureAudio("agent-greeting.wav") };
export const REPLY = { text: "We open at nine in the morning.", audio: fixtureAudio("agent-reply.wav") };
export const CALLER_TEXT = "Hi, what time do you open tomorrow?";

const GREETING_MS = GREETING.audio.length / 8;
const REPLY_MS = REPLY.audio.length / 8;

type Transcript = { role: string; text: string; at_ms: number }[];
type Metadata = { end_reason: string; barge_ins: number; provider_errors?: string[]; provider_resumptions?: number };

/** A double that needs the server's provider instance (the in-process scripted voice) gets it here. */
interface Attachable {
  attach?(provider: RealtimeProvider | undefined): void;
}

/** The server under test connects to the fake when the call starts; a loaded CI box can take seconds. */
const CONNECT_WAIT_MS = 10_000;

/** Ms of agent audio sent to Twilio in the generations after the first clear, from mark names `<gen>:<endMs>`. */
function sentMsAfterFirstClear(markNames: readonly string[]): number {
  const lastEndByGeneration = new Map<number, number>();
  for (const name of markNames) {
    const [generation, endMs] = name.split(":").map(Number);
    if (generation! >= 1) lastEndByGeneration.set(generation!, Math.max(lastEndByGeneration.get(generation!) ?? 0, endMs!));
  }
  let total = 0;
  for (const endMs of lastEndByGeneration.values()) total += endMs;
  return total;
}

export function conformanceSuite(name: string, startFake: StartConformanceFake): void {
  describe(`provider conformance: ${name}`, () => {
    let fake: ConformanceFake & Attachable;
    let h: ServerHarness;
    beforeAll(async () => {
      fake = await startFake({ replies: [GREETING, REPLY], callerTexts: [CALLER_TEXT] });
      h = await startServerHarness({ env: { ...fake.env }, agent: { voice_provider: fake.provider, ...fake.agent } });
      fake.attach?.(h.server.providers.get(fake.provider));
    });
    afterAll(async () => {
      await h?.close();
      await fake?.close();
    });

    it("greets, answers the caller's turn with audio the caller hears, and logs both roles' transcripts", async () => {
      const caller = fixtureAudio("caller-question.wav");
      const result = await h.call({ fixture: fixture("caller-question.wav"), tailMs: 3_500 }).done;
      expect(result.error).toBeNull();
      expect(result.outcome).toBe("completed");
      expect(result.protocolErrors).toEqual([]);

      // The caller's audio reached the provider, in its format, with its content intact.
      expect(bestCorrelation(caller, fake.inputAudioMulaw())).toBeGreaterThanOrEqual(0.95);

      // Greeting, then the reply to the caller's question, both played to the caller.
      expect(result.counts.agentMsHeard).toBeGreaterThan(GREETING_MS + REPLY_MS / 2);
      expect(result.clears).toHaveLength(0);

      const log = await h.finishedCall(result.callSid);
      expect(log).toMatchObject({ status: "completed", voice_provider: name });
      expect((log.metadata as Metadata).end_reason).toBe("stream_stopped");
      const transcript = log.transcript as Transcript;
      expect(transcript.find((t) => t.role === "agent")?.text).toBe(GREETING.text);
      expect(transcript.find((t) => t.role === "caller")?.text).toBe(CALLER_TEXT);
      const callerAt = transcript.find((t) => t.role === "caller")!.at_ms;
      expect(transcript.some((t) => t.role === "agent" && t.text === REPLY.text && t.at_ms >= callerAt)).toBe(true);
    });

    it("stops the agent when the caller talks over it, and nothing stale reaches the caller", async () => {
      const result = await h.call({ fixture: fixture("caller-barge-in.wav"), tailMs: 3_000 }).done;
      expect(result.error).toBeNull();

      expect(result.clears.length).toBeGreaterThanOrEqual(1);
      const clear = result.clears[0]!;
      expect(clear.playedMs).toBeGreaterThan(0);
      expect(clear.playedMs).toBeLessThan(GREETING_MS);
      // After the clear only the reply was sent, never the greeting's rest: each later generation's
      // marks count its audio from zero, so their ends add up to what reached Twilio after the clear.
      const sentAfterClear = sentMsAfterFirstClear(result.marks.map((m) => m.name));
      expect(sentAfterClear).toBeGreaterThan(0);
      expect(sentAfterClear).toBeLessThanOrEqual(REPLY_MS + 200);

      const log = await h.finishedCall(result.callSid);
      expect((log.metadata as Metadata).barge_ins).toBeGreaterThanOrEqual(1);
    });

    it("round-trips a tool call by id and goes on talking", async () => {
      const startedAt = performance.now();
      const call = h.call({ fixture: fixture("silence.wav"), tailMs: 8_000 });
      await until(() => fake.connectionCount() > 0, "a provider connection", CONNECT_WAIT_MS);
      // After the greeting has played, so whatever the caller hears next came after the tool result.
      await new Promise((r) => setTimeout(r, GREETING_MS + 1_000));
      const callId = fake.requestToolCall("lookup_hours", { day: "tomorrow" });
      const output = await fake.waitForToolResult(callId);
      const resultAtMs = performance.now() - startedAt;
      // This agent offers no tools yet: the call answers so the model is never left waiting.
      expect(JSON.parse(output)).toEqual({ error: "unknown tool lookup_hours" });
      const result = await call.done;
      expect(result.error).toBeNull();
      // The model went on talking: agent audio reached the caller after the tool result.
      expect(result.marks.some((m) => m.receivedAtMs > resultAtMs)).toBe(true);
      const log = await h.finishedCall(result.callSid);
      expect(log.status).toBe("completed");
    });

    it("surfaces a provider error event with its reason and keeps the call up", async () => {
      const call = h.call({ fixture: fixture("silence.wav"), tailMs: 2_000 });
      await until(() => fake.connectionCount() > 0, "a provider connection", CONNECT_WAIT_MS);
      await new Promise((r) => setTimeout(r, 300));
      fake.sendError("conformance: rate limit reached for this session");
      const result = await call.done;
      expect(result.outcome).toBe("completed");
      const log = await h.finishedCall(result.callSid);
      const meta = log.metadata as Metadata;
      expect(meta.end_reason).toBe("stream_stopped");
      expect(meta.provider_errors?.join("\n")).toContain("conformance: rate limit reached for this session");
    });

    it(`handles the provider socket dropping mid-call (${"the call ends cleanly or resumes"}) and finishes the log`, async () => {
      const call = h.call({ fixture: fixture("caller-question.wav"), tailMs: 3_000 });
      await until(() => fake.connectionCount() > 0, "a provider connection", CONNECT_WAIT_MS);
      await new Promise((r) => setTimeout(r, 1_000));
      fake.dropConnection();
      const result = await call.done;
      const log = await h.finishedCall(result.callSid);
      const meta = log.metadata as Metadata;
      if (fake.resumesAfterDrop) {
        // The caller never noticed: the call ran to its end and the reply still came.
        expect(result.outcome).toBe("completed");
        expect(meta.end_reason).toBe("stream_stopped");
        expect(meta.provider_resumptions).toBeGreaterThanOrEqual(1);
        expect((log.transcript as Transcript).some((t) => t.role === "caller" && t.text === CALLER_TEXT)).toBe(true);
      } else {
        expect(result.outcome).toBe("server_closed");
        expect(meta.end_reason).toBe("provider_error");
        expect(log.status).toBe("failed");
      }
      expect(log.ended_at).not.toBeNull();
    });

    describe("say and requestReply", () => {
      replyCommandCases(() => {
        const provider = h.server.providers.get(fake.provider);
        if (provider === undefined) throw new Error(`the server under test has no provider "${fake.provider}"`);
        return { fake, provider };
      });
    });
  });
}
