import { describe, expect, it } from "vitest";
import { Playout } from "../../media/playout.js";

describe("Playout", () => {
  it("counts sent audio and names marks by generation and end position", () => {
    const p = new Playout();
    expect(p.queue("item1", 100, 0)).toBe("0:100");
    expect(p.queue("item1", 60, 5)).toBe("0:160");
    expect(p.sentMs).toBe(160);
  });

  it("confirms played audio from mark echoes", () => {
    const p = new Playout();
    const m1 = p.queue("item1", 100, 0);
    p.queue("item1", 100, 0);
    expect(p.onMarkEcho(m1, 100)).toBe(true);
    expect(p.confirmedMs).toBe(100);
  });

  it("interpolates at real time between echoes, capped at the next unconfirmed mark", () => {
    const p = new Playout();
    const m1 = p.queue("item1", 100, 0);
    p.queue("item1", 100, 10);
    expect(p.playedMs(40)).toBe(40);
    p.onMarkEcho(m1, 100);
    expect(p.playedMs(150)).toBe(150);
    expect(p.playedMs(500)).toBe(200);
  });

  it("does not run ahead when audio arrives after an underrun", () => {
    const p = new Playout();
    const m1 = p.queue("item1", 100, 0);
    p.onMarkEcho(m1, 100);
    // Nothing queued for 400 ms, then more audio: it starts playing when it arrives, not at the last echo.
    p.queue("item1", 100, 500);
    expect(p.playedMs(550)).toBe(150);
  });

  it("reports the heard item and its played ms", () => {
    const p = new Playout();
    p.queue("a", 100, 0);
    p.queue("b", 100, 0);
    expect(p.heard(50)).toEqual({ itemId: "a", playedMs: 50 });
    const p2 = new Playout();
    const m = p2.queue("a", 100, 0);
    p2.queue("b", 200, 0);
    p2.onMarkEcho(m, 100);
    expect(p2.heard(130)).toEqual({ itemId: "b", playedMs: 30 });
  });

  it("ignores echoes of marks from a cleared generation", () => {
    const p = new Playout();
    const m1 = p.queue("a", 100, 0);
    const m2 = p.queue("a", 100, 0);
    p.clear();
    // Twilio echoes every pending mark on clear; those prove nothing was played.
    expect(p.onMarkEcho(m1, 10)).toBe(false);
    expect(p.onMarkEcho(m2, 10)).toBe(false);
    expect(p.staleEchoes).toBe(2);
    expect(p.sentMs).toBe(0);
    expect(p.playedMs(1000)).toBe(0);
    expect(p.isPlaying(1000)).toBe(false);
    expect(p.queue("b", 20, 1000)).toBe("1:20");
  });

  it("is not playing once everything is confirmed", () => {
    const p = new Playout();
    const m = p.queue("a", 100, 0);
    expect(p.isPlaying(50)).toBe(true);
    p.onMarkEcho(m, 100);
    expect(p.isPlaying(5000)).toBe(false);
    expect(p.heard(5000)).toEqual({ itemId: "a", playedMs: 100 });
  });

  it("ignores names that are not ours", () => {
    const p = new Playout();
    expect(p.onMarkEcho("greeting-done", 0)).toBe(false);
  });
});
