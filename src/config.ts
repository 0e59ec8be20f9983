import path from "node:path";

/** Everything the process reads from its environment, validated once at start. */
export interface Config {
  readonly port: number;
  readonly host: string;
  /** Public https origin Twilio reaches (no trailing slash); its wss twin serves the media stream. */
  readonly publicUrl: string;
  readonly databaseUrl: string | undefined;
  readonly dataDir: string;
  readonly redisUrl: string | undefined;
  readonly logLevel: LogLevel;
  /** Local VAD for barge-in: Silero (batched ONNX), WebRTC VAD, or off (provider VAD only). */
  readonly localVad: LocalVadSetting;
  /** Caller speech needed before the local VAD barges in; shorter sounds (backchannels) don't. */
  readonly vadMinSpeechMs: number | undefined;
  readonly adminKey: string | undefined;
  /** Signs media-stream session tokens; derived from the Twilio auth token when unset. */
  readonly sessionSecret: string | undefined;
  readonly twilio: {
    readonly accountSid: string | undefined;
    readonly authToken: string | undefined;
    readonly apiBaseUrl: string | undefined;
  };
  readonly openai: ProviderEnv & { readonly realtimeModel: string };
  /** Model names left undefined fall back to each adapter's default. */
  readonly xai: ProviderEnv & { readonly realtimeModel: string | undefined };
  readonly gemini: ProviderEnv & { readonly liveModel: string | undefined };
  readonly elevenlabs: ProviderEnv;
  /** The scripted stand-in voice's script (JSON); undefined means the bundled demo script. */
  readonly scriptedScript: string | undefined;
  /** Encrypts secrets at rest (tenants' Twilio auth tokens): 32 bytes, hex or base64. */
  readonly encryptionKey: Buffer | undefined;
  /**
   * Hosts (names or IP literals, lower-case) that user-supplied URLs — function webhooks, voicemail audio —
   * may reach even though they are loopback or private: test receivers, on-premises services. Empty by default.
   */
  readonly ssrfAllowHosts: ReadonlySet<string>;
  /** Longest an outbound call's greeting waits for the answering-machine verdict; 0 greets at once. */
  readonly amdHoldGreetingMs: number;
  /** OpenAI text model that writes the whisper summary for transfers (OPENAI_API_KEY / OPENAI_BASE_URL). */
  readonly summaryModel: string;
  readonly outbound: {
    /** Calls a tenant may place per minute. */
    readonly ratePerMinute: number;
    /** Outbound calls a tenant may have in progress at once. */
    readonly maxConcurrent: number;
  };
}

export interface ProviderEnv {
  readonly apiKey: string | undefined;
  readonly baseUrl: string;
}

/** Local VAD engines; kept here so reading config loads no ONNX or WASM before the port is open. */
export const LOCAL_VAD_KINDS = ["silero", "webrtc", "off"] as const;
export type LocalVadSetting = (typeof LOCAL_VAD_KINDS)[number];

export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Thrown at start when the environment is wrong; the message names every bad or missing value. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
  readonly code = "config_invalid";
  constructor(readonly problems: readonly string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
  }
}

type Env = Readonly<Record<string, string | undefined>>;

/** Reads and checks the environment; collects every problem before failing. */
export function loadConfig(env: Env = process.env): Config {
  const problems: string[] = [];
  const read = new EnvReader(env, problems);

  const port = read.int("PORT", 8080, 0, 65535);
  const host = read.string("HOST") ?? "127.0.0.1";
  const publicUrl = read.url("PUBLIC_URL", ["http:", "https:"]) ?? `http://${host === "0.0.0.0" ? "127.0.0.1" : host}:${port}`;
  const databaseUrl = read.url("DATABASE_URL", ["postgres:", "postgresql:"]);
  const rawDataDir = read.string("DATA_DIR") ?? "./data";
  // ":memory:" keeps PGlite in memory (tests, demos); anything else is a directory.
  const dataDir = rawDataDir === ":memory:" ? rawDataDir : path.resolve(rawDataDir);
  const redisUrl = read.url("REDIS_URL", ["redis:", "rediss:"]);
  const logLevel = read.oneOf("LOG_LEVEL", LOG_LEVELS, "info");
  const localVad = read.oneOf("LOCAL_VAD", LOCAL_VAD_KINDS, "silero");
  const vadMinSpeechMs = read.string("VAD_MIN_SPEECH_MS") === undefined ? undefined : read.int("VAD_MIN_SPEECH_MS", 0, 0, 5_000);
  const adminKey = read.string("PATCHBAY_ADMIN_KEY");
  if (adminKey !== undefined && adminKey.length < 16) problems.push("PATCHBAY_ADMIN_KEY must be at least 16 characters");
  const sessionSecret = read.string("SESSION_SECRET");
  if (sessionSecret !== undefined && sessionSecret.length < 16) problems.push("SESSION_SECRET must be at least 16 characters");

  const accountSid = read.string("TWILIO_ACCOUNT_SID");
  if (accountSid !== undefined && !/^AC[0-9a-fA-F]{32}$/.test(accountSid)) {
    problems.push("TWILIO_ACCOUNT_SID must look like AC followed by 32 hex characters");
  }
  const twilio = {
    accountSid,
    authToken: read.string("TWILIO_AUTH_TOKEN"),
    apiBaseUrl: read.url("TWILIO_API_BASE_URL", ["http:", "https:"]),
  };

  const provider = (prefix: string, defaultBase: string): ProviderEnv => ({
    apiKey: read.string(`${prefix}_API_KEY`),
    baseUrl: stripSlash(read.url(`${prefix}_BASE_URL`, ["http:", "https:"]) ?? defaultBase),
  });
  const openai = {
    ...provider("OPENAI", "https://api.openai.com/v1"),
    realtimeModel: read.string("OPENAI_REALTIME_MODEL") ?? "gpt-realtime",
  };
  const xai = { ...provider("XAI", "https://api.x.ai/v1"), realtimeModel: read.string("XAI_REALTIME_MODEL") };
  const gemini = { ...provider("GEMINI", "https://generativelanguage.googleapis.com"), liveModel: read.string("GEMINI_LIVE_MODEL") };
  const encryptionKey = parseEncryptionKey(read.string("PATCHBAY_ENCRYPTION_KEY"), problems);
  const outbound = {
    ratePerMinute: read.int("OUTBOUND_RATE_PER_MINUTE", 30, 1, 10_000),
    maxConcurrent: read.int("OUTBOUND_MAX_CONCURRENT", 10, 1, 10_000),
  };
  const ssrfAllowHosts = new Set(
    (read.string("SSRF_ALLOW_HOSTS") ?? "")
      .split(",")
      .map((h) => h.trim().toLowerCase())
      .filter((h) => h !== ""),
  );
  const amdHoldGreetingMs = read.int("AMD_HOLD_GREETING_MS", 5_000, 0, 30_000);
  const summaryModel = read.string("SUMMARY_MODEL") ?? "gpt-4.1-mini";
  const rawScript = read.string("SCRIPTED_SCRIPT");
  const scriptedScript = rawScript === undefined ? undefined : path.resolve(rawScript);
  const elevenlabs = provider("ELEVENLABS", "https://api.elevenlabs.io");

  if (problems.length > 0) throw new ConfigError(problems);
  return {
    port,
    host,
    publicUrl: stripSlash(publicUrl),
    databaseUrl,
    dataDir,
    redisUrl,
    logLevel,
    localVad,
    vadMinSpeechMs,
    adminKey,
    sessionSecret,
    twilio,
    openai,
    xai,
    gemini,
    elevenlabs,
    scriptedScript,
    encryptionKey,
    ssrfAllowHosts,
    amdHoldGreetingMs,
    summaryModel,
    outbound,
  };
}

/** 32 bytes as 64 hex characters or base64; anything else is a startup error, not a weak key. */
function parseEncryptionKey(raw: string | undefined, problems: string[]): Buffer | undefined {
  if (raw === undefined) return undefined;
  const key = /^[0-9a-fA-F]{64}$/.test(raw) ? Buffer.from(raw, "hex") : Buffer.from(raw, "base64");
  if (key.length !== 32) {
    problems.push("PATCHBAY_ENCRYPTION_KEY must be 32 bytes: 64 hex characters or base64 (e.g. `openssl rand -hex 32`)");
    return undefined;
  }
  return key;
}

function stripSlash(url: string): string {
  return url.endsWith("/") ? url.slice(0, -1) : url;
}

class EnvReader {
  constructor(
    private readonly env: Env,
    private readonly problems: string[],
  ) {}

  string(name: string): string | undefined {
    const v = this.env[name]?.trim();
    return v === undefined || v === "" ? undefined : v;
  }

  int(name: string, fallback: number, min: number, max: number): number {
    const raw = this.string(name);
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) {
      this.problems.push(`${name} must be an integer from ${min} to ${max} (got "${raw}")`);
      return fallback;
    }
    return n;
  }

  url(name: string, protocols: readonly string[]): string | undefined {
    const raw = this.string(name);
    if (raw === undefined) return undefined;
    let parsed: URL;
    try {
      parsed = new URL(raw);
    } catch {
      this.problems.push(`${name} is not a valid URL`);
      return undefined;
    }
    if (!protocols.includes(parsed.protocol)) {
      this.problems.push(`${name} must start with ${protocols.map((p) => `${p}//`).join(" or ")} (got ${parsed.protocol}//)`);
      return undefined;
    }
    return raw;
  }

  oneOf<T extends string>(name: string, allowed: readonly T[], fallback: T): T {
    const raw = this.string(name);
    if (raw === undefined) return fallback;
    if ((allowed as readonly string[]).includes(raw)) return raw as T;
    this.problems.push(`${name} must be one of ${allowed.join(", ")} (got "${raw}")`);
    return fallback;
  }
}
