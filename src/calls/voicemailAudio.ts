/**
 * The agent's recorded voicemail message (`amd_voicemail_audio_url`): fetched once per call through
 * the SSRF-safe client, then turned into what Twilio plays — raw μ-law, 8 kHz, mono. WAV only (16-bit
 * PCM at any rate, μ-law, A-law; mono, stereo or more channels, mixed down). Compressed formats (MP3,
 * Ogg, AAC…) are refused with a message telling the agent's owner what to upload instead: no decoder
 * for them ships with Patchbay.
 */
import { ALAW_DECODE, MULAW_DECODE, encodeMulawInto } from "../../media/g711.js";
import { createResampler, initResamplers } from "../../media/resample/index.js";
import { WavError, readWav, type WavAudio } from "../../media/wav.js";
import { SafeRequestError, safeRequest } from "../net/safeRequest.js";

/** The whole download. It runs while the call rings; a host slower than this would delay the message anyway. */
export const VOICEMAIL_FETCH_TIMEOUT_MS = 5_000;
/** Largest file accepted: 60 s of 16 kHz PCM16 mono fits (1.9 MB); 60 s of what Twilio plays is 480 KB. */
export const VOICEMAIL_MAX_BYTES = 2 * 1024 * 1024;
/** Longest message played: a voicemail greeting's recording window is often a minute or two; ours should be short. */
export const VOICEMAIL_MAX_DURATION_MS = 60_000;

const OUT_RATE = 8_000;
/** Input samples resampled per call: bounded scratch buffers whatever the file's length. */
const CHUNK_SAMPLES = 4_096;
/** Silence fed after the audio so the resampler's filter delay does not swallow the last few ms. */
const FLUSH_MS = 20;

const WAV_ADVICE = "upload a WAV file (16-bit PCM, μ-law or A-law; mono or stereo; any sample rate; at most 60 s)";

/** Every way fetching the message can fail, and whether trying again later may help. */
export const VOICEMAIL_AUDIO_ERRORS = {
  fetch_failed: { retryable: true },
  too_large: { retryable: false },
  unsupported_format: { retryable: false },
  too_long: { retryable: false },
} as const satisfies Record<string, { retryable: boolean }>;

export type VoicemailAudioErrorCode = keyof typeof VOICEMAIL_AUDIO_ERRORS;

/** Why the voicemail audio cannot be played; `message` says what the agent's owner should change. */
export class VoicemailAudioError extends Error {
  override readonly name = "VoicemailAudioError";
  readonly retryable: boolean;
  constructor(
    readonly code: VoicemailAudioErrorCode,
    message: string,
    options?: ErrorOptions & { retryable?: boolean },
  ) {
    super(message, options);
    this.retryable = options?.retryable ?? VOICEMAIL_AUDIO_ERRORS[code].retryable;
  }
}

export interface VoicemailAudioOptions {
  /** SSRF_ALLOW_HOSTS: hosts that may resolve to private addresses. */
  readonly allowHosts: ReadonlySet<string>;
  readonly timeoutMs?: number;
  readonly maxBytes?: number;
  readonly maxDurationMs?: number;
  readonly signal?: AbortSignal;
}

/** Downloads the WAV at `url` and returns it as raw μ-law 8 kHz mono, ready for Twilio `media` frames. */
export async function fetchVoicemailAudio(url: string, options: VoicemailAudioOptions): Promise<Buffer> {
  const maxBytes = options.maxBytes ?? VOICEMAIL_MAX_BYTES;
  let body: Buffer;
  try {
    const res = await safeRequest(url, {
      method: "GET",
      headers: { accept: "audio/wav, audio/x-wav, audio/*;q=0.5" },
      timeoutMs: options.timeoutMs ?? VOICEMAIL_FETCH_TIMEOUT_MS,
      maxBytes,
      allowHosts: options.allowHosts,
      ...(options.signal !== undefined && { signal: options.signal }),
    });
    if (res.status < 200 || res.status > 299) {
      throw new VoicemailAudioError(
        "fetch_failed",
        `the voicemail audio URL answered HTTP ${res.status}; make amd_voicemail_audio_url point at a publicly readable WAV file`,
        { retryable: res.status >= 500 || res.status === 429 },
      );
    }
    body = res.body;
  } catch (err) {
    throw fetchError(err, maxBytes);
  }
  return toTwilioMulaw(body, options.maxDurationMs ?? VOICEMAIL_MAX_DURATION_MS);
}

function fetchError(err: unknown, maxBytes: number): Error {
  if (err instanceof VoicemailAudioError) return err;
  if (!(err instanceof SafeRequestError)) return err instanceof Error ? err : new Error(String(err));
  switch (err.code) {
    case "too_large":
      return new VoicemailAudioError(
        "too_large",
        `the voicemail audio is larger than ${maxBytes} bytes; ${WAV_ADVICE} (60 s of μ-law 8 kHz is 480 KB)`,
        { cause: err },
      );
    case "timeout":
    case "network":
    case "blocked_address":
    case "bad_url":
      return new VoicemailAudioError("fetch_failed", `the voicemail audio could not be downloaded: ${err.message}`, {
        cause: err,
        retryable: err.retryable,
      });
  }
}

/**
 * Converts a WAV file to raw μ-law 8 kHz mono. μ-law 8 kHz mono comes back as a copy of its samples;
 * anything else is decoded, mixed down to mono, resampled (speex) and encoded.
 */
export async function toTwilioMulaw(file: Buffer, maxDurationMs = VOICEMAIL_MAX_DURATION_MS): Promise<Buffer> {
  const wav = parseWav(file);
  const bytesPerSample = wav.format === "pcm16" ? 2 : 1;
  const frameBytes = bytesPerSample * wav.channels;
  const frames = Math.floor(wav.data.length / frameBytes);
  if (frames === 0) throw new VoicemailAudioError("unsupported_format", `the voicemail WAV file holds no audio; ${WAV_ADVICE}`);
  const durationMs = (frames * 1000) / wav.sampleRate;
  if (durationMs > maxDurationMs) {
    throw new VoicemailAudioError(
      "too_long",
      `the voicemail audio lasts ${(durationMs / 1000).toFixed(1)} s; keep the message under ${maxDurationMs / 1000} s`,
    );
  }
  if (wav.format === "mulaw" && wav.channels === 1 && wav.sampleRate === OUT_RATE) return Buffer.from(wav.data);
  const mono = mixDown(wav, frames);
  return encode(wav.sampleRate === OUT_RATE ? mono : await resample(mono, wav.sampleRate));
}

function parseWav(file: Buffer): WavAudio {
  let wav: WavAudio;
  try {
    wav = readWav(file);
  } catch (err) {
    if (!(err instanceof WavError)) throw err;
    const what = err.code === "not_wav" ? `a ${sniff(file)} file, not WAV` : `a WAV file Patchbay cannot read (${err.message})`;
    throw new VoicemailAudioError("unsupported_format", `the voicemail audio is ${what}; ${WAV_ADVICE}`, { cause: err });
  }
  if (wav.channels < 1 || !Number.isInteger(wav.sampleRate) || wav.sampleRate < 4_000 || wav.sampleRate > 192_000) {
    throw new VoicemailAudioError(
      "unsupported_format",
      `the voicemail WAV file says ${wav.channels} channels at ${wav.sampleRate} Hz; ${WAV_ADVICE}`,
    );
  }
  return wav;
}

/** Names a common non-WAV file from its first bytes, for the error message. */
function sniff(file: Buffer): string {
  const head = file.toString("latin1", 0, 12);
  if (head.startsWith("ID3") || ((file[0] ?? 0) === 0xff && ((file[1] ?? 0) & 0xe0) === 0xe0)) return "MP3";
  if (head.startsWith("OggS")) return "Ogg";
  if (head.startsWith("fLaC")) return "FLAC";
  if (head.slice(4, 8) === "ftyp") return "MP4/M4A";
  if (head.startsWith("FORM")) return "AIFF";
  if (/^\s*</.test(head)) return "HTML or XML";
  return "an unrecognised";
}

/** Decodes every frame to PCM16 and averages its channels. */
function mixDown(wav: WavAudio, frames: number): Int16Array {
  const { data, channels } = wav;
  const out = new Int16Array(frames);
  if (wav.format === "pcm16") {
    for (let f = 0, o = 0; f < frames; f++) {
      let sum = 0;
      for (let c = 0; c < channels; c++, o += 2) sum += data.readInt16LE(o);
      out[f] = Math.round(sum / channels);
    }
    return out;
  }
  const table = wav.format === "mulaw" ? MULAW_DECODE : ALAW_DECODE;
  for (let f = 0, o = 0; f < frames; f++) {
    let sum = 0;
    for (let c = 0; c < channels; c++, o++) sum += table[data[o] ?? 0] ?? 0;
    out[f] = Math.round(sum / channels);
  }
  return out;
}

/** Resamples to 8 kHz in bounded chunks; the output is exactly `length × 8000 / rate` samples (rounded). */
async function resample(pcm: Int16Array, rate: number): Promise<Int16Array> {
  await initResamplers();
  const resampler = createResampler(rate, OUT_RATE);
  const expected = Math.round((pcm.length * OUT_RATE) / rate);
  const out = new Int16Array(expected);
  let written = 0;
  const take = (chunk: Int16Array): void => {
    const produced = resampler.process(chunk);
    const n = Math.min(produced.length, expected - written);
    out.set(produced.subarray(0, n), written);
    written += n;
  };
  try {
    for (let i = 0; i < pcm.length; i += CHUNK_SAMPLES) take(pcm.subarray(i, Math.min(i + CHUNK_SAMPLES, pcm.length)));
    take(new Int16Array(Math.ceil((rate * FLUSH_MS) / 1000)));
  } finally {
    resampler.close();
  }
  return out;
}

function encode(pcm: Int16Array): Buffer {
  const out = Buffer.alloc(pcm.length);
  encodeMulawInto(pcm, out);
  return out;
}
