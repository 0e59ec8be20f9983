/**
 * Minimal RIFF/WAVE reader and μ-law writer for fixtures and call recordings. Pure: Buffers in,
 * Buffers out.
 */

export type WavEncoding = "mulaw" | "alaw" | "pcm16";

export interface WavAudio {
  format: WavEncoding;
  sampleRate: number;
  channels: number;
  /** The raw sample bytes of the `data` chunk (a view into the input buffer, not a copy). */
  data: Buffer;
}

export type WavErrorCode = "not_wav" | "unsupported_format" | "malformed";

/** Why a buffer could not be read as WAV; `code` is stable, the message names the offending value. */
export class WavError extends Error {
  override readonly name = "WavError";
  readonly code: WavErrorCode;

  constructor(code: WavErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

const WAVE_FORMAT_PCM = 1;
const WAVE_FORMAT_ALAW = 6;
const WAVE_FORMAT_MULAW = 7;
const WAVE_FORMAT_EXTENSIBLE = 0xfffe;
const RIFF_HEADER_BYTES = 12;
const CHUNK_HEADER_BYTES = 8;

interface FmtChunk {
  formatTag: number;
  channels: number;
  sampleRate: number;
  bitsPerSample: number;
}

function readFmt(buf: Buffer, offset: number, size: number): FmtChunk {
  if (size < 16) throw new WavError("malformed", `WAV fmt chunk is ${size} bytes; at least 16 expected`);
  let formatTag = buf.readUInt16LE(offset);
  // WAVE_FORMAT_EXTENSIBLE carries the real format tag in the first two bytes of its SubFormat GUID.
  if (formatTag === WAVE_FORMAT_EXTENSIBLE && size >= 26) formatTag = buf.readUInt16LE(offset + 24);
  return {
    formatTag,
    channels: buf.readUInt16LE(offset + 2),
    sampleRate: buf.readUInt32LE(offset + 4),
    bitsPerSample: buf.readUInt16LE(offset + 14),
  };
}

function encodingOf(fmt: FmtChunk): WavEncoding {
  const { formatTag, bitsPerSample } = fmt;
  if (formatTag === WAVE_FORMAT_MULAW && bitsPerSample === 8) return "mulaw";
  if (formatTag === WAVE_FORMAT_ALAW && bitsPerSample === 8) return "alaw";
  if (formatTag === WAVE_FORMAT_PCM && bitsPerSample === 16) return "pcm16";
  throw new WavError(
    "unsupported_format",
    `unsupported WAV format tag ${formatTag} with ${bitsPerSample} bits per sample; ` +
      "supported: μ-law (7) 8-bit, A-law (6) 8-bit, PCM (1) 16-bit",
  );
}

/** Parses a WAV file. Skips unknown chunks (`fact`, `LIST`…) and honours odd-size chunk padding. */
export function readWav(buf: Buffer): WavAudio {
  if (
    buf.length < RIFF_HEADER_BYTES ||
    buf.toString("latin1", 0, 4) !== "RIFF" ||
    buf.toString("latin1", 8, 12) !== "WAVE"
  ) {
    throw new WavError("not_wav", "not a WAV file: missing RIFF/WAVE header");
  }
  let fmt: FmtChunk | undefined;
  let offset = RIFF_HEADER_BYTES;
  while (offset + CHUNK_HEADER_BYTES <= buf.length) {
    const id = buf.toString("latin1", offset, offset + 4);
    const size = buf.readUInt32LE(offset + 4);
    const body = offset + CHUNK_HEADER_BYTES;
    if (id === "fmt ") {
      if (body + size > buf.length) throw new WavError("malformed", "WAV fmt chunk runs past the end of the file");
      fmt = readFmt(buf, body, size);
    } else if (id === "data") {
      if (fmt === undefined) throw new WavError("malformed", "WAV data chunk comes before the fmt chunk");
      const format = encodingOf(fmt);
      // Streaming writers leave the size at 0 or 0xFFFFFFFF; trust the file length then.
      const end = size === 0 || body + size > buf.length ? buf.length : body + size;
      return { format, sampleRate: fmt.sampleRate, channels: fmt.channels, data: buf.subarray(body, end) };
    }
    offset = body + size + (size & 1);
  }
  throw new WavError("malformed", fmt === undefined ? "WAV file has no fmt chunk" : "WAV file has no data chunk");
}

/** Wraps raw μ-law bytes in a WAV container (WAVE_FORMAT_MULAW, mono, with the `fact` chunk). */
export function writeMulawWav(data: Buffer, sampleRate = 8000): Buffer {
  const fmtSize = 18; // Non-PCM formats carry cbSize (0 here) after the 16 PCM fields.
  const factSize = 4;
  const pad = data.length & 1;
  const total = RIFF_HEADER_BYTES + CHUNK_HEADER_BYTES * 3 + fmtSize + factSize + data.length + pad;
  const out = Buffer.alloc(total);
  let o = 0;
  o += out.write("RIFF", o, "latin1");
  o = out.writeUInt32LE(total - 8, o);
  o += out.write("WAVE", o, "latin1");
  o += out.write("fmt ", o, "latin1");
  o = out.writeUInt32LE(fmtSize, o);
  o = out.writeUInt16LE(WAVE_FORMAT_MULAW, o);
  o = out.writeUInt16LE(1, o); // channels
  o = out.writeUInt32LE(sampleRate, o);
  o = out.writeUInt32LE(sampleRate, o); // byte rate: one byte per sample
  o = out.writeUInt16LE(1, o); // block align
  o = out.writeUInt16LE(8, o); // bits per sample
  o = out.writeUInt16LE(0, o); // cbSize
  o += out.write("fact", o, "latin1");
  o = out.writeUInt32LE(factSize, o);
  o = out.writeUInt32LE(data.length, o); // sample frames
  o += out.write("data", o, "latin1");
  o = out.writeUInt32LE(data.length, o);
  data.copy(out, o);
  return out;
}
