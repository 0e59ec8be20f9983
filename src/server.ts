import type { AddressInfo } from "node:net";
import type { FastifyInstance } from "fastify";
import { SessionRegistry, systemClock, type Clock } from "../sessions/index.js";
import { openBus, type Bus } from "./bus/index.js";
import { CallFactory, type ProviderRegistry } from "./calls/callFactory.js";
import type { Config } from "./config.js";
import { buildApp } from "./http/app.js";
import type { EarlyListener } from "./http/earlyListener.js";
import { healthRoute } from "./http/routes/health.js";
import type { Logger } from "./log.js";
import { initResamplers } from "../media/resample/index.js";
import { LocalVad } from "./localVad.js";
import { loadScriptedScript, providerRegistry } from "./providers.js";
import { SessionTokens, sessionSecretFrom } from "./sessionToken.js";
import { agentVadFields } from "./storage/agentSettings.js";
import { ensureBootstrapAdmin, startDatabase, type StartingDb } from "./storage/index.js";
import { attachMediaSocket, type MediaSocketServer } from "./twilio/mediaSocket.js";
import { voiceWebhookRoute } from "./twilio/voiceWebhook.js";
import { twilioCallbackRoutes } from "./twilio/callbacks.js";
import { twilioTransferRoutes } from "./twilio/transferRoutes.js";
import type { AppServices } from "./http/services.js";
import { twilioAuthTokenFor } from "./twilio/credentials.js";
import { isUuid } from "./storage/repos/shared.js";

/** A running Patchbay: what main() and the end-to-end tests hold. */
export interface RunningServer {
  readonly url: string;
  readonly config: Config;
  readonly app: FastifyInstance;
  readonly store: StartingDb;
  readonly bus: Bus;
  readonly sessions: SessionRegistry;
  readonly providers: ProviderRegistry;
  /** Resolves once storage is migrated and the bootstrap tenant exists; requests wait for it meanwhile. */
  readonly ready: Promise<Bootstrap>;
  /** Stop taking calls: /health and the voice webhook answer 503 so traffic moves elsewhere. */
  drain(): void;
  /** Drain, end live calls with their logs written, then close everything. */
  close(): Promise<void>;
}

export interface Bootstrap {
  tenantId: string;
  /** Set only on the first start without PATCHBAY_ADMIN_KEY: shown once, never stored in clear. */
  generatedKey?: string;
}

export interface StartOptions {
  log: Logger;
  clock?: Clock;
  /** A port main() opened before loading the app; without it the app listens itself. */
  listener?: EarlyListener;
}

/** Wires storage, bus, providers, HTTP and the media socket, and starts listening. */
export async function startServer(config: Config, opts: StartOptions): Promise<RunningServer> {
  const { log } = opts;
  const clock = opts.clock ?? systemClock;
  // Before anything opens: a script the operator named but that can't load is a startup error.
  const script = await loadScriptedScript(config, log);
  // Storage boots in the background (PGlite's first start takes seconds); /health answers meanwhile.
  let listening!: () => void;
  const bootAfter = new Promise<void>((resolve) => (listening = resolve));
  const store = startDatabase({
    databaseUrl: config.databaseUrl,
    dataDir: config.dataDir,
    log: (msg, extra) => log.info(extra ?? {}, msg),
    bootAfter,
  });
  const db = store.db;
  let storageReady = false;
  // speex's WASM compiles once per process. Without it μ-law calls still work; a PCM provider's call
  // ends with provider_format_unsupported, so a failure is logged, not fatal.
  const resamplersReady = initResamplers().then(
    () => undefined,
    (err: unknown) => log.error({ err }, "resamplers unavailable: calls to PCM providers will fail"),
  );
  // The local VAD loads with the rest; until it has (or if it can't), calls rely on the provider's own
  // speech events for barge-in.
  let localVad: LocalVad | null = null;
  const vadReady = LocalVad.load(config.localVad, config.vadMinSpeechMs, log).then(
    (vad) => {
      localVad = vad;
      if (vad) log.info({ vad: vad.kind }, "local VAD ready");
    },
    (err: unknown) => log.error({ err }, "local VAD unavailable: barge-in waits for the provider's speech events"),
  );
  const ready = Promise.all([store.ready, resamplersReady, vadReady]).then(async () => {
    const bootstrap = await ensureBootstrapAdmin(db, config.adminKey);
    storageReady = true;
    return bootstrap;
  });
  ready.catch(() => {});
  const bus = await openBus({ redisUrl: config.redisUrl, onError: (err) => log.error({ err }, "bus error") });
  const sessions = new SessionRegistry();
  const providers = providerRegistry(config, script);
  const secret = sessionSecretFrom(config.sessionSecret, config.twilio.authToken);
  const tokens = secret ? new SessionTokens(secret) : undefined;
  const calls = new CallFactory({ db, config, bus, providers, sessions, clock, log, vadFor: (agent) => localVad?.factory(agentVadFields(agent.settings)) });
  let draining = false;
  let media: MediaSocketServer | null = null;

  const services: AppServices = { config, db, log, clock, bus, sessions, calls, providers, tokens };
  const app = await buildApp({
    services,
    log,
    db,
    providerNames: providers.names,
    ready,
    server: opts.listener?.server,
    publicRoutes: (a) => {
      healthRoute(a, {
        draining: () => draining,
        storageReady: () => storageReady,
        liveCalls: () => sessions.size,
        storage: store.kind,
        bus: bus.kind,
        frameFaults: () => ({ ...media?.faults }),
      });
      voiceWebhookRoute(a, { config, db, tokens, providers, sessions, calls, draining: () => draining });
      twilioCallbackRoutes(a, services);
      twilioTransferRoutes(a, services);
    },
  });
  media = attachMediaSocket(app.server, {
    // A stream URL without a tenant (TwiML from before it carried one) is checked with the environment's token.
    authTokenFor: async (tenantId) =>
      tenantId !== undefined && isUuid(tenantId) ? twilioAuthTokenFor(db, config, tenantId) : config.twilio.authToken,
    publicUrl: config.publicUrl,
    tokens,
    calls,
    log,
  });
  try {
    if (opts.listener) {
      await app.ready();
      opts.listener.handOver((req, res) => app.routing(req, res));
    } else {
      await app.listen({ port: config.port, host: config.host });
    }
  } finally {
    listening();
  }
  const { port } = app.server.address() as AddressInfo;

  const drain = (): void => {
    draining = true;
  };
  let closing: Promise<void> | null = null;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      drain();
      await sessions.endAll();
      await media?.close();
      await app.close();
      // Fastify leaves a server it did not start listening to its owner.
      if (opts.listener && app.server.listening) {
        app.server.closeAllConnections();
        await new Promise<void>((resolve) => app.server.close(() => resolve()));
      }
      await bus.close();
      await ready.catch(() => undefined);
      await store.close();
    })());

  return { url: `http://${config.host}:${port}`, config, app, store, bus, sessions, providers, ready, drain, close };
}

