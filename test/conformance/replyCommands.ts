/**
 * Conformance cases for `say` and `requestReply`, at the session level: each opens a session on the
 * server's own provider (configured against the fake) and checks what the call would be told.
 */
import { expect, it } from "vitest";
import type { RealtimeProvider, RealtimeSession } from "../../providers/types.js";
import { decodedAudio, only, recordingHandlers, until, type Seen } from "../providers/sessionRecorder.js";
import { testSessionConfig } from "../providers/sessionConfig.js";
import type { ConformanceFake } from "./contract.js";

export const CLOSING_LINE = "We've reached our time limit, thank you for calling, goodbye.";
export const VOICEMAIL_INSTRUCTIONS = "You reached voicemail; the beep just played. Leave a short message.";

/** Realtime-paced replies plus ElevenLabs' quiet gap: generous, since causality is what is checked. */
const REPLY_WAIT_MS = 15_000;
const CONNECT_TIMEOUT_MS = 10_000;

export interface ReplyCommandContext {
  readonly fake: ConformanceFake;
  readonly provider: RealtimeProvider;
}

interface OpenSession {
  readonly session: RealtimeSession;
  readonly seen: Seen[];
}

async function openSession(context: ReplyCommandContext, greets: boolean): Promise<OpenSession> {
  const { fake, provider } = context;
  const { handlers, seen } = recordingHandlers();
  const voice = fake.agent["voice"];
  const config = testSessionConfig({
    voice: typeof voice === "string" ? voice : "alloy",
    aiSpeaksFirst: greets,
    greeting: greets ? "Hello, thanks for calling Patchbay." : null,
    agent: fake.agent,
  });
  const session = await provider.connect(config, handlers, AbortSignal.timeout(CONNECT_TIMEOUT_MS));
  return { session, seen };
}

async function closeSession({ session, seen }: OpenSession): Promise<void> {
  session.close();
  await until(() => only(seen, "closed").length > 0, "the session to close", 5_000);
}

/** Waits for the final agent line `text` and the `onResponseDone` that follows it; returns that reply's end. */
async function replySaying(seen: Seen[], text: string): Promise<{ itemId: string | null; status: string }> {
  const lineAt = (): number => seen.findIndex((s) => s.kind === "transcript" && s.role === "agent" && s.final && s.text === text);
  const doneAfter = (): Extract<Seen, { kind: "responseDone" }> | undefined =>
    seen.slice(lineAt() + 1).find((s): s is Extract<Seen, { kind: "responseDone" }> => s.kind === "responseDone");
  await until(() => lineAt() >= 0 && doneAfter() !== undefined, `a reply saying "${text}" to end`, REPLY_WAIT_MS);
  const done = doneAfter()!;
  return { itemId: done.itemId, status: done.status };
}

/** Waits for any reply to start and end: its audio arrived and `onResponseDone` followed it. */
async function anyReply(seen: Seen[], after: number): Promise<string> {
  const done = (): Extract<Seen, { kind: "responseDone" }> | undefined =>
    seen.slice(after).find((s): s is Extract<Seen, { kind: "responseDone" }> => s.kind === "responseDone" && s.itemId !== null);
  await until(() => done() !== undefined, "a reply", REPLY_WAIT_MS);
  return done()!.itemId!;
}

export function replyCommandCases(context: () => ReplyCommandContext): void {
  it("say: the line's audio arrives, the agent transcript is exactly the text, and onResponseDone ends it", async () => {
    const open = await openSession(context(), false);
    try {
      open.session.say(CLOSING_LINE);
      const reply = await replySaying(open.seen, CLOSING_LINE);
      expect(reply.status).toBe("completed");
      expect(reply.itemId).not.toBeNull();
      expect(decodedAudio(open.seen, reply.itemId!).length).toBeGreaterThan(0);
    } finally {
      await closeSession(open);
    }
  });

  it("say while a reply is in progress: the line is kept and spoken after it", async () => {
    const open = await openSession(context(), true);
    try {
      open.session.startGreeting();
      await until(() => only(open.seen, "audio").length > 0, "the greeting's audio", REPLY_WAIT_MS);
      const greetingItem = only(open.seen, "audio")[0]!.itemId;
      open.session.say(CLOSING_LINE);
      const reply = await replySaying(open.seen, CLOSING_LINE);
      expect(reply.itemId).not.toBe(greetingItem);
      expect(decodedAudio(open.seen, reply.itemId!).length).toBeGreaterThan(0);
    } finally {
      await closeSession(open);
    }
  });

  it("requestReply(instructions): a reply arrives and the service saw the instructions", async () => {
    const { fake } = context();
    const open = await openSession(context(), false);
    try {
      open.session.requestReply(VOICEMAIL_INSTRUCTIONS);
      const itemId = await anyReply(open.seen, 0);
      expect(decodedAudio(open.seen, itemId).length).toBeGreaterThan(0);
      expect(fake.replyRequests()).toContainEqual(expect.stringContaining(VOICEMAIL_INSTRUCTIONS));
    } finally {
      await closeSession(open);
    }
  });

  it("requestReply(null): the model replies from the conversation alone", async () => {
    const { fake } = context();
    const open = await openSession(context(), false);
    const requestsBefore = fake.replyRequests().length;
    try {
      open.session.requestReply(null);
      const itemId = await anyReply(open.seen, 0);
      expect(decodedAudio(open.seen, itemId).length).toBeGreaterThan(0);
      expect(fake.replyRequests().length).toBe(requestsBefore + 1);
    } finally {
      await closeSession(open);
    }
  });
}
