import { describe, expect, it } from "vitest";
import { PROVIDER_NAMES } from "../../src/providers.js";
import { CONFORMANCE_PROVIDERS } from "./providers.js";

describe("provider conformance coverage", () => {
  it("runs the suite for every provider an agent can choose", () => {
    expect(Object.keys(CONFORMANCE_PROVIDERS).sort()).toEqual([...PROVIDER_NAMES].sort());
  });
});
