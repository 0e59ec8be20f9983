/** The bus's public face: `openBus` picks Redis when a URL is configured, in-process otherwise. */
import { createInProcessBus, type InProcessBus } from "./inProcess.js";
import type { RedisBus } from "./redis.js";
import type { BusOptions } from "./types.js";

export { createInProcessBus, InProcessBus } from "./inProcess.js";
export type { RedisBus } from "./redis.js";
export { BusError, type Bus, type BusErrorCode, type BusHandler, type BusKind, type BusOptions, type BusStats } from "./types.js";

export interface OpenBusOptions extends BusOptions {
  /** Redis connection URL; absent or empty → in-process bus (single instance). */
  redisUrl?: string;
}

export async function openBus(opts: OpenBusOptions = {}): Promise<InProcessBus | RedisBus> {
  const { redisUrl, ...busOptions } = opts;
  if (redisUrl === undefined || redisUrl === "") return createInProcessBus(busOptions);
  // Loaded only when configured: a single-instance start shouldn't pay for ioredis.
  const { createRedisBus } = await import("./redis.js");
  return createRedisBus(redisUrl, busOptions);
}
