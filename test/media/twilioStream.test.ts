import { describe, expect, it } from "vitest";
import { TwilioFrameWriter, customParameter, parseTwilioFrame } from "../../media/twilioStream.js";
import type { TwilioStartMessage } from "../../media/twilioWire.js";

// Frames as a real Twilio stream sends them: digits as strings, first timestamp not 0.
const CONNECTED = '{"event":"connected","protocol":"Call","version":"1.0.0"}';
const START =
  '{"event":"start","sequenceNumber":"1","start":{"accountSid":"AC00000000000000000000000000000000","streamSid":"MZ11111111111111111111111111111111","callSid":"CA22222222222222222222222222222222","tracks":["inbound"],"mediaFormat":{"encoding":"audio/x-mulaw","sampleRate":8000,"channels":1},"customParameters":{"token":"abc"}},"streamSid":"MZ11111111111111111111111111111111"}';
const MEDIA =
  '{"event":"media","sequenceNumber":"3","media":{"track":"inbound","chunk":"1","timestamp":"52","payload":"/////w=="},"streamSid":"MZ11111111111111111111111111111111"}';
const MARK = '{"event":"mark","sequenceNumber":"4","streamSid":"MZ1","mark":{"name":"0:160"}}';
const STOP = '{"event":"stop","sequenceNumber":"5","streamSid":"MZ1","stop":{"accountSid":"AC0","callSid":"CA2"}}';
const DTMF = '{"event":"dtmf","streamSid":"MZ1","sequenceNumber":"6","dtmf":{"track":"inbound_track","digit":"1"}}';

describe("parseTwilioFrame", () => {
  it("parses every Twilio event into its typed message", () => {
    for (const [frame, event] of [
      [CONNECTED, "connected"],
      [START, "start"],
      [MEDIA, "media"],
      [MARK, "mark"],
      [STOP, "stop"],
      [DTMF, "dtmf"],
    ] as const) {
      const parsed = parseTwilioFrame(frame);
      expect(parsed.ok, frame).toBe(true);
      if (parsed.ok) expect(parsed.message.event).toBe(event);
    }
  });

  it("keeps numbers as the strings Twilio sends", () => {
    const parsed = parseTwilioFrame(MEDIA);
    if (!parsed.ok || parsed.message.event !== "media") throw new Error("expected media");
    expect(parsed.message.media.timestamp).toBe("52");
    expect(parsed.message.sequenceNumber).toBe("3");
  });

  it("reads custom parameters from start", () => {
    const parsed = parseTwilioFrame(START);
    if (!parsed.ok) throw new Error("expected start");
    expect(customParameter(parsed.message as TwilioStartMessage, "token")).toBe("abc");
    expect(customParameter(parsed.message as TwilioStartMessage, "missing")).toBeUndefined();
  });

  it.each([
    ["{not json", "malformed_json"],
    ["[1,2]", "malformed_json"],
    ['"media"', "malformed_json"],
    ['{"event":"hello"}', "unknown_event"],
    ['{"streamSid":"MZ1"}', "unknown_event"],
    ['{"event":"media","streamSid":"MZ1"}', "bad_field"],
    ['{"event":"media","media":{"timestamp":"20","payload":"$$$$"}}', "bad_base64"],
    ['{"event":"media","media":{"timestamp":"20","payload":"abc"}}', "bad_base64"],
    ['{"event":"media","media":{"timestamp":20,"payload":"////"}}', "bad_field"],
    ['{"event":"mark","mark":{}}', "bad_field"],
    ['{"event":"start","streamSid":"MZ1","start":{}}', "bad_field"],
    ['{"event":"dtmf","dtmf":{}}', "bad_field"],
  ])("skips %s as %s", (frame, fault) => {
    const parsed = parseTwilioFrame(frame);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.fault).toBe(fault);
  });

  it("accepts a start without customParameters", () => {
    const parsed = parseTwilioFrame('{"event":"start","streamSid":"MZ1","start":{"callSid":"CA1"}}');
    expect(parsed.ok).toBe(true);
  });
});

describe("TwilioFrameWriter", () => {
  const writer = new TwilioFrameWriter("MZ1");

  it("builds frames that are the JSON Twilio expects", () => {
    expect(JSON.parse(writer.media("/////w=="))).toEqual({ event: "media", streamSid: "MZ1", media: { payload: "/////w==" } });
    expect(JSON.parse(writer.mark("3:240"))).toEqual({ event: "mark", streamSid: "MZ1", mark: { name: "3:240" } });
    expect(JSON.parse(writer.clear())).toEqual({ event: "clear", streamSid: "MZ1" });
  });

  it("escapes a streamSid it did not choose", () => {
    const odd = new TwilioFrameWriter('MZ"\\x');
    expect(JSON.parse(odd.clear())).toEqual({ event: "clear", streamSid: 'MZ"\\x' });
  });
});
