/**
 * Whether a tenant's JSON-Schema `pattern` could take super-linear time to match. Ajv runs patterns with
 * the backtracking RegExp engine on the event loop every live call shares, so `^(a+)+$` and a crafted
 * argument would stall them all. The rule: a repetition that may run more than once must not contain
 * another, when either of the two is unbounded (`(a+)+`, `(.*a){12}`). Bounded nesting such as
 * `(\d{3}-){2}` and optional groups such as `(-\d{4})?` stay allowed — a plain star-height check (e.g.
 * safe-regex2) refuses those too. Overlapping alternatives under a star (`(a|a)*`) are not caught.
 */
import retModule, { types, type Root, type Token } from "ret";

// ret is CommonJS whose module.exports is the tokenizer; its types describe an ES default export instead.
const tokenizer = (typeof retModule === "function" ? retModule : (retModule as { default: unknown }).default) as (pattern: string) => Root;

/** True when `pattern` is not a valid regular expression or may backtrack catastrophically. */
export function isRiskyPattern(pattern: string): boolean {
  let root: Root;
  try {
    root = tokenizer(pattern);
  } catch {
    return true;
  }
  return risky(root, false, false);
}

/** `inRepeat`: inside a repetition that may run more than once; `inUnbounded`: one of those is unbounded. */
function risky(node: Root | Token, inRepeat: boolean, inUnbounded: boolean): boolean {
  switch (node.type) {
    case types.REPETITION: {
      const repeats = node.max > 1;
      const unbounded = node.max === Infinity;
      if (repeats && inRepeat && (inUnbounded || unbounded)) return true;
      return risky(node.value, inRepeat || repeats, inUnbounded || (repeats && unbounded));
    }
    case types.ROOT:
    case types.GROUP: {
      const branches = node.options ?? (node.stack ? [node.stack] : []);
      return branches.some((branch) => branch.some((child) => risky(child, inRepeat, inUnbounded)));
    }
    case types.SET:
    case types.POSITION:
    case types.REFERENCE:
    case types.CHAR:
      return false;
  }
}
