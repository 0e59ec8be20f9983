/**
 * `npm run bench:media`: µs per 20 ms frame for every piece of the media core and the whole frame path,
 * printed as a table and written as JSON (`--json PATH`, default out/bench-media.json). Bounded: about
 * a minute on the 2-core CI machine.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { dirname } from "node:path";
import { parseArgs } from "node:util";
import { benchBeep } from "./media/beep.js";
import { benchCodecs } from "./media/codecs.js";
import { benchFramePath } from "./media/framePath.js";
import type { BenchRow } from "./media/measure.js";
import { benchResamplers } from "./media/resample.js";
import { benchVad } from "./media/vad.js";

/** Issue floor: the whole per-call media work for a PCM provider, VAD batched at 32 calls. */
const PCM_PATH_FLOOR_US = 60;

const { values } = parseArgs({ options: { json: { type: "string", default: "out/bench-media.json" } } });

const sections: { title: string; rows: BenchRow[] }[] = [];
const step = async (title: string, run: () => BenchRow[] | Promise<BenchRow[]>): Promise<void> => {
  process.stderr.write(`  measuring ${title}…\n`);
  const t0 = performance.now();
  sections.push({ title, rows: await run() });
  process.stderr.write(`  ${title}: done in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
};

await step("G.711 codecs", () => benchCodecs());
await step("resamplers", () => benchResamplers());
await step("local VAD", () => benchVad());
await step("beep detector", () => benchBeep());
let pcmTotalAt32 = NaN;
await step("whole frame path", async () => {
  const r = await benchFramePath();
  pcmTotalAt32 = r.pcmTotalAt32;
  return r.rows;
});

const width = Math.max(...sections.flatMap((s) => s.rows.map((r) => r.name.length)));
const lines: string[] = [`media benchmark — µs per 20 ms frame (${cpus().length} cores, Node ${process.version})`];
for (const s of sections) {
  lines.push("", s.title);
  for (const r of s.rows) lines.push(`  ${r.name.padEnd(width)}  ${r.usPerFrame.toFixed(2).padStart(8)}${r.notes ? `   ${r.notes}` : ""}`);
}
const verdict = pcmTotalAt32 <= PCM_PATH_FLOOR_US ? "within" : "OVER";
lines.push("", `per-call media work, PCM provider, VAD batched at 32 calls: ${pcmTotalAt32.toFixed(1)} µs per frame (${verdict} the ${PCM_PATH_FLOOR_US} µs floor)`);
console.log(lines.join("\n"));

mkdirSync(dirname(values.json), { recursive: true });
writeFileSync(
  values.json,
  JSON.stringify({ node: process.version, cores: cpus().length, at: new Date().toISOString(), pcmTotalAt32, floorUs: PCM_PATH_FLOOR_US, sections }, null, 2) + "\n",
);
process.stderr.write(`  wrote ${values.json}\n`);
if (!(pcmTotalAt32 <= PCM_PATH_FLOOR_US)) process.exitCode = 1;
