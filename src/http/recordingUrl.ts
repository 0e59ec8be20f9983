/** Where a stored recording_url may be fetched from: Twilio's API (or its configured stand-in), nowhere else. */

export const TWILIO_API_ORIGIN = "https://api.twilio.com";

export type RecordingFormat = "mp3" | "wav";

// A Twilio recording resource; .json and every other Twilio resource stay out of reach.
const RECORDING_PATH = /^\/2010-04-01\/Accounts\/AC[0-9a-f]{32}\/Recordings\/RE[0-9a-f]{32}(?:\.(mp3|wav))?$/i;

/**
 * The URL to fetch for a stored `recording_url`: its path on the Twilio API origin (the configured
 * TWILIO_API_BASE_URL origin when set), with the format's suffix. Null when the stored URL is not a
 * Twilio recording on an allowed origin — it is never fetched as given (SSRF).
 */
export function recordingFetchUrl(stored: string, apiBaseUrl: string | undefined, format: RecordingFormat | undefined): URL | null {
  let url: URL;
  try {
    url = new URL(stored);
  } catch {
    return null;
  }
  const target = apiBaseUrl === undefined ? TWILIO_API_ORIGIN : new URL(apiBaseUrl).origin;
  if (url.origin !== TWILIO_API_ORIGIN && url.origin !== target) return null;
  if (url.username !== "" || url.password !== "") return null;
  const path = RECORDING_PATH.exec(url.pathname);
  if (path === null) return null;
  const suffix = format ?? (path[1]?.toLowerCase() as RecordingFormat | undefined) ?? "mp3";
  // Built from our origin and the checked path alone: the stored query and fragment are dropped.
  return new URL(`${url.pathname.replace(/\.(mp3|wav)$/i, "")}.${suffix}`, target);
}
