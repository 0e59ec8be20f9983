import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApiKey, createCallLog, createTenant, type CallLogInput } from "../../src/storage/index.js";
import { startHarness, type Harness } from "./harness.js";

const COLUMNS = [
  "id", "started_at", "ended_at", "duration_seconds", "direction", "status", "from_number", "to_number", "agent_id", "agent_name",
  "phone_number_id", "twilio_call_sid", "voice_provider", "amd_status", "recording_url", "transcript", "metadata",
];

/** An incremental RFC 4180 reader: feed it text in any split, get whole records back. */
class CsvReader {
  #field = "";
  #record: string[] = [];
  #quoted = false;
  // Inside quotes, a quote ends the field unless another follows: "" is an escaped quote.
  #quotePending = false;
  constructor(private readonly onRecord: (fields: string[]) => void) {}

  feed(text: string): void {
    for (const ch of text) {
      if (this.#quoted) {
        if (this.#quotePending) {
          this.#quotePending = false;
          if (ch === '"') {
            this.#field += '"';
            continue;
          }
          this.#quoted = false;
        } else {
          if (ch === '"') this.#quotePending = true;
          else this.#field += ch;
          continue;
        }
      }
      if (ch === '"') this.#quoted = true;
      else if (ch === ",") this.#endField();
      else if (ch === "\n") {
        this.#endField();
        this.onRecord(this.#record);
        this.#record = [];
      } else if (ch !== "\r") this.#field += ch;
    }
  }

  #endField(): void {
    this.#record.push(this.#field);
    this.#field = "";
  }
}

function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  new CsvReader((r) => records.push(r)).feed(text);
  return records;
}

/** global.gc when node runs with --expose-gc, else V8's gc exposed now; undefined if neither works. */
function gcFunction(): (() => void) | undefined {
  if (typeof globalThis.gc === "function") return () => globalThis.gc?.();
  try {
    setFlagsFromString("--expose-gc");
    return runInNewContext("gc") as () => void;
  } catch {
    return undefined;
  }
}

describe("GET /calls/export", () => {
  let h: Harness;
  let key: string;
  let otherKey: string;
  let agentId: string;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    h = await startHarness();
    const db = h.server.store.db;
    const tenant = await createTenant(db, "export");
    key = (await createApiKey(db, tenant.id, { name: "export" })).key;
    otherKey = (await createApiKey(db, (await createTenant(db, "other")).id, { name: "other" })).key;
    agentId = (await h.api<{ id: string }>("POST", "/agents", { name: "=2+5", system_prompt: "p" }, key)).body.id;
    const log = async (input: Partial<CallLogInput>) =>
      (
        await createCallLog(db, tenant.id, {
          twilio_call_sid: `CA${Math.random().toString(16).slice(2)}`,
          direction: "inbound",
          from_number: "+15550000001",
          to_number: "+15550000002",
          status: "completed",
          ...input,
        })
      ).id;
    ids.quoted = await log({
      started_at: "2025-06-01T08:00:00Z",
      ended_at: "2025-06-01T08:01:00Z",
      duration_seconds: 60,
      transcript: [
        { role: "agent", text: 'Hello, "friend"\nsecond line', at_ms: 0 },
        { role: "caller", text: '=HYPERLINK("http://evil.test")', at_ms: 800 },
      ],
      metadata: { note: "a,b", end_reason: "stream_stopped" },
    });
    ids.formula = await log({ started_at: "2025-06-02T08:00:00Z", from_number: "@SUM(A1)", to_number: "-2+3", status: "failed", agent_id: agentId });
  });
  afterAll(async () => h?.close());

  const exportCsv = (query = "", apiKey = key) => fetch(`${h.server.url}/calls/export${query}`, { headers: { "x-api-key": apiKey } });

  it("answers a CSV attachment, not the /calls/:id route", async () => {
    const res = await exportCsv();
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/csv; charset=utf-8");
    expect(res.headers.get("content-disposition")).toMatch(/^attachment; filename="calls-\d{4}-\d{2}-\d{2}\.csv"$/);
    const text = await res.text();
    expect(text.startsWith(COLUMNS.join(",") + "\r\n")).toBe(true);
    expect(text.endsWith("\r\n")).toBe(true);
    const [header, ...rows] = parseCsv(text);
    expect(header).toEqual(COLUMNS);
    expect(rows.map((r) => r[0])).toEqual([ids.formula, ids.quoted]);
  });

  it("quotes per RFC 4180 and defuses cells that would start a formula", async () => {
    const text = await (await exportCsv()).text();
    // Quotes doubled, the newline kept inside the quoted field.
    expect(text).toContain('"agent: Hello, ""friend""\nsecond line\ncaller: =HYPERLINK(""http://evil.test"")"');
    const rows = parseCsv(text).slice(1).map((r) => Object.fromEntries(COLUMNS.map((c, i) => [c, r[i]])));
    const [formula, quoted] = rows;
    expect(formula).toMatchObject({ from_number: "'@SUM(A1)", to_number: "'-2+3", agent_name: "'=2+5", agent_id: agentId, status: "failed" });
    expect(quoted).toMatchObject({
      id: ids.quoted,
      started_at: "2025-06-01T08:00:00.000Z",
      ended_at: "2025-06-01T08:01:00.000Z",
      duration_seconds: "60",
      from_number: "'+15550000001",
      agent_name: "",
      transcript: 'agent: Hello, "friend"\nsecond line\ncaller: =HYPERLINK("http://evil.test")',
    });
    expect(JSON.parse(quoted!.metadata!)).toEqual({ note: "a,b", end_reason: "stream_stopped" });
  });

  it("takes the list's filters, and 422s naming a bad one", async () => {
    const only = async (query: string) => parseCsv(await (await exportCsv(query)).text()).slice(1).map((r) => r[0]);
    expect(await only("?status=failed")).toEqual([ids.formula]);
    expect(await only(`?agent_id=${agentId}`)).toEqual([ids.formula]);
    expect(await only("?date_from=2025-06-01&date_to=2025-06-01")).toEqual([ids.quoted]);
    expect(await only("?direction=outbound")).toEqual([]);
    for (const [query, loc] of [
      ["?date_from=June", "querystring.date_from"],
      ["?date_from=2025-06-02&date_to=2025-06-01T23:00:00Z", "querystring.date_to"],
      ["?agent_id=x", "querystring.agent_id"],
      ["?limit=5", "querystring.limit"],
    ]) {
      const res = await exportCsv(query);
      expect(res.status, query).toBe(422);
      const body = (await res.json()) as { detail: { loc: string[] }[] };
      expect(body.detail.map((d) => d.loc.join(".")), query).toContain(loc);
    }
  });

  it("exports only the caller's tenant, and needs a key", async () => {
    expect(parseCsv(await (await exportCsv("", otherKey)).text())).toEqual([COLUMNS]);
    expect((await fetch(`${h.server.url}/calls/export`)).status).toBe(401);
  });

  it("streams 100,000 calls with flat memory", { timeout: 90_000 }, async () => {
    const ROWS = 100_000;
    const db = h.server.store.db;
    const tenant = await createTenant(db, "bulk");
    const bulkKey = (await createApiKey(db, tenant.id, { name: "bulk" })).key;
    // One statement. Rows of ~900 bytes, so holding the export in memory would show as ~90 MB;
    // timestamps shared by three rows (the id breaks ties) and apart below the millisecond.
    await sql`
      insert into call_logs (tenant_id, twilio_call_sid, direction, from_number, to_number, status, started_at, duration_seconds, transcript, metadata)
      select ${tenant.id}::uuid, 'CA' || lpad(g::text, 32, '0'), 'inbound', '+15550000001', '+15550000002', 'completed',
        timestamptz '2025-01-01 00:00:00+00' + (g / 3) * interval '1 second' + (g % 7) * interval '1 microsecond', 30,
        jsonb_build_array(
          jsonb_build_object('role', 'agent', 'text', 'Hello, "caller" number ' || g || '. ' || repeat('How can I help you today? ', 24), 'at_ms', 0),
          jsonb_build_object('role', 'caller', 'text', E'=cmd|'' /C calc''!A0\nsecond line', 'at_ms', 900)),
        jsonb_build_object('n', g, 'end_reason', 'stream_stopped')
      from generate_series(1, ${ROWS}::int) g`.execute(db);
    // PGlite has no autovacuum: give the planner the statistics PostgreSQL's would have gathered by now.
    await sql`analyze call_logs`.execute(db);

    const gc = gcFunction();
    const heap = () => {
      gc?.();
      return process.memoryUsage().heapUsed;
    };
    const baseline = heap();
    let peak = baseline;
    let records = 0;
    let sum = 0;
    let header: string[] | undefined;
    const reader = new CsvReader((r) => {
      if (header === undefined) header = r;
      else {
        records++;
        sum += (JSON.parse(r[16]!) as { n: number }).n;
      }
    });

    const started = performance.now();
    const res = await exportCsv("", bulkKey);
    expect(res.status).toBe(200);
    const decoder = new TextDecoder();
    let sinceSample = 0;
    let bytes = 0;
    for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
      reader.feed(decoder.decode(chunk, { stream: true }));
      bytes += chunk.byteLength;
      sinceSample += chunk.byteLength;
      // Sampling every MB keeps forced collections to a few dozen.
      if (sinceSample >= 1 << 20) {
        sinceSample = 0;
        peak = Math.max(peak, heap());
      }
    }
    reader.feed(decoder.decode());
    peak = Math.max(peak, heap());
    const growthMb = (peak - baseline) / 2 ** 20;
    console.log(
      `export: ${records} rows, ${(bytes / 2 ** 20).toFixed(1)} MB in ${((performance.now() - started) / 1000).toFixed(1)} s; heap growth ${growthMb.toFixed(1)} MB (gc ${gc ? "forced" : "unavailable"})`,
    );

    expect(header).toEqual(COLUMNS);
    expect(records).toBe(ROWS);
    // Every n once: a skipped and a repeated row would have to cancel out exactly to pass both.
    expect(sum).toBe((ROWS * (ROWS + 1)) / 2);
    expect(growthMb).toBeLessThan(50);
  });
});
