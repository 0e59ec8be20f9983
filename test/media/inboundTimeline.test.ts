import { describe, expect, it } from "vitest";
import { DROP_FRAME, InboundTimeline, MAX_GAP_FILL_MS, SILENCE_FRAME_B64 } from "../../media/inboundTimeline.js";

/** Feeds Twilio-style timestamps (first one not 0) and returns what the timeline said for each. */
function feed(timestamps: number[]): { decisions: number[]; t: InboundTimeline } {
  const t = new InboundTimeline();
  return { decisions: timestamps.map((ts) => t.onFrame(ts, 20)), t };
}

describe("InboundTimeline", () => {
  it("passes a steady stream through", () => {
    expect(feed([52, 72, 92, 112]).decisions).toEqual([0, 0, 0, 0]);
  });

  it("tolerates a few ms of jitter", () => {
    expect(feed([52, 75, 91, 112]).decisions).toEqual([0, 0, 0, 0]);
  });

  it("fills a gap with silence frames equal to the missing time", () => {
    const { decisions, t } = feed([52, 72, 152, 172]);
    expect(decisions).toEqual([0, 0, 3, 0]);
    expect(t.filledFrames).toBe(3);
  });

  it("drops a duplicate and a frame that arrives after its time was filled", () => {
    const { decisions, t } = feed([52, 72, 72, 132, 92, 152]);
    expect(decisions).toEqual([0, 0, DROP_FRAME, 2, DROP_FRAME, 0]);
    expect(t.droppedFrames).toBe(2);
  });

  it("resyncs on a clock jump instead of inventing minutes of silence", () => {
    const { decisions, t } = feed([52, 72, 72 + MAX_GAP_FILL_MS + 1000, 72 + MAX_GAP_FILL_MS + 1020]);
    expect(decisions).toEqual([0, 0, 0, 0]);
    expect(t.resyncs).toBe(1);
  });

  it("has a 20 ms μ-law silence frame ready", () => {
    const bytes = Buffer.from(SILENCE_FRAME_B64, "base64");
    expect(bytes.length).toBe(160);
    expect(bytes.every((b) => b === 0xff)).toBe(true);
  });
});
