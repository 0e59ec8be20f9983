/**
 * Twilio's outbound buffer: plays queued agent audio at real time, one 20 ms frame per tick, records
 * what the caller heard, holds each mark until the audio queued before it has played, and flushes
 * queue and marks on `clear`. No sockets, no timers: the call drives `tick()` and echoes the marks.
 */
import { FRAME_BYTES, MULAW_SILENCE } from "../../media/audioFormat.js";
import type { MarkRecord } from "./callTypes.js";

interface PendingMark { name: string; atByte: number; record: MarkRecord }

export class TwilioPlayer {
  #chunks: Buffer[] = [];
  #chunkOffset = 0;
  #enqueued = 0; // bytes ever queued, in the same counter as #played
  #played = 0;
  #playedAtSegmentStart = 0;
  #pending: PendingMark[] = [];
  #frameInFlight = false; // the last tick played audio that is still "sounding"
  #recording = Buffer.alloc(FRAME_BYTES * 50 * 60);
  #recorded = 0;

  get playedBytes(): number { return this.#played; }
  get recording(): Buffer { return this.#recording.subarray(0, this.#recorded); }

  enqueue(audio: Buffer): void {
    if (audio.length === 0) return;
    this.#chunks.push(audio);
    this.#enqueued += audio.length;
  }

  /** Returns true when the mark is due at once (nothing queued or sounding). */
  mark(record: MarkRecord): boolean {
    if (this.#enqueued === this.#played && !this.#frameInFlight) return true;
    this.#pending.push({ name: record.name, atByte: this.#enqueued, record });
    return false;
  }

  clear(): { playedBytes: number; droppedBytes: number; flushed: MarkRecord[] } {
    const result = {
      playedBytes: this.#played - this.#playedAtSegmentStart,
      droppedBytes: this.#enqueued - this.#played,
      flushed: this.#pending.map((p) => p.record),
    };
    this.#chunks = [];
    this.#chunkOffset = 0;
    this.#enqueued = this.#played;
    this.#playedAtSegmentStart = this.#played;
    this.#pending = [];
    return result;
  }

  /** Plays the next 20 ms; returns marks whose audio finished and how many bytes sounded now. */
  tick(): { due: MarkRecord[]; played: number } {
    const due: MarkRecord[] = [];
    for (let next = this.#pending[0]; next !== undefined && next.atByte <= this.#played; next = this.#pending[0]) {
      due.push(next.record);
      this.#pending.shift();
    }
    const frame = this.#nextFrame();
    let played = 0;
    for (let chunk = this.#chunks[0]; played < FRAME_BYTES && chunk !== undefined; chunk = this.#chunks[0]) {
      const n = chunk.copy(frame, played, this.#chunkOffset, Math.min(chunk.length, this.#chunkOffset + FRAME_BYTES - played));
      played += n;
      this.#chunkOffset += n;
      if (this.#chunkOffset === chunk.length) {
        this.#chunks.shift();
        this.#chunkOffset = 0;
      }
    }
    this.#played += played;
    this.#frameInFlight = played > 0;
    return { due, played };
  }

  #nextFrame(): Buffer {
    if (this.#recorded + FRAME_BYTES > this.#recording.length) {
      const bigger = Buffer.alloc(this.#recording.length * 2);
      this.#recording.copy(bigger, 0, 0, this.#recorded);
      this.#recording = bigger;
    }
    const frame = this.#recording.subarray(this.#recorded, this.#recorded + FRAME_BYTES).fill(MULAW_SILENCE);
    this.#recorded += FRAME_BYTES;
    return frame;
  }
}
