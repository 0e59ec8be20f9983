/** errors.ts's error body under the statuses a route can answer with, for the OpenAPI document. */
import { errorResponseSchema } from "../errors.js";

const DESCRIPTIONS: Record<number, string> = {
  401: "Missing or invalid API key",
  404: "Not found in this tenant",
  409: "Conflicts with the current state",
  422: "Validation error: `detail` names each bad field",
  502: "Twilio failed or could not be reached",
  503: "Twilio is not configured for this tenant",
};

type ErrorResponse = typeof errorResponseSchema & { description: string };

/** Response schemas for the given error statuses; 401 is added to every route behind an API key. */
export function errorResponses(...statuses: number[]): Record<number, ErrorResponse> {
  const out: Record<number, ErrorResponse> = {};
  for (const status of [401, ...statuses]) out[status] = { ...errorResponseSchema, description: DESCRIPTIONS[status] ?? "Error" };
  return out;
}
