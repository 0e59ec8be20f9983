/** Checks a URL someone else's server (Twilio, us) will fetch on a tenant's behalf: https, public host only. */
import { isIP } from "node:net";
import { isBlockedAddress } from "../net/addresses.js";
import { hostKey } from "../net/safeRequest.js";

// Names that resolve to this host or a private network by convention.
const PRIVATE_SUFFIXES = [".localhost", ".local", ".internal", ".lan", ".home.arpa"];

/**
 * Why the URL may not be fetched, or null when it may. Lexical only: a public name that resolves to a
 * private address is for the fetcher to refuse at connect time.
 */
export function publicHttpsUrlProblem(value: string): string | null {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return "must be an absolute URL";
  }
  if (url.protocol !== "https:") return "must use https";
  if (url.username !== "" || url.password !== "") return "must not carry credentials";
  // WHATWG parsing has already normalised 0x7f.1 and 2130706433 to 127.0.0.1.
  const host = hostKey(url);
  // The same address rules the fetch applies at connect time (src/net/addresses.ts).
  if (isIP(host) !== 0) return isBlockedAddress(host) ? "must not point at a private, loopback or link-local address" : null;
  if (!host.includes(".") || PRIVATE_SUFFIXES.some((suffix) => host.endsWith(suffix))) {
    return "must name a public host";
  }
  return null;
}
