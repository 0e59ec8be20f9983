/**
 * How every fake streams a reply's audio: one chunk per `chunkMs` of wall time, like a service speaking
 * in real time, or all at once. Pacing is measured from the first chunk, so timer lag never accumulates.
 */
import { performance } from "node:perf_hooks";

export interface ChunkPacing {
  readonly chunkMs: number;
  /** True: one chunk per `chunkMs` of wall time. False: every chunk at once. */
  readonly realtime: boolean;
}

export interface PacedReply {
  /** Sends chunk `k` (0-based). */
  sendChunk(k: number): void;
  /** After the last chunk, unless the reply stopped first. */
  complete(): void;
  /** True once the reply was cut or ended: nothing more is sent. */
  stopped(): boolean;
}

/**
 * Sends `count` chunks of `reply` paced by `pacing`, then completes it. Returns a cancel that clears the
 * pending timer; the reply's `stopped()` must turn true when it stops, so a timer that already fired sends nothing.
 */
export function pacedChunks(count: number, pacing: ChunkPacing, reply: PacedReply): () => void {
  let timer: NodeJS.Timeout | null = null;
  const cancel = (): void => {
    if (timer !== null) clearTimeout(timer);
    timer = null;
  };
  if (!pacing.realtime) {
    for (let k = 0; k < count; k++) reply.sendChunk(k);
    reply.complete();
    return cancel;
  }
  const startedAt = performance.now();
  const step = (k: number): void => {
    timer = null;
    if (reply.stopped()) return;
    if (k >= count) {
      reply.complete();
      return;
    }
    reply.sendChunk(k);
    timer = setTimeout(() => step(k + 1), Math.max(0, startedAt + (k + 1) * pacing.chunkMs - performance.now()));
  };
  step(0);
  return cancel;
}
