import { describe, expect, it } from "vitest";
import { callInputsFrom, contextBriefing, missingRequired, templateValues } from "../../src/calls/outboundVariables.js";
import { providerConfigFor } from "../../src/calls/providerConfig.js";
import { fillTemplate, placeholdersIn } from "../../src/calls/template.js";
import type { VariableDefinition } from "../../src/storage/agentSettings.js";
import type { AgentRow, CallLogRow } from "../../src/storage/index.js";

const def = (name: string, required: boolean, default_value: string | null = null): VariableDefinition => ({
  name,
  description: null,
  required,
  default_value,
});

describe("fillTemplate", () => {
  it("fills known placeholders, tolerating spaces inside the braces", () => {
    expect(fillTemplate("Hi {{first_name}}, order {{ order_id }}.", { first_name: "Ada", order_id: "A-42" })).toBe("Hi Ada, order A-42.");
  });

  it("leaves unknown placeholders exactly as written", () => {
    expect(fillTemplate("Hi {{first_name}} from {{ company }}", { first_name: "Ada" })).toBe("Hi Ada from {{ company }}");
  });

  it("fills every occurrence, and an empty value too", () => {
    expect(fillTemplate("{{x}}-{{x}}-{{y}}", { x: "1", y: "" })).toBe("1-1-");
  });

  it("does not read values through the prototype or treat $ patterns specially", () => {
    expect(fillTemplate("{{constructor}} {{toString}}", {})).toBe("{{constructor}} {{toString}}");
    expect(fillTemplate("{{price}}", { price: "$& $1 $$" })).toBe("$& $1 $$");
  });

  it("ignores text that only looks like a placeholder", () => {
    expect(fillTemplate("{{ two words }} {single} {{}}", { two: "x", single: "y" })).toBe("{{ two words }} {single} {{}}");
  });

  it("lists the distinct placeholders in order", () => {
    expect(placeholdersIn("{{b}} {{a}} {{ b }} {{c-d}}")).toEqual(["b", "a", "c-d"]);
  });
});

describe("outbound variables", () => {
  const inputs = { context: { first_name: "Ada", custom_fields: { plan: "gold", seats: 3 } }, dynamicVariables: { order_id: "A-42" } };

  it("layers the agent's defaults under the contact's fields under the given variables", () => {
    const values = templateValues([def("order_id", false, "unknown"), def("greeting_name", false, "there"), def("plan", false, "basic")], inputs);
    expect(values).toEqual({ order_id: "A-42", greeting_name: "there", first_name: "Ada", plan: "gold", seats: "3" });
  });

  it("names the required variables nobody gave, counting the contact's fields as given", () => {
    const defs = [def("first_name", true), def("order_id", true), def("customer_id", true), def("note", false)];
    expect(missingRequired(defs, inputs)).toEqual(["customer_id"]);
    expect(missingRequired(defs, { context: {}, dynamicVariables: { first_name: "", order_id: "1", customer_id: "2" } })).toEqual(["first_name"]);
    expect(missingRequired(null, inputs)).toEqual([]);
  });

  it("briefs the agent on the contact, and says nothing when nothing is known", () => {
    const text = contextBriefing({ first_name: "Ada", company: "Acme", notes: " Prefers mornings ", custom_fields: { plan: "gold" } });
    expect(text).toContain("- First name: Ada");
    expect(text).toContain("- Company: Acme");
    expect(text).toContain("- Notes: Prefers mornings");
    expect(text).toContain("- plan: gold");
    expect(contextBriefing({})).toBeNull();
    expect(contextBriefing({ first_name: "  " })).toBeNull();
  });

  it("reads the inputs back from stored metadata, skipping malformed values", () => {
    expect(callInputsFrom(undefined)).toEqual({ context: {}, dynamicVariables: {} });
    const read = callInputsFrom({ context: { first_name: "Ada", email: ["x"], custom_fields: "no" }, dynamic_variables: { a: "1", b: 2, c: null } });
    expect(read).toEqual({ context: { first_name: "Ada" }, dynamicVariables: { a: "1", b: "2" } });
  });
});

describe("providerConfigFor on a placed call", () => {
  const agent: AgentRow = {
    id: "a1",
    tenant_id: "t1",
    name: "Caller",
    system_prompt: "Call about order {{order_id}} for {{company}}.",
    greeting: "Hello.",
    greeting_outbound: "Hi {{first_name}}, it's about order {{order_id}}.",
    voice_provider: "openai",
    voice: "ara",
    openai_voice: "marin",
    temperature: 0.7,
    ai_speaks_first: true,
    is_active: true,
    settings: { variable_definitions: [def("order_id", false, "unknown")] as unknown as AgentRow["settings"][string] },
    created_at: new Date(0),
    updated_at: new Date(0),
  };
  const call = {
    id: "c1",
    direction: "outbound",
    from_number: "+15550100001",
    to_number: "+15550123456",
    metadata: { context: { first_name: "Grace", company: "Acme" }, dynamic_variables: { order_id: "A-42", call_id: "spoofed" } },
  } as unknown as CallLogRow;

  it("fills the prompt and the outbound greeting and appends the contact briefing", () => {
    const config = providerConfigFor(agent, call);
    expect(config.greeting).toBe("Hi Grace, it's about order A-42.");
    expect(config.instructions.startsWith("Call about order A-42 for Acme.\n\n")).toBe(true);
    expect(config.instructions).toContain("- First name: Grace");
  });

  it("gives the provider the variables without letting them replace the call's own facts", () => {
    const config = providerConfigFor(agent, call);
    expect(config.variables).toMatchObject({ order_id: "A-42", first_name: "Grace", call_id: "c1", caller_number: "+15550123456" });
  });

  it("uses the agent's defaults on a call that carries nothing", () => {
    const inbound = { id: "c2", direction: "inbound", from_number: "+15550199999", to_number: "+15550100001", metadata: {} } as unknown as CallLogRow;
    const config = providerConfigFor(agent, inbound);
    expect(config.instructions).toBe("Call about order unknown for {{company}}.");
    expect(config.greeting).toBe("Hello.");
  });
});
