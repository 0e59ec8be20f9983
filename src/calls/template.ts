/** `{{name}}` placeholders in prompts and greetings: find them and fill them. Pure. */

// Names as the reference's variable_definitions allow them (alphanumeric, underscore, hyphen); spaces inside the braces are tolerated.
const PLACEHOLDER = /\{\{\s*([A-Za-z0-9_-]+)\s*\}\}/g;

/** The distinct placeholder names in `text`, in order of first appearance. */
export function placeholdersIn(text: string): string[] {
  const names = new Set<string>();
  for (const match of text.matchAll(PLACEHOLDER)) names.add(match[1]!);
  return [...names];
}

/** Replaces each `{{name}}` that has a value; unknown placeholders are left exactly as written. */
export function fillTemplate(text: string, values: Readonly<Record<string, string>>): string {
  if (!text.includes("{{")) return text;
  return text.replace(PLACEHOLDER, (whole, name: string) => (Object.hasOwn(values, name) ? values[name]! : whole));
}
