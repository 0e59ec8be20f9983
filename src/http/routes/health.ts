import type { FastifyInstance } from "fastify";

export interface HealthSource {
  draining(): boolean;
  storageReady(): boolean;
  liveCalls(): number;
  storage: string;
  bus: string;
  frameFaults(): Record<string, number>;
}

/**
 * `GET /health`: 200 while serving (status "starting" until storage is ready; requests wait for it), 503
 * while draining for shutdown so load balancers stop sending calls.
 */
export function healthRoute(app: FastifyInstance, source: HealthSource): void {
  app.get("/health", { schema: { tags: ["health"] }, logLevel: "warn" }, async (_req, reply) => {
    const draining = source.draining();
    return reply.code(draining ? 503 : 200).send({
      status: draining ? "draining" : source.storageReady() ? "ok" : "starting",
      live_calls: source.liveCalls(),
      storage: source.storage,
      storage_ready: source.storageReady(),
      bus: source.bus,
      frame_faults: source.frameFaults(),
    });
  });
}
