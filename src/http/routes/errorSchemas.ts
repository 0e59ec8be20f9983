/** errors.ts's error responses picked by status, with this API's usual wording for each. */
import { errorResponses as describedErrors } from "../errors.js";

const DESCRIPTIONS: Record<number, string> = {
  404: "Not found in this tenant",
  409: "Conflicts with the current state",
  422: "Validation error: `detail` names each bad field",
  502: "Twilio failed or could not be reached",
  503: "Twilio is not configured for this tenant",
};

/** Response schemas for the given error statuses; 401 is added to every route behind an API key. */
export function usualErrors(...statuses: number[]): ReturnType<typeof describedErrors> {
  return describedErrors(Object.fromEntries(statuses.map((status) => [status, DESCRIPTIONS[status] ?? "Error"])));
}
