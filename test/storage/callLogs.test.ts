import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  applyCallStatus,
  batchCallLogs,
  ConflictError,
  createAgent,
  createCallLog,
  createTenant,
  findCallLogByCallSid,
  finishCallLog,
  getCallLog,
  listCallLogs,
  markCallInProgress,
  NotFoundError,
  toCallLogResponse,
  updateCallLog,
  type CallLogInput,
  type CallLogMatch,
  type Db,
  type TranscriptEntry,
} from "../../src/storage/index.js";
import { storageBackends } from "./backends.js";

let sidSeq = 0;
function inbound(overrides: Partial<CallLogInput> = {}): CallLogInput {
  return {
    twilio_call_sid: `CA${String(sidSeq++).padStart(32, "0")}`,
    direction: "inbound",
    from_number: "+15550000001",
    to_number: "+15550000002",
    status: "ringing",
    ...overrides,
  };
}

const transcript: TranscriptEntry[] = [
  { role: "agent", text: "Hi, this is Ava. How can I help?", at_ms: 120 },
  { role: "caller", text: "Ich möchte einen Termin — morgen? \"Quotes\" & emoji 🎧", at_ms: 3400 },
];

describe.each(storageBackends)("call logs on $kind", (backend) => {
  let store: Db;
  beforeAll(async () => {
    store = await backend.open();
  });
  afterAll(async () => {
    await store.close();
  });

  it("creates, reads back with the agent's name, and finds by call SID", async () => {
    const tenant = await createTenant(store.db, "acme");
    const agent = await createAgent(store.db, tenant.id, { name: "Ava", system_prompt: "p" });
    const created = await createCallLog(store.db, tenant.id, inbound({ agent_id: agent.id, voice_provider: "openai", metadata: { source: "test" } }));
    expect(created).toMatchObject({ tenant_id: tenant.id, status: "ringing", ended_at: null, transcript: [], metadata: { source: "test" } });
    expect(created.started_at).toBeInstanceOf(Date);

    const read = await getCallLog(store.db, tenant.id, created.id);
    expect(read?.agent_name).toBe("Ava");
    expect((await findCallLogByCallSid(store.db, tenant.id, created.twilio_call_sid))?.id).toBe(created.id);
    expect(await findCallLogByCallSid(store.db, tenant.id, "CA-unknown")).toBeNull();

    const response = toCallLogResponse(read ?? created);
    expect(response).toMatchObject({ agent_name: "Ava", direction: "inbound", ended_at: null, started_at: created.started_at.toISOString() });
    expect(JSON.parse(JSON.stringify(response))).toEqual(response);
  });

  it("refuses a second log for the same call SID in a tenant, but not across tenants", async () => {
    const a = await createTenant(store.db, "a");
    const b = await createTenant(store.db, "b");
    const input = inbound();
    await createCallLog(store.db, a.id, input);
    await expect(createCallLog(store.db, a.id, input)).rejects.toBeInstanceOf(ConflictError);
    await expect(createCallLog(store.db, b.id, input)).resolves.toMatchObject({ tenant_id: b.id });
  });

  it("round-trips a transcript exactly", async () => {
    const tenant = await createTenant(store.db, "acme");
    const log = await createCallLog(store.db, tenant.id, inbound());
    await updateCallLog(store.db, tenant.id, log.id, { transcript });
    expect((await getCallLog(store.db, tenant.id, log.id))?.transcript).toEqual(transcript);
  });

  it("merges metadata on update and leaves other columns alone", async () => {
    const tenant = await createTenant(store.db, "acme");
    const log = await createCallLog(store.db, tenant.id, inbound({ metadata: { a: 1, nested: { x: true } } }));
    const updated = await updateCallLog(store.db, tenant.id, log.id, { status: "in-progress", metadata: { stream_sid: "MZ1", a: 2 } });
    expect(updated.status).toBe("in-progress");
    expect(updated.metadata).toEqual({ a: 2, nested: { x: true }, stream_sid: "MZ1" });
    expect(updated.from_number).toBe(log.from_number);
    expect((await updateCallLog(store.db, tenant.id, log.id, {})).status).toBe("in-progress");
    await expect(updateCallLog(store.db, tenant.id, "00000000-0000-4000-8000-000000000000", { status: "x" })).rejects.toBeInstanceOf(NotFoundError);
  });

  it("finishes once: a second finish keeps ended_at, status and transcript but merges metadata", async () => {
    const tenant = await createTenant(store.db, "acme");
    const log = await createCallLog(store.db, tenant.id, inbound({ metadata: { stream_sid: "MZ1" } }));
    const endedAt = new Date("2025-01-02T03:04:05.678Z");
    const first = await finishCallLog(store.db, tenant.id, log.id, {
      status: "completed",
      endedAt,
      durationSeconds: 42,
      transcript,
      metadata: { end_reason: "caller_hangup" },
    });
    expect(first).toMatchObject({ status: "completed", duration_seconds: 42, transcript, metadata: { stream_sid: "MZ1", end_reason: "caller_hangup" } });
    expect(first.ended_at?.toISOString()).toBe(endedAt.toISOString());

    const second = await finishCallLog(store.db, tenant.id, log.id, {
      status: "failed",
      endedAt: new Date("2030-01-01T00:00:00Z"),
      durationSeconds: 99,
      transcript: [],
      metadata: { twilio_status: "completed" },
    });
    expect(second).toMatchObject({ status: "completed", duration_seconds: 42, transcript });
    expect(second.ended_at?.toISOString()).toBe(endedAt.toISOString());
    expect(second.metadata).toEqual({ stream_sid: "MZ1", end_reason: "caller_hangup", twilio_status: "completed" });
    expect(toCallLogResponse(second).ended_at).toBe("2025-01-02T03:04:05.678Z");
  });

  it("writes off a never-streamed call only while it still says ringing", async () => {
    const tenantId = (await createTenant(store.db, "write-off")).id;
    const done = { status: "failed", endedAt: new Date(), durationSeconds: 30, transcript: [], metadata: { end_reason: "media_timeout" } };
    const idle = await createCallLog(store.db, tenantId, inbound());
    expect(await finishCallLog(store.db, tenantId, idle.id, done, { onlyIfRinging: true })).toMatchObject({ status: "failed" });
    // Another instance picked the stream up: the write-off must leave the live call alone.
    const live = await createCallLog(store.db, tenantId, inbound());
    await markCallInProgress(store.db, tenantId, live.id, "MZ1");
    expect(await finishCallLog(store.db, tenantId, live.id, done, { onlyIfRinging: true })).toBeNull();
    expect(await getCallLog(store.db, tenantId, live.id)).toMatchObject({ status: "in-progress", ended_at: null, metadata: { stream_sid: "MZ1" } });
    // Twilio's "in-progress" status callback is not a stream: a placed call that never streamed is still written off.
    const answered = await createCallLog(store.db, tenantId, inbound());
    await applyCallStatus(store.db, tenantId, answered.twilio_call_sid, { status: "in-progress", at: new Date(), durationSeconds: null });
    expect(await finishCallLog(store.db, tenantId, answered.id, done, { onlyIfRinging: true })).toMatchObject({ status: "failed" });
  });

  it("never reopens a finished log when a late in-progress mark lands", async () => {
    const tenantId = (await createTenant(store.db, "late-mark")).id;
    const row = await createCallLog(store.db, tenantId, inbound());
    await finishCallLog(store.db, tenantId, row.id, { status: "completed", endedAt: new Date(), durationSeconds: 1, transcript: [], metadata: {} });
    await markCallInProgress(store.db, tenantId, row.id, "MZ2");
    expect(await getCallLog(store.db, tenantId, row.id)).toMatchObject({ status: "completed" });
  });

  it("fills a still-empty transcript on a later finish", async () => {
    const tenant = await createTenant(store.db, "acme");
    const log = await createCallLog(store.db, tenant.id, inbound());
    const outcome = { status: "completed", endedAt: new Date(), durationSeconds: 3, metadata: {} };
    await finishCallLog(store.db, tenant.id, log.id, { ...outcome, transcript: [] });
    const filled = await finishCallLog(store.db, tenant.id, log.id, { ...outcome, transcript });
    expect(filled.transcript).toEqual(transcript);
  });

  it("lists newest first with filters, pagination and a total of all matches", async () => {
    const tenant = await createTenant(store.db, "acme");
    const other = await createTenant(store.db, "other");
    const agent = await createAgent(store.db, tenant.id, { name: "Ava", system_prompt: "p" });
    const base = Date.parse("2025-06-01T12:00:00Z");
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) {
      const log = await createCallLog(
        store.db,
        tenant.id,
        inbound({
          started_at: new Date(base + i * 60_000),
          direction: i % 2 === 0 ? "inbound" : "outbound",
          status: i < 5 ? "completed" : "failed",
          agent_id: i < 3 ? agent.id : null,
        }),
      );
      ids.push(log.id);
    }
    await createCallLog(store.db, other.id, inbound());
    const newestFirst = [...ids].reverse();

    const page1 = await listCallLogs(store.db, tenant.id, { limit: 3, offset: 0 });
    expect(page1.total).toBe(7);
    expect(page1.calls.map((c) => c.id)).toEqual(newestFirst.slice(0, 3));
    const page3 = await listCallLogs(store.db, tenant.id, { limit: 3, offset: 6 });
    expect(page3.calls.map((c) => c.id)).toEqual(newestFirst.slice(6));
    expect((await listCallLogs(store.db, tenant.id, { limit: 3, offset: 30 })).total).toBe(7);

    expect((await listCallLogs(store.db, tenant.id, { limit: 50, offset: 0, direction: "outbound" })).total).toBe(3);
    expect((await listCallLogs(store.db, tenant.id, { limit: 50, offset: 0, status: "failed" })).total).toBe(2);
    const byAgent = await listCallLogs(store.db, tenant.id, { limit: 2, offset: 0, agentId: agent.id });
    expect(byAgent.total).toBe(3);
    expect(byAgent.calls.every((c) => c.agent_name === "Ava")).toBe(true);
    const combined = await listCallLogs(store.db, tenant.id, { limit: 50, offset: 0, agentId: agent.id, direction: "inbound", status: "completed" });
    expect(combined.calls.map((c) => c.id)).toEqual([ids[2], ids[0]]);
    expect(await listCallLogs(store.db, tenant.id, { limit: 50, offset: 0, agentId: "nope" })).toEqual({ calls: [], total: 0 });
  });

  it("filters on started_at bounds: from inclusive, to inclusive, before exclusive", async () => {
    const tenant = await createTenant(store.db, "dates");
    const at = (iso: string) => createCallLog(store.db, tenant.id, inbound({ started_at: iso }));
    const may31 = await at("2025-05-31T23:59:59.999Z");
    const jun1 = await at("2025-06-01T00:00:00Z");
    const jun1noon = await at("2025-06-01T12:00:00Z");
    const jun2 = await at("2025-06-02T00:00:00Z");
    const ids = async (match: CallLogMatch) => (await listCallLogs(store.db, tenant.id, { ...match, limit: 50, offset: 0 })).calls.map((c) => c.id);

    expect(await ids({ startedFrom: new Date("2025-06-01T00:00:00Z") })).toEqual([jun2.id, jun1noon.id, jun1.id]);
    expect(await ids({ startedTo: new Date("2025-06-01T12:00:00Z") })).toEqual([jun1noon.id, jun1.id, may31.id]);
    expect(await ids({ startedFrom: new Date("2025-06-01T00:00:00Z"), startedBefore: new Date("2025-06-02T00:00:00Z") })).toEqual([
      jun1noon.id,
      jun1.id,
    ]);
  });

  it("exports in keyset batches that cover every row once, ties and microseconds included", async () => {
    const tenant = await createTenant(store.db, "keyset");
    const other = await createTenant(store.db, "keyset-other");
    // Three rows share a timestamp (the id breaks the tie); two differ only below the millisecond,
    // which a cursor kept as a JS Date would round together and skip.
    const stamps = [
      "2025-06-01 12:00:00+00",
      "2025-06-01 12:00:00+00",
      "2025-06-01 12:00:00+00",
      "2025-06-01 12:00:00.000100+00",
      "2025-06-01 12:00:00.000200+00",
      "2025-06-01 11:00:00+00",
      "2025-06-01 13:00:00+00",
    ];
    for (const started_at of stamps) await createCallLog(store.db, tenant.id, inbound({ started_at, status: "completed" }));
    await createCallLog(store.db, other.id, inbound({ started_at: "2025-06-01 12:30:00+00" }));
    const expected = (await listCallLogs(store.db, tenant.id, { limit: 50, offset: 0 })).calls.map((c) => c.id);
    expect(expected).toHaveLength(stamps.length);

    for (const size of [1, 2, 3, 7, 100]) {
      const batches: string[][] = [];
      for await (const batch of batchCallLogs(store.db, tenant.id, {}, size)) {
        expect(batch.length).toBeLessThanOrEqual(size);
        batches.push(batch.map((c) => c.id));
      }
      expect(batches.flat(), `batch size ${size}`).toEqual(expected);
    }
    const first = await batchCallLogs(store.db, tenant.id, {}, 50).next();
    expect(first.value?.[0]).not.toHaveProperty("cursor_started_at");
    const filtered: string[] = [];
    for await (const batch of batchCallLogs(store.db, tenant.id, { startedTo: new Date("2025-06-01T12:00:00Z") }, 2)) filtered.push(...batch.map((c) => c.id));
    expect(filtered).toEqual(expected.slice(-4));
    const none: unknown[] = [];
    for await (const batch of batchCallLogs(store.db, tenant.id, { agentId: "not-a-uuid" }, 2)) none.push(batch);
    expect(none).toEqual([]);
  });

  it("has the indexes that serve the list and export filters", async () => {
    const { rows } = await sql<{ indexname: string; indexdef: string }>`
      select indexname, indexdef from pg_indexes where tablename = 'call_logs' and schemaname = current_schema()`.execute(store.db);
    const names = rows.map((r) => r.indexname);
    expect(names).toEqual(
      expect.arrayContaining([
        "call_logs_tenant_started_id_idx",
        "call_logs_agent_started_id_idx",
        "call_logs_tenant_status_started_id_idx",
        "call_logs_phone_number_idx",
      ]),
    );
    expect(names).not.toContain("call_logs_tenant_started_idx");
  });
});
