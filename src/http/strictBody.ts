/**
 * The app's ajv coerces types (query strings need it), which in a JSON body would turn `null` into 0,
 * "" or false and "yes" into ["yes"]. This checks a body's JSON types against its schema first, so a
 * wrong type is a 422 naming the field instead of a silently different value.
 */
import type { FastifyInstance, FastifyRequest, preValidationAsyncHookHandler } from "fastify";
import { HttpError, type ValidationDetail } from "./errors.js";

export interface TypedSchema {
  readonly type?: string | readonly string[];
  readonly properties?: Readonly<Record<string, TypedSchema>>;
  readonly items?: TypedSchema;
  readonly additionalProperties?: boolean | TypedSchema;
  readonly anyOf?: readonly TypedSchema[];
}

function jsonType(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  return typeof value;
}

function accepts(schema: TypedSchema, type: string): boolean {
  if (schema.type === undefined) return true;
  const allowed: readonly string[] = typeof schema.type === "string" ? [schema.type] : schema.type;
  // "integer" vs 1.5 is ajv's to report; coercion never turns a number into an integer.
  return allowed.includes(type) || (type === "number" && allowed.includes("integer"));
}

function typeName(schema: TypedSchema): string {
  return typeof schema.type === "string" ? schema.type : (schema.type ?? []).join(" or ");
}

function typeIssues(schema: TypedSchema, value: unknown, loc: (string | number)[], out: ValidationDetail[]): void {
  const type = jsonType(value);
  if (!accepts(schema, type)) {
    out.push({ loc, msg: `must be ${typeName(schema)}`, type: "type" });
    return;
  }
  if (schema.anyOf !== undefined && !fitsABranch(schema.anyOf, value, loc, out)) return;
  if (type === "array" && schema.items !== undefined) {
    (value as unknown[]).forEach((item, i) => typeIssues(schema.items!, item, [...loc, i], out));
  } else if (type === "object") {
    for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
      const extra = typeof schema.additionalProperties === "object" ? schema.additionalProperties : undefined;
      const child = schema.properties?.[key] ?? extra;
      if (child !== undefined) typeIssues(child, item, [...loc, key], out);
    }
  }
}

/** True when some branch finds nothing wrong; else reports the first branch of the right type's issues, or the types allowed. */
function fitsABranch(branches: readonly TypedSchema[], value: unknown, loc: (string | number)[], out: ValidationDetail[]): boolean {
  let firstIssues: ValidationDetail[] | null = null;
  for (const branch of branches) {
    if (!accepts(branch, jsonType(value))) continue;
    const issues: ValidationDetail[] = [];
    typeIssues(branch, value, loc, issues);
    if (issues.length === 0) return true;
    firstIssues ??= issues;
  }
  out.push(...(firstIssues ?? [{ loc, msg: `must be ${branches.map(typeName).join(" or ")}`, type: "type" }]));
  return false;
}

/** preValidation hook: 422 listing every value whose JSON type the schema does not allow. */
export function rejectCoercibleTypes(schema: TypedSchema): preValidationAsyncHookHandler {
  return async (req: FastifyRequest): Promise<void> => {
    if (typeof req.body !== "object" || req.body === null) return;
    const detail: ValidationDetail[] = [];
    typeIssues(schema, req.body, ["body"], detail);
    if (detail.length === 0) return;
    const message = detail.map((d) => `${d.loc.join(".")}: ${d.msg}`).join("; ");
    throw new HttpError(422, "validation_error", message, detail);
  };
}

/**
 * Every route registered after this with a body schema gets the check, after its own preValidation
 * hooks (a Twilio signature is checked before the body is looked at).
 */
export function strictBodies(app: FastifyInstance): void {
  app.addHook("onRoute", (route) => {
    const body = route.schema?.body;
    if (typeof body !== "object" || body === null) return;
    const own = route.preValidation === undefined ? [] : Array.isArray(route.preValidation) ? route.preValidation : [route.preValidation];
    route.preValidation = [...own, rejectCoercibleTypes(body)];
  });
}
