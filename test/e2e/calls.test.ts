import { randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApiKey, createCallLog, createTenant, type CallLogInput } from "../../src/storage/index.js";
import { FakeTwilioRecordingServer } from "../fakes/twilioRecordingServer.js";
import { ACCOUNT_SID, ADMIN_KEY, AUTH_TOKEN, startHarness, type Harness } from "./harness.js";

interface CallLog {
  id: string;
  agent_id: string | null;
  agent_name: string | null;
  transcript: unknown[];
  metadata: Record<string, unknown>;
  [field: string]: unknown;
}
interface CallList {
  calls: CallLog[];
  total: number;
}
interface ErrorBody {
  message: string;
  detail?: { loc: (string | number)[] }[];
}

const CALL_FIELDS = [
  "id", "tenant_id", "agent_id", "agent_name", "phone_number_id", "twilio_call_sid", "direction", "from_number", "to_number", "status",
  "started_at", "ended_at", "duration_seconds", "transcript", "metadata", "voice_provider", "amd_status", "amd_detection_ms", "recording_url",
];

let sidSeq = 0;
const callSid = () => `CA${randomBytes(16).toString("hex")}${sidSeq++}`;
const recordingSid = () => `RE${randomBytes(16).toString("hex")}`;
const qs = (params: Record<string, string | number>) =>
  "?" + new URLSearchParams(Object.entries(params).map(([k, v]): [string, string] => [k, String(v)])).toString();
const locs = (body: ErrorBody) => (body.detail ?? []).map((d) => d.loc.join("."));

describe("calls API", () => {
  let h: Harness;
  let twilio: FakeTwilioRecordingServer;
  let key: string;
  let otherKey: string;
  let agentId: string;
  const c: Record<string, CallLog> = {};

  const log = (tenantId: string, input: Partial<CallLogInput>) =>
    createCallLog(h.server.store.db, tenantId, {
      twilio_call_sid: callSid(),
      direction: "inbound",
      from_number: "+15550000001",
      to_number: "+15550000002",
      status: "completed",
      ...input,
    });
  const ids = async (query: string) => {
    const res = await h.api<CallList>("GET", `/calls${query}`, undefined, key);
    expect(res.status, query).toBe(200);
    return res.body.calls.map((call) => call.id);
  };

  beforeAll(async () => {
    twilio = await FakeTwilioRecordingServer.start(ACCOUNT_SID, AUTH_TOKEN);
    h = await startHarness({ env: { TWILIO_API_BASE_URL: twilio.url } });
    const db = h.server.store.db;
    // The list tests get a tenant of their own, so no other test's calls show up in their totals.
    const tenant = await createTenant(db, "calls");
    key = (await createApiKey(db, tenant.id, { name: "calls" })).key;
    const other = await createTenant(db, "other");
    otherKey = (await createApiKey(db, other.id, { name: "other" })).key;
    agentId = (await h.api<{ id: string }>("POST", "/agents", { name: "Ava", system_prompt: "p" }, key)).body.id;

    const rows: [string, Partial<CallLogInput>][] = [
      ["c1", { started_at: "2025-06-01T08:00:00Z", agent_id: agentId }],
      ["c2", { started_at: "2025-06-01T12:00:00Z", direction: "outbound", status: "failed" }],
      ["c3", { started_at: "2025-06-02T09:30:00Z", agent_id: agentId, transcript: [{ role: "agent", text: "Hi", at_ms: 5 }], metadata: { end_reason: "stream_stopped" } }],
      ["c4", { started_at: "2025-06-03T00:00:00Z", direction: "test", status: "in-progress" }],
      ["c5", { started_at: "2025-05-31T23:59:59.999Z" }],
    ];
    for (const [name, input] of rows) c[name] = (await log(tenant.id, input)) as unknown as CallLog;
    await log(other.id, { started_at: "2025-06-01T10:00:00Z" });
  });
  afterAll(async () => {
    await h?.close();
    await twilio?.close();
  });

  it("lists newest first with a total of every match, and pages with limit and offset", async () => {
    const all = await h.api<CallList>("GET", "/calls", undefined, key);
    expect(all.body.total).toBe(5);
    expect(all.body.calls.map((x) => x.id)).toEqual([c.c4!.id, c.c3!.id, c.c2!.id, c.c1!.id, c.c5!.id]);
    expect(Object.keys(all.body.calls[0]!).sort()).toEqual([...CALL_FIELDS].sort());
    const page = await h.api<CallList>("GET", "/calls?limit=2&offset=1", undefined, key);
    expect(page.body).toMatchObject({ total: 5 });
    expect(page.body.calls.map((x) => x.id)).toEqual([c.c3!.id, c.c2!.id]);
    expect(await ids("?offset=10")).toEqual([]);
  });

  it("filters by agent, direction and status", async () => {
    expect(await ids(qs({ agent_id: agentId }))).toEqual([c.c3!.id, c.c1!.id]);
    expect(await ids(qs({ direction: "outbound" }))).toEqual([c.c2!.id]);
    expect(await ids(qs({ status: "completed" }))).toEqual([c.c3!.id, c.c1!.id, c.c5!.id]);
    expect(await ids(qs({ status: "completed", agent_id: agentId, direction: "inbound" }))).toEqual([c.c3!.id, c.c1!.id]);
    const filtered = await h.api<CallList>("GET", `/calls${qs({ agent_id: agentId, limit: 1 })}`, undefined, key);
    expect(filtered.body.total).toBe(2);
    expect(filtered.body.calls[0]?.agent_name).toBe("Ava");
  });

  it("filters by ISO 8601 dates and date-times: a date_to date covers the whole day", async () => {
    expect(await ids(qs({ date_from: "2025-06-01" }))).toEqual([c.c4!.id, c.c3!.id, c.c2!.id, c.c1!.id]);
    expect(await ids(qs({ date_to: "2025-06-01" }))).toEqual([c.c2!.id, c.c1!.id, c.c5!.id]);
    expect(await ids(qs({ date_from: "2025-06-01", date_to: "2025-06-01" }))).toEqual([c.c2!.id, c.c1!.id]);
    expect(await ids(qs({ date_from: "2025-06-01T10:00:00Z", date_to: "2025-06-02T09:30:00Z" }))).toEqual([c.c3!.id, c.c2!.id]);
    // 14:00 at +02:00 is 12:00 UTC; a date-time without an offset is UTC.
    expect(await ids(qs({ date_from: "2025-06-01T14:00:00+02:00", date_to: "2025-06-01T12:00:00" }))).toEqual([c.c2!.id]);
    expect(await ids(qs({ date_to: "2025-05-31T23:59:59.999Z" }))).toEqual([c.c5!.id]);
    expect(await ids(qs({ date_from: "2025-06-01", agent_id: agentId }))).toEqual([c.c3!.id, c.c1!.id]);
  });

  it("answers 422 naming the query field for bad filters", async () => {
    const cases: [Record<string, string | number>, string][] = [
      [{ limit: 0 }, "querystring.limit"],
      [{ limit: 501 }, "querystring.limit"],
      [{ limit: "ten" }, "querystring.limit"],
      [{ offset: -1 }, "querystring.offset"],
      [{ direction: "sideways" }, "querystring.direction"],
      [{ agent_id: "nope" }, "querystring.agent_id"],
      [{ status: "" }, "querystring.status"],
      [{ date_from: "yesterday" }, "querystring.date_from"],
      [{ date_from: "2025-02-30" }, "querystring.date_from"],
      [{ date_from: "06/01/2025" }, "querystring.date_from"],
      [{ date_to: "2025-06-01T25:00:00Z" }, "querystring.date_to"],
      [{ date_to: "2025-06-01T10:00:00+25:00" }, "querystring.date_to"],
      [{ date_from: "2025-06-02", date_to: "2025-06-01" }, "querystring.date_to"],
      [{ date_from: "2025-06-01T12:00:01Z", date_to: "2025-06-01T12:00:00Z" }, "querystring.date_to"],
      [{ sort: "asc" }, "querystring.sort"],
    ];
    for (const [params, loc] of cases) {
      const res = await h.api<ErrorBody>("GET", `/calls${qs(params)}`, undefined, key);
      expect(res.status, JSON.stringify(params)).toBe(422);
      expect(locs(res.body), JSON.stringify(params)).toContain(loc);
    }
  });

  it("gets one call with its transcript and metadata; another tenant's call is 404", async () => {
    const res = await h.api<CallLog>("GET", `/calls/${c.c3!.id}`, undefined, key);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      id: c.c3!.id,
      agent_name: "Ava",
      transcript: [{ role: "agent", text: "Hi", at_ms: 5 }],
      metadata: { end_reason: "stream_stopped" },
      started_at: "2025-06-02T09:30:00.000Z",
    });
    expect(Object.keys(res.body).sort()).toEqual([...CALL_FIELDS].sort());
    expect((await h.api("GET", `/calls/${c.c3!.id}`, undefined, otherKey)).status).toBe(404);
    expect((await h.api("GET", "/calls/not-a-uuid", undefined, key)).status).toBe(404);
    expect((await h.api("GET", "/calls/00000000-0000-4000-8000-000000000000", undefined, key)).status).toBe(404);
    const theirs = await h.api<CallList>("GET", "/calls", undefined, otherKey);
    expect(theirs.body.calls.map((x) => x.id)).not.toContain(c.c3!.id);
  });

  describe("recording", () => {
    const recordingPath = (sid: string) => `/2010-04-01/Accounts/${ACCOUNT_SID}/Recordings/${sid}`;
    const withRecording = async (recording_url: string | null) => (await log(h.tenantId, { recording_url })).id;
    const get = (id: string, query = "", apiKey?: string) =>
      fetch(`${h.server.url}/calls/${id}/recording${query}`, { headers: { "x-api-key": apiKey ?? ADMIN_KEY } });

    it("streams the recording from Twilio with the tenant's credentials", async () => {
      const sid = recordingSid();
      const audio = randomBytes(10_000);
      twilio.recordings.set(sid, { audio });
      const id = await withRecording(twilio.url + recordingPath(sid));
      const res = await get(id);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toBe("audio/mpeg");
      expect(Buffer.from(await res.arrayBuffer())).toEqual(audio);
      const seen = twilio.requests.filter((r) => r.path.includes(sid));
      expect(seen).toEqual([
        { path: recordingPath(sid) + ".mp3", authorization: "Basic " + Buffer.from(`${ACCOUNT_SID}:${AUTH_TOKEN}`).toString("base64") },
      ]);

      const wav = await get(id, "?format=wav");
      expect(wav.headers.get("content-type")).toBe("audio/wav");
      expect(Buffer.from(await wav.arrayBuffer())).toEqual(audio);
      expect(twilio.requests.at(-1)?.path).toBe(recordingPath(sid) + ".wav");
      expect((await get(id, "?format=ogg")).status).toBe(422);
    });

    it("keeps a stored suffix, and fetches api.twilio.com URLs from the configured Twilio API origin", async () => {
      const sid = recordingSid();
      twilio.recordings.set(sid, { audio: Buffer.from("RIFF....WAVE") });
      const id = await withRecording(`https://api.twilio.com${recordingPath(sid)}.wav`);
      const res = await get(id);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toBe("audio/wav");
      expect(await res.text()).toBe("RIFF....WAVE");
      expect(twilio.requests.at(-1)?.path).toBe(recordingPath(sid) + ".wav");
    });

    it("streams rather than buffers: the first bytes arrive before Twilio has sent the rest", async () => {
      const sid = recordingSid();
      let release!: () => void;
      const audio = randomBytes(8192);
      twilio.recordings.set(sid, { audio, hold: new Promise<void>((resolve) => (release = resolve)) });
      const res = await get(await withRecording(twilio.url + recordingPath(sid)));
      expect(res.status).toBe(200);
      const reader = res.body!.getReader();
      const first = await reader.read();
      expect(first.done).toBe(false);
      release();
      const chunks = [Buffer.from(first.value)];
      for (let r = await reader.read(); !r.done; r = await reader.read()) chunks.push(Buffer.from(r.value));
      expect(Buffer.concat(chunks)).toEqual(audio);
    });

    it("is 404 without a recording, for another tenant's call, and for an unknown call", async () => {
      const none = await get(await withRecording(null));
      expect(none.status).toBe(404);
      expect(((await none.json()) as ErrorBody).message).toBe("recording not found");
      const sid = recordingSid();
      twilio.recordings.set(sid, { audio: Buffer.from("secret audio") });
      const id = await withRecording(twilio.url + recordingPath(sid));
      const before = twilio.requests.length;
      expect((await get(id, "", otherKey)).status).toBe(404);
      expect((await get("00000000-0000-4000-8000-000000000000")).status).toBe(404);
      expect((await get("not-a-uuid")).status).toBe(404);
      expect(twilio.requests.length).toBe(before);
    });

    it("never fetches a recording_url outside Twilio's API (SSRF)", async () => {
      let hits = 0;
      const elsewhere: Server = createServer((_req, res) => {
        hits++;
        res.end("internal secrets");
      });
      await new Promise<void>((resolve) => elsewhere.listen(0, "127.0.0.1", resolve));
      try {
        const other = `http://127.0.0.1:${(elsewhere.address() as AddressInfo).port}`;
        const sid = recordingSid();
        twilio.recordings.set(sid, { audio: Buffer.from("audio") });
        const refused = [
          other + recordingPath(sid),
          `http://api.twilio.com${recordingPath(sid)}`,
          `https://api.twilio.com.evil.test${recordingPath(sid)}`,
          `https://${ACCOUNT_SID}:${AUTH_TOKEN}@api.twilio.com${recordingPath(sid)}`,
          `${twilio.url}/2010-04-01/Accounts/${ACCOUNT_SID}/Calls.json`,
          `${twilio.url}${recordingPath(sid)}/../../Calls.json`,
          `${twilio.url}${recordingPath(sid)}.json`,
          "file:///etc/passwd",
          "not a url",
        ];
        const before = twilio.requests.length;
        for (const url of refused) {
          const res = await get(await withRecording(url));
          expect(res.status, url).toBe(404);
        }
        expect(hits).toBe(0);
        expect(twilio.requests.length).toBe(before);
      } finally {
        await new Promise<void>((resolve) => elsewhere.close(() => resolve()));
      }
    });

    it("answers 502 with a message when Twilio fails or cannot be reached", async () => {
      const missing = await get(await withRecording(twilio.url + recordingPath(recordingSid())));
      expect(missing.status).toBe(502);
      expect(((await missing.json()) as ErrorBody).message).toMatch(/^Twilio answered 404 for the recording: The requested resource .* was not found$/);

      const sid = recordingSid();
      twilio.recordings.set(sid, { audio: Buffer.from("x"), drop: true });
      const dropped = await get(await withRecording(twilio.url + recordingPath(sid)));
      expect(dropped.status).toBe(502);
      expect(((await dropped.json()) as ErrorBody).message).toBe("Twilio could not be reached for the recording");
    });
  });
});
