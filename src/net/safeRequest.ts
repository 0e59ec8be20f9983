/**
 * One outbound HTTP(S) request to a URL a tenant gave us (function webhooks, voicemail audio), safe
 * against SSRF: the host is resolved by our own `lookup`, and the connection is refused when ANY of
 * its addresses is private, loopback, link-local and the like (addresses.ts) — unless the URL's host is
 * in `allowHosts` (SSRF_ALLOW_HOSTS). The socket then connects to the address that was checked, so a
 * name that resolves differently a moment later (DNS rebinding) cannot slip through. Redirects are
 * not followed; one deadline covers lookup, connect and the whole response; the body is capped.
 */
import { lookup as dnsLookup, type LookupAddress } from "node:dns";
import http, { type ClientRequest, type IncomingHttpHeaders, type IncomingMessage } from "node:http";
import https from "node:https";
import { isIP, type LookupFunction } from "node:net";
import { isBlockedAddress } from "./addresses.js";

export type SafeRequestErrorCode = "blocked_address" | "timeout" | "too_large" | "network" | "bad_url";

/** Why a safe request failed; `message` says what to change. */
export class SafeRequestError extends Error {
  override readonly name = "SafeRequestError";
  /** A timeout or network failure may pass on retry; a refused address, bad URL or oversize body will not. */
  readonly retryable: boolean;
  constructor(
    readonly code: SafeRequestErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.retryable = code === "timeout" || code === "network";
  }
}

export interface SafeRequestOptions {
  method: string;
  headers?: Readonly<Record<string, string>>;
  body?: string | Buffer;
  /** Deadline for the whole exchange: lookup, connect, headers and body. */
  timeoutMs: number;
  /** Longest response body accepted; a longer one fails with `too_large`. */
  maxBytes: number;
  /** Lower-cased host names or IP literals that may resolve to (or be) private addresses. */
  allowHosts: ReadonlySet<string>;
  /** Aborting rejects with the signal's reason, like fetch. */
  signal?: AbortSignal;
}

export interface SafeResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  durationMs: number;
}

/** The URL's host as allowHosts spells it: lower-case, no brackets, no trailing dot. */
export function hostKey(url: URL): string {
  return url.hostname.toLowerCase().replace(/^\[|\]$/g, "").replace(/\.$/, "");
}

function parseUrl(raw: string | URL): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new SafeRequestError("bad_url", `not an absolute URL: ${String(raw).slice(0, 200)}`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new SafeRequestError("bad_url", `only http and https URLs can be requested, not ${url.protocol}`);
  }
  if (url.username !== "" || url.password !== "") {
    throw new SafeRequestError("bad_url", "the URL carries credentials; send them in a header (Authorization) instead");
  }
  return url;
}

const blocked = (host: string, address: string): SafeRequestError =>
  new SafeRequestError(
    "blocked_address",
    `${host} resolves to ${address}, a private, loopback or link-local address; ` +
      "use a public URL, or have the server's operator list the host in SSRF_ALLOW_HOSTS",
  );

/** A `lookup` for node:net that refuses a name when any of its addresses is blocked. */
function checkedLookup(host: string, allowed: boolean): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { all: true, family: options.family ?? 0, hints: options.hints ?? 0 }, (err, addresses: LookupAddress[]) => {
      if (err) return callback(new SafeRequestError("network", `could not resolve ${host}: ${err.code ?? err.message}`, { cause: err }), "", 0);
      const bad = allowed ? undefined : addresses.find((a) => isBlockedAddress(a.address));
      if (bad !== undefined) return callback(blocked(host, bad.address), "", 0);
      const first = addresses[0];
      if (first === undefined) return callback(new SafeRequestError("network", `${host} has no addresses`), "", 0);
      // autoSelectFamily asks for all addresses; older callers for one.
      if (options.all === true) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, addresses);
      callback(null, first.address, first.family);
    });
  };
}

function networkError(err: Error & { code?: string }, host: string): SafeRequestError {
  if (err instanceof SafeRequestError) return err;
  return new SafeRequestError("network", `request to ${host} failed: ${err.code ?? err.message}`, { cause: err });
}

/** Resolves with the response (any status; 3xx are not followed) or rejects with a SafeRequestError. */
export async function safeRequest(raw: string | URL, opts: SafeRequestOptions): Promise<SafeResponse> {
  const url = parseUrl(raw);
  const host = hostKey(url);
  const allowed = opts.allowHosts.has(host);
  if (isIP(host) !== 0 && !allowed && isBlockedAddress(host)) throw blocked(host, host);
  opts.signal?.throwIfAborted();

  const started = performance.now();
  const transport = url.protocol === "https:" ? https : http;
  return new Promise<SafeResponse>((resolve, reject) => {
    let settled = false;
    let req: ClientRequest | null = null;
    const finish = (err: Error | null, res?: SafeResponse): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      opts.signal?.removeEventListener("abort", onAbort);
      if (err !== null) {
        req?.destroy();
        reject(err);
      } else resolve(res!);
    };
    const onAbort = (): void => finish(opts.signal!.reason instanceof Error ? opts.signal!.reason : new Error("aborted"));
    const timer = setTimeout(
      () => finish(new SafeRequestError("timeout", `${host} did not answer within ${opts.timeoutMs} ms`)),
      opts.timeoutMs,
    );

    const body = typeof opts.body === "string" ? Buffer.from(opts.body) : opts.body;
    try {
      req = transport.request({
        protocol: url.protocol,
        hostname: url.hostname.replace(/^\[|\]$/g, ""),
        port: url.port === "" ? undefined : Number(url.port),
        path: url.pathname + url.search,
        method: opts.method,
        headers: { ...opts.headers, ...(body !== undefined ? { "content-length": String(body.length) } : {}) },
        // A fresh socket per request: a pooled one could have been opened for another URL's checks.
        agent: false,
        lookup: checkedLookup(host, allowed),
      });
    } catch (err) {
      // Node refuses some requests synchronously (an invalid header): the same typed error, no stray timer.
      finish(networkError(err as Error, host));
      return;
    }
    opts.signal?.addEventListener("abort", onAbort, { once: true });
    req.on("error", (err) => finish(networkError(err, host)));
    req.on("response", (res: IncomingMessage) => readBody(res, opts.maxBytes, host, started, finish));
    req.end(body);
  });
}

function readBody(
  res: IncomingMessage,
  maxBytes: number,
  host: string,
  started: number,
  finish: (err: Error | null, res?: SafeResponse) => void,
): void {
  const tooLarge = (): SafeRequestError =>
    new SafeRequestError("too_large", `${host} answered with more than ${maxBytes} bytes; return a smaller response`);
  const declared = Number(res.headers["content-length"] ?? NaN);
  if (declared > maxBytes) return finish(tooLarge());
  const chunks: Buffer[] = [];
  let size = 0;
  res.on("data", (chunk: Buffer) => {
    size += chunk.length;
    if (size > maxBytes) return finish(tooLarge());
    chunks.push(chunk);
  });
  res.on("error", (err) => finish(networkError(err, host)));
  // After "end" this is a no-op; before it, the peer hung up mid-body.
  res.on("close", () => finish(new SafeRequestError("network", `${host} closed the connection before the response was complete`)));
  res.on("end", () =>
    finish(null, { status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks, size), durationMs: performance.now() - started }),
  );
}
