/** What the control plane's route modules are built from: one object, wired once in server.ts. */
import type { Kysely } from "kysely";
import type { Clock, SessionRegistry } from "../../sessions/index.js";
import type { Bus } from "../bus/index.js";
import type { CallFactory, ProviderRegistry } from "../calls/callFactory.js";
import type { Config } from "../config.js";
import type { Logger } from "../log.js";
import type { SessionTokens } from "../sessionToken.js";
import type { Database } from "../storage/index.js";

export interface AppServices {
  readonly config: Config;
  readonly db: Kysely<Database>;
  readonly log: Logger;
  readonly clock: Clock;
  readonly bus: Bus;
  readonly sessions: SessionRegistry;
  readonly calls: CallFactory;
  readonly providers: ProviderRegistry;
  /** Undefined when no session secret can be derived (no TWILIO_AUTH_TOKEN / SESSION_SECRET). */
  readonly tokens: SessionTokens | undefined;
}
