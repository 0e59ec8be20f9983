/** Checks a URL someone else's server (Twilio, us) will fetch on a tenant's behalf: https, public host only. */
import { BlockList, isIP } from "node:net";

// Addresses a fetch must never reach: this host, private networks, link-local (cloud metadata), and the like.
const PRIVATE = new BlockList();
for (const [net, prefix] of [
  ["0.0.0.0", 8],
  ["10.0.0.0", 8],
  ["100.64.0.0", 10],
  ["127.0.0.0", 8],
  ["169.254.0.0", 16],
  ["172.16.0.0", 12],
  ["192.0.0.0", 24],
  ["192.168.0.0", 16],
  ["198.18.0.0", 15],
  ["224.0.0.0", 4],
  ["240.0.0.0", 4],
] as const) {
  PRIVATE.addSubnet(net, prefix, "ipv4");
}
for (const [net, prefix] of [
  // Unspecified, loopback and the old IPv4-compatible form.
  ["::", 96],
  ["fc00::", 7],
  ["fe80::", 10],
  ["ff00::", 8],
] as const) {
  PRIVATE.addSubnet(net, prefix, "ipv6");
}

// Names that resolve to this host or a private network by convention.
const PRIVATE_SUFFIXES = [".localhost", ".local", ".internal", ".lan", ".home.arpa"];

/** An IPv4 address embedded in an IPv6 one (`::ffff:10.0.0.1`, which URL parsing writes as `::ffff:a00:1`). */
function embeddedIpv4(ipv6: string): string | undefined {
  const match = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(ipv6);
  if (match === null) return undefined;
  const [hi, lo] = [parseInt(match[1]!, 16), parseInt(match[2]!, 16)];
  return [hi >> 8, hi & 255, lo >> 8, lo & 255].join(".");
}

function isPrivateAddress(host: string): boolean {
  const family = isIP(host);
  if (family === 4) return PRIVATE.check(host, "ipv4");
  const mapped = embeddedIpv4(host);
  if (mapped !== undefined) return PRIVATE.check(mapped, "ipv4");
  return PRIVATE.check(host, "ipv6");
}

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
  const host = url.hostname.toLowerCase().replace(/^\[|\]$/g, "").replace(/\.$/, "");
  if (isIP(host) !== 0) return isPrivateAddress(host) ? "must not point at a private, loopback or link-local address" : null;
  if (!host.includes(".") || PRIVATE_SUFFIXES.some((suffix) => host.endsWith(suffix))) {
    return "must name a public host";
  }
  return null;
}
