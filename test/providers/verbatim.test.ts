/** The verbatim wording and its parser are one pair: what `say` sends, the fakes read back. */
import { describe, expect, it } from "vitest";
import { verbatimInstruction, verbatimText } from "../../providers/verbatim.js";

describe("verbatimText", () => {
  it("reads back the line of a verbatimInstruction, quotes, newlines and surrounding whitespace included", () => {
    for (const line of ["We open at nine.", 'She said "hi".', "Two\nlines", ""]) {
      expect(verbatimText(verbatimInstruction(line))).toBe(line);
      expect(verbatimText(`  ${verbatimInstruction(line)}\n`)).toBe(line);
    }
  });

  it("is null for any other instructions", () => {
    for (const other of [null, undefined, "", "Say hello.", 'Say exactly this, word for word, and nothing else: hi', 'Say exactly this, word for word, and nothing else: "']) {
      expect(verbatimText(other)).toBeNull();
    }
  });
});
