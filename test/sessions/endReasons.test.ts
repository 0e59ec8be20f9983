import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { END_REASONS } from "../../sessions/index.js";

describe("end-reason catalogue", () => {
  it("is documented, reason by reason, with the same status", () => {
    const doc = readFileSync(new URL("../../docs/ARCHITECTURE.md", import.meta.url), "utf8");
    for (const [reason, { status }] of Object.entries(END_REASONS)) {
      expect(doc, reason).toMatch(new RegExp(`\\| \`${reason}\` \\| ${status} \\|`));
    }
  });
});
