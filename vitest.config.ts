import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 20_000,
    hookTimeout: 30_000,
    // Real-time call simulations share 2 cores; keep parallelism modest so pacing stays honest.
    maxWorkers: 2,
    globalSetup: ["test/setup/pgSchemas.ts"],
  },
});
