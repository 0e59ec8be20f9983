// One file per provider so vitest runs providers in parallel; the cases live in suite.ts.
import { CONFORMANCE_PROVIDERS } from "./providers.js";
import { conformanceSuite } from "./suite.js";

conformanceSuite("scripted", CONFORMANCE_PROVIDERS["scripted"]!);
