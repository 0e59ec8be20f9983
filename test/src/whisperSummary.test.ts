/** The whisper summary against a loopback Chat Completions fake the official SDK talks to. */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { TranscriptEntry, TransferTarget } from "../../sessions/index.js";
import { extractSummary, sayable, whisperSummary, WHISPER_MAX_CHARS, type WhisperSummaryOptions } from "../../src/calls/whisperSummary.js";
import { sayTwiml } from "../../src/twilio/twiml.js";
import { FAKE_OPENAI_TEXT_KEY, FakeOpenAITextServer } from "../fakes/openaiTextServer.js";

const target: TransferTarget = { name: "Billing desk", number: "+15550102000", reason: "questions about invoices" };
const transcript: TranscriptEntry[] = [
  { role: "agent", text: "Hello, thanks for calling Patchbay Dental. How can I help?", at_ms: 0 },
  { role: "caller", text: "Hi, this is Dana Smith.", at_ms: 2_000 },
  { role: "agent", text: "Hi Dana, what can I do for you?", at_ms: 4_000 },
  { role: "caller", text: "I was charged twice for my cleaning last month.", at_ms: 6_000 },
];

describe("whisperSummary", () => {
  let fake: FakeOpenAITextServer;
  let opts: WhisperSummaryOptions;
  beforeAll(async () => {
    fake = await FakeOpenAITextServer.start();
    opts = { openai: { apiKey: FAKE_OPENAI_TEXT_KEY, baseUrl: fake.url }, model: "gpt-4.1-mini", deadlineMs: 2_000 };
  });
  afterAll(async () => fake?.close());
  beforeEach(() => {
    fake.requests.length = 0;
    fake.behaviour = {};
  });

  it("uses the model's summary, asking with the transcript, the target and the reason", async () => {
    fake.behaviour = { text: "Dana Smith was charged twice for last month's cleaning and wants a refund." };
    const summary = await whisperSummary(transcript, target, "double charge on an invoice", opts);
    expect(summary).toEqual({ source: "model", text: "Dana Smith was charged twice for last month's cleaning and wants a refund." });
    expect(fake.requests).toHaveLength(1);
    const body = fake.requests[0]!.body;
    expect(body.model).toBe("gpt-4.1-mini");
    expect(body.stream).toBeUndefined();
    expect(body.max_completion_tokens).toBeGreaterThan(0);
    const prompt = JSON.stringify(body.messages);
    expect(prompt).toContain("Billing desk");
    expect(prompt).toContain("double charge on an invoice");
    expect(prompt).toContain("Caller: I was charged twice for my cleaning last month.");
  });

  it("falls back to the extract when the model misses the deadline, and returns on time", async () => {
    fake.behaviour = { delayMs: 1_500 };
    const start = performance.now();
    const summary = await whisperSummary(transcript, target, "double charge", { ...opts, deadlineMs: 300 });
    const elapsed = performance.now() - start;
    expect(summary.source).toBe("extract");
    expect(summary.text).toBe(extractSummary(transcript, target, "double charge"));
    expect(elapsed).toBeLessThan(800);
    expect(elapsed).toBeGreaterThanOrEqual(250);
  });

  it("never waits longer than 2 s, whatever deadline it is given", async () => {
    fake.behaviour = { delayMs: 4_000 };
    const start = performance.now();
    const summary = await whisperSummary(transcript, target, "double charge", { ...opts, deadlineMs: 10_000 });
    expect(summary.source).toBe("extract");
    expect(performance.now() - start).toBeLessThan(2_500);
  });

  it("falls back to the extract when the model errors, without retrying", async () => {
    fake.behaviour = { errorStatus: 500 };
    const reasons: string[] = [];
    const summary = await whisperSummary(transcript, target, "double charge", { ...opts, onFallback: (why) => reasons.push(why) });
    expect(summary.source).toBe("extract");
    expect(fake.requests).toHaveLength(1);
    expect(reasons).toEqual(["the model failed"]);
  });

  it("falls back to the extract when the key is refused", async () => {
    const summary = await whisperSummary(transcript, target, "double charge", { ...opts, openai: { apiKey: "sk-wrong", baseUrl: fake.url } });
    expect(summary.source).toBe("extract");
  });

  it("uses the extract without asking anyone when there is no key", async () => {
    const summary = await whisperSummary(transcript, target, "double charge", { ...opts, openai: { apiKey: undefined, baseUrl: fake.url } });
    expect(summary).toEqual({
      source: "extract",
      text: 'Transferring a caller about double charge. The caller said: "Hi, this is Dana Smith. I was charged twice for my cleaning last month".',
    });
    expect(fake.requests).toHaveLength(0);
  });

  it("falls back to the extract when the caller's signal aborts", async () => {
    fake.behaviour = { delayMs: 1_000 };
    const summary = await whisperSummary(transcript, target, "double charge", { ...opts, signal: AbortSignal.timeout(50) });
    expect(summary.source).toBe("extract");
  });

  it("makes a long, marked-up model answer plain and short enough for <Say>", async () => {
    const sentence = "**Caller** wants a _refund_ for a double charge.\u0000\u0007 ";
    fake.behaviour = { text: `# Summary\n\n- ${sentence.repeat(40)}<Play>x</Play> \`code\`` };
    const summary = await whisperSummary(transcript, target, "double charge", opts);
    expect(summary.source).toBe("model");
    expect(Array.from(summary.text).length).toBeLessThanOrEqual(WHISPER_MAX_CHARS);
    expect(summary.text).not.toMatch(/[*_#`<>\p{Cc}]/u);
    expect(summary.text).toMatch(/\.$/);
    expect(sayTwiml(summary.text)).toBe(`<?xml version="1.0" encoding="UTF-8"?><Response><Say>${summary.text}</Say></Response>`);
  });

  it("uses the extract when the model answers nothing", async () => {
    fake.behaviour = { text: "  **  " };
    expect((await whisperSummary(transcript, target, "double charge", opts)).source).toBe("extract");
  });
});

describe("extractSummary", () => {
  it("quotes the caller's last words, capped, with the target's reason when the model gave none", () => {
    const rambling: TranscriptEntry[] = [{ role: "caller", text: `I need help "now" with ${"a very long story ".repeat(30)}`, at_ms: 0 }];
    const text = extractSummary(rambling, target, "  ");
    expect(text.startsWith('Transferring a caller about questions about invoices. The caller said: "I need help \'now\' with a very')).toBe(true);
    expect(text.endsWith('…".')).toBe(true);
    expect(text.length).toBeLessThan(WHISPER_MAX_CHARS);
  });

  it("says only why when the caller said nothing", () => {
    expect(extractSummary([], { ...target, reason: null }, "")).toBe("Transferring a caller about their call.");
  });
});

describe("sayable", () => {
  it("cuts at a word without splitting a surrogate pair", () => {
    const text = sayable("😀".repeat(200), 10);
    expect(Array.from(text).length).toBeLessThanOrEqual(10);
    expect(text).not.toMatch(/\p{Cs}/u);
  });
});
