/**
 * `npm run sim`: place one simulated Twilio call against a running Patchbay, print what happens,
 * and save what the caller heard as a WAV.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { parseArgs } from "node:util";
import { writeMulawWav } from "../../media/wav.js";
import { placeCall, type CallResult, type TimelineEntry, type TimelineKind } from "./twilioSimulator.js";

const USAGE = `usage: npm run sim -- --fixture fixtures/caller-question.wav --to +15551234567 [options]

  --fixture PATH        caller audio, μ-law 8 kHz mono WAV (required)
  --to NUMBER           the Patchbay phone number being called (required)
  --from NUMBER         caller id (default +15555550100)
  --server ORIGIN       where Patchbay listens (default http://127.0.0.1:8080)
  --public-url URL      the https origin Twilio would use (default env PUBLIC_URL)
  --tenant ID           tenant in the webhook path (default env PATCHBAY_TENANT_ID)
  --auth-token TOKEN    Twilio auth token for signatures (default env TWILIO_AUTH_TOKEN)
  --out PATH            agent audio WAV (default out/agent-<callSid>.wav)
  --speed N             call-time multiplier (default 1)
  --tail-ms MS          silence after the fixture while the agent answers (default 4000)
  --hangup-after-ms MS  caller hangs up this far into the stream
  --verbose             also print every mark echo`;

/** What each timeline entry looks like on screen; → is the caller side, ← is what it heard. */
const LABELS: Record<TimelineKind, string> = {
  webhook: "→ webhook", twiml: "← twiml", stream_open: "→ media socket", stream_refused: "← refused",
  connected: "→ connected", start: "→ start", caller_audio: "→ caller audio", caller_audio_end: "→ caller audio done",
  agent_audio: "← agent audio", agent_audio_end: "← agent silent", mark: "→ mark echo", clear: "← clear (barge-in)",
  dtmf: "→ dtmf", inject: "→ raw frame", protocol_error: "← protocol error", stop: "→ stop", close: "· closed",
  timeout: "· timeout", warning: "· warning",
};

class UsageError extends Error {}

function number(name: string, raw: string | undefined, fallback?: number): number | undefined {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0) throw new UsageError(`--${name} must be a non-negative number, got "${raw}"`);
  return n;
}

function parse(): Parameters<typeof placeCall>[0] & { out: string | undefined; verbose: boolean } {
  const { values } = parseArgs({
    options: {
      fixture: { type: "string" }, to: { type: "string" }, from: { type: "string" },
      server: { type: "string", default: "http://127.0.0.1:8080" }, "public-url": { type: "string" },
      tenant: { type: "string" }, "auth-token": { type: "string" }, out: { type: "string" },
      speed: { type: "string" }, "tail-ms": { type: "string" }, "hangup-after-ms": { type: "string" },
      verbose: { type: "boolean", default: false }, help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const publicUrl = values["public-url"] ?? process.env.PUBLIC_URL;
  const tenant = values.tenant ?? process.env.PATCHBAY_TENANT_ID;
  const authToken = values["auth-token"] ?? process.env.TWILIO_AUTH_TOKEN;
  const missing = [
    values.fixture === undefined && "--fixture",
    values.to === undefined && "--to",
    publicUrl === undefined && "--public-url (or PUBLIC_URL)",
    tenant === undefined && "--tenant (or PATCHBAY_TENANT_ID)",
    authToken === undefined && "--auth-token (or TWILIO_AUTH_TOKEN)",
  ].filter((m): m is string => m !== false);
  if (missing.length > 0) throw new UsageError(`missing ${missing.join(", ")}`);
  const speed = number("speed", values.speed, 1);
  if (speed === 0) throw new UsageError("--speed must be greater than 0");
  return {
    fixture: values.fixture ?? "", to: values.to ?? "", from: values.from, serverOrigin: values.server,
    webhookUrl: `${(publicUrl ?? "").replace(/\/+$/, "")}/webhooks/twilio/${encodeURIComponent(tenant ?? "")}/voice`,
    authToken: authToken ?? "", speed, tailMs: number("tail-ms", values["tail-ms"]),
    hangupAfterMs: number("hangup-after-ms", values["hangup-after-ms"]), out: values.out, verbose: values.verbose,
  };
}

function printEntry(entry: TimelineEntry, verbose: boolean): void {
  if (entry.kind === "mark" && !verbose) return;
  const label = LABELS[entry.kind];
  console.log(`${(entry.atMs / 1000).toFixed(2).padStart(7)}s  ${label.padEnd(22)} ${entry.detail}`);
}

const seconds = (ms: number): string => `${(ms / 1000).toFixed(2)}s`;

function printSummary(r: CallResult, wavPath: string | null): void {
  const c = r.counts;
  console.log(`\ncall ${r.callSid} — ${r.outcome} after ${seconds(r.durationMs)}`);
  if (r.streamStartMs === null) return; // no stream, nothing was heard
  console.log(`  caller sent     ${seconds(c.callerMsSent)} (${c.callerFramesSent} frames)`);
  console.log(`  agent heard     ${seconds(c.agentMsHeard)} of ${seconds(c.agentMsReceived)} received`);
  console.log(`  marks           ${c.marksReceived} received, ${c.marksEchoed} echoed`);
  console.log(`  clears          ${c.clears}${c.clears > 0 ? ` (played before each: ${r.playedMsAtClear.map(seconds).join(", ")})` : ""}`);
  if (r.close !== null) console.log(`  closed          ${r.close.code} by ${r.close.by}${r.close.reason ? ` (${r.close.reason})` : ""}`);
  if (r.protocolErrors.length > 0) console.log(`  protocol errors ${r.protocolErrors.map((e) => `${e.code} ${e.detail}`).join("; ")}`);
  if (wavPath !== null) console.log(`  agent audio     ${wavPath}`);
}

/** A one-line reason the call failed, with the likely fix, or null when it went through. */
function failure(r: CallResult): string | null {
  switch (r.outcome) {
    case "completed":
    case "server_closed":
      return r.protocolErrors.length > 0 ? `the server broke the Media Streams protocol ${r.protocolErrors.length} time(s)` : null;
    case "http_error":
      if (r.webhook === null) return `cannot reach the server: ${r.error ?? "unknown error"}`;
      return r.webhook.status === 403
        ? `server refused the call (403): check --auth-token and --public-url — the signature covers the public URL`
        : `server refused the call: ${r.error ?? "unknown error"}`;
    case "no_stream":
      return `server answered without a media stream (${r.error ?? ""}) — is the called number assigned to an active agent?`;
    case "bad_twiml":
    case "stream_refused":
    case "timeout":
      return `${r.outcome.replace("_", " ")}: ${r.error ?? "no detail"}`;
  }
}

async function main(): Promise<number> {
  let opts: ReturnType<typeof parse>;
  try {
    opts = parse();
  } catch (err) {
    console.error(`sim: ${err instanceof Error ? err.message : String(err)}\n\n${USAGE}`);
    return 2;
  }
  const { out, verbose, ...callOpts } = opts;
  const handle = placeCall({ ...callOpts, onEvent: (e) => printEntry(e, verbose) });
  // Ctrl-C hangs up like a caller would, so the summary and WAV still get written.
  process.once("SIGINT", () => handle.hangup());
  console.log(`calling ${callOpts.to} via ${callOpts.webhookUrl} (server ${callOpts.serverOrigin}), call ${handle.callSid}`);
  const result = await handle.done;
  let wavPath: string | null = null;
  if (result.playedAudio.length > 0) {
    wavPath = out ?? `out/agent-${result.callSid}.wav`;
    mkdirSync(dirname(wavPath), { recursive: true });
    writeFileSync(wavPath, writeMulawWav(result.playedAudio));
  }
  printSummary(result, wavPath);
  const reason = failure(result);
  if (reason !== null) console.error(`\nsim: ${reason}`);
  return reason === null ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`sim: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
