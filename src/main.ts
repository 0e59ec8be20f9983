import { ConfigError, loadConfig } from "./config.js";
import { listenEarly } from "./http/earlyListener.js";
import { createLogger } from "./log.js";

/** Seconds a shutdown may take (live calls end, logs are written) before the process exits anyway. */
const SHUTDOWN_GRACE_MS = 10_000;

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`patchbay: ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  const log = createLogger(config.logLevel);
  // Last line of defence: a stray rejection from a provider or driver is logged, never fatal to live calls.
  process.on("unhandledRejection", (reason) => log.error({ err: reason }, "unhandled rejection"));
  // Open the port first so /health answers while the app's modules load (they grow with every provider SDK).
  const listener = await listenEarly(config.port, config.host).catch((err: unknown) => {
    process.stderr.write(`patchbay: cannot listen on ${config.host}:${config.port}: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
  const { startServer } = await import("./server.js");
  const server = await startServer(config, { log, listener }).catch((err: unknown) => {
    // Config that only shows itself bad once loaded (an unreadable SCRIPTED_SCRIPT) fails like the rest.
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`patchbay: ${err.message}\n`);
    process.exit(1);
  });
  log.info(
    {
      url: server.url,
      publicUrl: config.publicUrl,
      storage: server.store.kind,
      bus: server.bus.kind,
      providers: server.providers.names.filter((name) => server.providers.get(name) !== undefined),
      twilioVerification: config.twilio.authToken ? "on" : "off: set TWILIO_AUTH_TOKEN to accept calls",
    },
    "patchbay listening",
  );
  let bootstrap;
  try {
    bootstrap = await server.ready;
  } catch (err) {
    log.fatal({ err }, `storage failed to open (${server.store.kind}); check DATABASE_URL or DATA_DIR`);
    await server.close().catch(() => undefined);
    process.exit(1);
  }
  if (bootstrap.generatedKey) {
    // Shown once on purpose: the store keeps only its hash.
    process.stdout.write(
      `\nPatchbay generated an admin API key for tenant ${bootstrap.tenantId}. It is shown only now:\n\n  ${bootstrap.generatedKey}\n\nSet PATCHBAY_ADMIN_KEY to choose your own.\n\n`,
    );
  }
  log.info({ tenantId: bootstrap.tenantId, storage: server.store.kind }, "storage ready");

  const shutdown = (signal: string): void => {
    log.info({ signal, liveCalls: server.sessions.size }, "shutting down");
    setTimeout(() => process.exit(1), SHUTDOWN_GRACE_MS).unref();
    server.close().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.once("SIGTERM", shutdown);
  process.once("SIGINT", shutdown);
}

main().catch((err: unknown) => {
  process.stderr.write(`patchbay: failed to start: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exit(1);
});
