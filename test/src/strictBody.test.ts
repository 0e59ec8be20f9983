import type { FastifyRequest } from "fastify";
import { describe, expect, it } from "vitest";
import { HttpError } from "../../src/http/errors.js";
import { rejectCoercibleTypes, type TypedSchema } from "../../src/http/strictBody.js";

/** The 422's field locations for `body` under `schema`; [] when it passes. */
async function issues(schema: TypedSchema, body: unknown): Promise<string[]> {
  const hook = rejectCoercibleTypes(schema);
  try {
    await (hook as unknown as (req: FastifyRequest) => Promise<void>)({ body } as FastifyRequest);
    return [];
  } catch (err) {
    expect(err).toBeInstanceOf(HttpError);
    return ((err as HttpError).detail ?? []).map((d) => `${d.loc.join(".")}: ${d.msg}`);
  }
}

const nullableId = { anyOf: [{ type: "string" }, { type: "null" }] } as const;

describe("rejectCoercibleTypes", () => {
  it("names each value whose JSON type ajv would otherwise coerce", async () => {
    const schema: TypedSchema = { type: "object", properties: { on: { type: "boolean" }, name: { type: "string" }, n: { type: "integer" } } };
    expect(await issues(schema, { on: true, name: "x", n: 2 })).toEqual([]);
    expect(await issues(schema, { on: 1, name: 5, n: "2" })).toEqual(["body.on: must be boolean", "body.name: must be string", "body.n: must be integer"]);
  });

  it("follows anyOf: a value fits when any branch takes it", async () => {
    const schema: TypedSchema = { type: "object", properties: { agent_id: nullableId } };
    expect(await issues(schema, { agent_id: null })).toEqual([]);
    expect(await issues(schema, { agent_id: "a" })).toEqual([]);
    expect(await issues(schema, { agent_id: 7 })).toEqual(["body.agent_id: must be string or null"]);
  });

  it("tries every object branch of an anyOf, not only the first of the right type", async () => {
    const schema: TypedSchema = {
      anyOf: [
        { type: "object", properties: { kind: { type: "string" }, size: { type: "integer" } } },
        { type: "object", properties: { kind: { type: "string" }, size: { type: "string" } } },
      ],
    };
    expect(await issues(schema, { kind: "a", size: "big" })).toEqual([]);
    expect(await issues(schema, { kind: "a", size: true })).toEqual(["body.size: must be integer"]);
  });

  it("checks a schema's own properties as well as its anyOf", async () => {
    const schema: TypedSchema = { type: "object", properties: { on: { type: "boolean" } }, anyOf: [{ type: "object" }] };
    expect(await issues(schema, { on: "yes" })).toEqual(["body.on: must be boolean"]);
  });
});
