/**
 * A tolerant little XML reader for TwiML, enough for Twilio's voice verbs: what the simulated call
 * does with the voice webhook's answer (`<Connect><Stream>`, `<Say>`, `<Hangup/>`).
 */
export interface TwimlVerb {
  verb: string;
  attributes: Record<string, string>;
  text: string;
  children: TwimlVerb[];
}

export interface ParsedTwiml {
  verbs: TwimlVerb[];
  /** The `<Connect><Stream>` target, when there is one. */
  stream?: { url: string; parameters: Record<string, string> };
  says: string[];
  hangup: boolean;
}

const XML_TOKEN =
  /<!--[\s\S]*?-->|<\?[\s\S]*?\?>|<(\/?)([A-Za-z][\w:.-]*)((?:\s+[^\s=/>]+\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*(\/?)>|([^<]+)/g;
const XML_ATTR = /([^\s=]+)\s*=\s*(?:"([^"]*)"|'([^']*)')/g;
const ENTITIES: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };

function unescapeXml(s: string): string {
  return s.replace(/&(#x[0-9a-f]+|#\d+|\w+);/gi, (whole, e: string) => {
    if (e[0] === "#") return String.fromCodePoint(Number(e[1] === "x" || e[1] === "X" ? `0${e.slice(1)}` : e.slice(1)));
    return ENTITIES[e] ?? whole;
  });
}

export function parseTwiml(xml: string): ParsedTwiml {
  const root: TwimlVerb = { verb: "#root", attributes: {}, text: "", children: [] };
  const stack = [root];
  let end = 0;
  for (const m of xml.matchAll(XML_TOKEN)) {
    if (m.index !== end) throw new Error(`TwiML is not well-formed near offset ${end}`);
    end = m.index + m[0].length;
    const top = stack[stack.length - 1] ?? root;
    const [, closing, name, attrs, selfClosing, text] = m;
    if (text !== undefined) top.text += unescapeXml(text);
    if (name === undefined) continue;
    if (closing === "/") {
      if (top.verb !== name) throw new Error(`TwiML closes <${name}> but <${top.verb}> is open`);
      top.text = top.text.trim();
      stack.pop();
      continue;
    }
    const attributes: Record<string, string> = {};
    for (const a of (attrs ?? "").matchAll(XML_ATTR)) attributes[a[1] ?? ""] = unescapeXml(a[2] ?? a[3] ?? "");
    const node: TwimlVerb = { verb: name, attributes, text: "", children: [] };
    top.children.push(node);
    if (selfClosing !== "/") stack.push(node);
  }
  const response = root.children[0];
  if (end !== xml.length || stack.length !== 1 || response?.verb !== "Response" || root.children.length !== 1) {
    throw new Error("TwiML must be one well-formed <Response> element");
  }
  const parsed: ParsedTwiml = { verbs: response.children, says: [], hangup: false };
  for (const verb of response.children) {
    if (verb.verb === "Say") parsed.says.push(verb.text);
    if (verb.verb === "Hangup" || verb.verb === "Reject") parsed.hangup = true;
    const stream = verb.verb === "Connect" ? verb.children.find((c) => c.verb === "Stream") : undefined;
    if (stream !== undefined && parsed.stream === undefined && !parsed.hangup) {
      const parameters: Record<string, string> = {};
      for (const p of stream.children) if (p.verb === "Parameter") parameters[p.attributes.name ?? ""] = p.attributes.value ?? "";
      parsed.stream = { url: stream.attributes.url ?? "", parameters };
    }
  }
  return parsed;
}
