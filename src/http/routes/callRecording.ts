/** GET /calls/:id/recording: the call's Twilio recording, streamed through with the tenant's credentials. */
import { Readable } from "node:stream";
import type { ReadableStream as NodeReadableStream } from "node:stream/web";
import type { FastifyInstance, FastifyReply } from "fastify";
import { getCallLog } from "../../storage/index.js";
import { twilioCredentialsFor, type TwilioCredentials } from "../../twilio/credentials.js";
import { tenantOf } from "../auth.js";
import { HttpError, notFound } from "../errors.js";
import { recordingFetchUrl, type RecordingFormat } from "../recordingUrl.js";
import type { AppServices } from "../services.js";
import { callIdParams } from "./callSchemas.js";
import { usualErrors } from "./errorSchemas.js";

// Twilio starts answering within a second or two; past this the request is stuck. The body itself
// may take longer (a long call's WAV), so only the wait for headers is bounded.
const RECORDING_HEADERS_TIMEOUT_MS = 15_000;
// Enough of an error body for Twilio's JSON message; more is not worth reading.
const ERROR_BODY_MAX_BYTES = 4096;

const CONTENT_TYPES: Record<RecordingFormat, string> = { mp3: "audio/mpeg", wav: "audio/wav" };
// Twilio's names for the two formats (it answers WAV as audio/x-wav), mapped to the standard ones.
const UPSTREAM_TYPES: Record<string, string> = {
  "audio/mpeg": "audio/mpeg",
  "audio/mp3": "audio/mpeg",
  "audio/wav": "audio/wav",
  "audio/x-wav": "audio/wav",
  "audio/wave": "audio/wav",
};

/** The audio type Twilio answered with, else the one the suffix asked for. */
function audioType(res: Response, suffix: RecordingFormat): string {
  const upstream = res.headers.get("content-type")?.split(";")[0]?.trim().toLowerCase() ?? "";
  return UPSTREAM_TYPES[upstream] ?? CONTENT_TYPES[suffix];
}

function basicAuth(creds: TwilioCredentials): string {
  return "Basic " + Buffer.from(`${creds.accountSid}:${creds.authToken}`).toString("base64");
}

/** Twilio's error message from a failed response, read no further than ERROR_BODY_MAX_BYTES. */
async function twilioMessage(res: Response): Promise<string | undefined> {
  if (res.body === null) return undefined;
  const chunks: Uint8Array[] = [];
  let size = 0;
  // Leaving the loop early cancels the rest of the body.
  for await (const chunk of res.body as NodeReadableStream<Uint8Array>) {
    chunks.push(chunk);
    size += chunk.byteLength;
    if (size >= ERROR_BODY_MAX_BYTES) break;
  }
  const text = Buffer.concat(chunks).toString("utf8").slice(0, ERROR_BODY_MAX_BYTES);
  try {
    const parsed = JSON.parse(text) as { message?: unknown };
    return typeof parsed.message === "string" ? parsed.message : undefined;
  } catch {
    return undefined;
  }
}

/** Fetches with the headers' wait bounded; the returned body keeps streaming until the reply closes. */
async function fetchRecording(url: URL, creds: TwilioCredentials, reply: FastifyReply): Promise<Response> {
  const abort = new AbortController();
  // The client hanging up stops the download from Twilio too.
  reply.raw.once("close", () => abort.abort());
  const timer = setTimeout(() => abort.abort(), RECORDING_HEADERS_TIMEOUT_MS);
  try {
    // No redirects: only the checked URL is ever requested.
    return await fetch(url, { headers: { authorization: basicAuth(creds) }, redirect: "manual", signal: abort.signal });
  } finally {
    clearTimeout(timer);
  }
}

export function callRecordingRoute(app: FastifyInstance, services: Pick<AppServices, "db" | "config">): void {
  const { db, config } = services;
  app.get<{ Params: { id: string }; Querystring: { format?: RecordingFormat } }>(
    "/calls/:id/recording",
    {
      schema: {
        tags: ["calls"],
        summary: "Stream a call's recording",
        description: "Proxies the recording from Twilio with the tenant's credentials, so a browser can play it without them.",
        params: callIdParams,
        querystring: {
          type: "object",
          additionalProperties: false,
          properties: { format: { type: "string", enum: ["mp3", "wav"], description: "default: the stored URL's suffix, else mp3" } },
        },
        response: {
          200: {
            description: "The recording's audio",
            content: { "audio/mpeg": { schema: { type: "string", format: "binary" } }, "audio/wav": { schema: { type: "string", format: "binary" } } },
          },
          ...usualErrors(404, 422, 502, 503),
        },
      },
    },
    async (req, reply) => {
      const tenantId = tenantOf(req);
      const call = await getCallLog(db, tenantId, req.params.id);
      if (call === null) throw notFound("call");
      if (call.recording_url === null) throw notFound("recording");
      const url = recordingFetchUrl(call.recording_url, config.twilio.apiBaseUrl, req.query.format);
      if (url === null) {
        req.log.warn({ callId: call.id }, "recording_url is not a Twilio recording URL: refused to fetch it");
        throw notFound("recording");
      }
      const creds = await twilioCredentialsFor(db, config, tenantId);
      if (creds === null) throw new HttpError(503, "twilio_unconfigured", "no Twilio credentials for this tenant: the recording cannot be fetched");

      let res: Response;
      try {
        res = await fetchRecording(url, creds, reply);
      } catch (err) {
        req.log.warn({ err, callId: call.id }, "Twilio recording request failed");
        throw new HttpError(502, "twilio_error", "Twilio could not be reached for the recording");
      }
      if (res.status !== 200) {
        const message = await twilioMessage(res);
        throw new HttpError(502, "twilio_error", `Twilio answered ${res.status} for the recording${message ? `: ${message}` : ""}`);
      }
      const suffix: RecordingFormat = url.pathname.endsWith(".wav") ? "wav" : "mp3";
      const length = res.headers.get("content-length");
      void reply
        .header("content-type", audioType(res, suffix))
        .header("content-disposition", `inline; filename="${call.id}.${suffix}"`)
        .header("cache-control", "private, no-store");
      if (length !== null && /^\d+$/.test(length)) void reply.header("content-length", length);
      if (res.body === null) return reply.send("");
      return reply.send(Readable.fromWeb(res.body as NodeReadableStream<Uint8Array>));
    },
  );
}
