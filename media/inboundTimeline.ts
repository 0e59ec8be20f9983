import { FRAME_MS, FRAME_BYTES, MULAW_SILENCE } from "./audioFormat.js";

/** Gaps longer than this are a clock jump, not packet loss: resync instead of inventing minutes of silence. */
export const MAX_GAP_FILL_MS = 5_000;
/** Timestamps within this of the expected one count as on time (Twilio's clock jitters by a few ms). */
const ON_TIME_TOLERANCE_MS = FRAME_MS / 2;

/** What to do with an inbound frame, given where the stream's timeline stands. */
export const DROP_FRAME = -1;

/** 20 ms of μ-law silence as base64, for filling gaps without encoding anything per frame. */
export const SILENCE_FRAME_B64 = Buffer.alloc(FRAME_BYTES, MULAW_SILENCE).toString("base64");

/**
 * Keeps the caller's audio aligned with wall time. Twilio's `media.timestamp` is the stream time of the
 * frame in ms; when it jumps (packet loss), the provider and the recording should hear silence for the
 * missing time rather than have later speech pulled earlier. Late or duplicated frames whose time has
 * already been covered are dropped, so order never breaks. Pure: the caller feeds timestamps.
 */
export class InboundTimeline {
  #expectedMs = -1;
  #filledFrames = 0;
  #dropped = 0;
  #resyncs = 0;

  /** Silence frames inserted so far. */
  get filledFrames(): number {
    return this.#filledFrames;
  }

  /** Late or duplicate frames dropped so far. */
  get droppedFrames(): number {
    return this.#dropped;
  }

  /** Clock jumps beyond MAX_GAP_FILL_MS, resynced without filling. */
  get resyncs(): number {
    return this.#resyncs;
  }

  /** A new stream of the same call (after a failed transfer) counts its timestamps from zero again; the counts stay. */
  restart(): void {
    this.#expectedMs = -1;
  }

  /**
   * A frame stamped `timestampMs` lasting `frameMs` arrived. Returns how many 20 ms silence frames to send
   * before it, or DROP_FRAME when its time has already been covered.
   */
  onFrame(timestampMs: number, frameMs: number): number {
    const expected = this.#expectedMs;
    if (expected < 0) {
      this.#expectedMs = timestampMs + frameMs;
      return 0;
    }
    const ahead = timestampMs - expected;
    if (ahead <= -ON_TIME_TOLERANCE_MS) {
      this.#dropped++;
      return DROP_FRAME;
    }
    this.#expectedMs = Math.max(expected, timestampMs) + frameMs;
    if (ahead < ON_TIME_TOLERANCE_MS) return 0;
    if (ahead > MAX_GAP_FILL_MS) {
      this.#resyncs++;
      return 0;
    }
    const frames = Math.round(ahead / FRAME_MS);
    this.#filledFrames += frames;
    return frames;
  }
}
