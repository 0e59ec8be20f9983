/** Turns the calls query (list and export alike) into a storage match, or a 422 naming the field. */
import type { CallDirection, CallLogMatch } from "../../storage/index.js";
import { unprocessable } from "../errors.js";
import { parseIsoInstant, type IsoInstant } from "../isoDate.js";

export interface CallFilterQuery {
  agent_id?: string;
  direction?: CallDirection;
  status?: string;
  date_from?: string;
  date_to?: string;
}

const DAY_MS = 86_400_000;
// Where Fastify's own query validation errors point (errors.ts uses its validationContext): the same here.
const QUERY_LOC = "querystring";

function instant(query: CallFilterQuery, field: "date_from" | "date_to"): IsoInstant | undefined {
  const text = query[field];
  if (text === undefined) return undefined;
  const parsed = parseIsoInstant(text);
  if (parsed === null) {
    throw unprocessable([QUERY_LOC, field], "must be an ISO 8601 date (2025-06-01) or date-time (2025-06-01T12:00:00Z)", "datetime_parsing");
  }
  return parsed;
}

export function callLogMatch(query: CallFilterQuery): CallLogMatch {
  const from = instant(query, "date_from");
  const to = instant(query, "date_to");
  const match: CallLogMatch = { agentId: query.agent_id, direction: query.direction, status: query.status, startedFrom: from?.at };
  // A date alone means through the end of that day: everything before the next day starts.
  if (to?.dateOnly === true) match.startedBefore = new Date(to.at.getTime() + DAY_MS);
  else if (to !== undefined) match.startedTo = to.at;
  const empty =
    from !== undefined &&
    ((match.startedBefore !== undefined && from.at >= match.startedBefore) || (match.startedTo !== undefined && from.at > match.startedTo));
  if (empty) throw unprocessable([QUERY_LOC, "date_to"], "must not be before date_from", "date_range");
  return match;
}
