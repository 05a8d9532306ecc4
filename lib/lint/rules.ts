import { CONSOLE_RULES, MARKER_RULES } from "./console-rules";
import { SQUAWK_RULES, squawkRuleInfo } from "./squawk";
import type { RuleInfo } from "./types";

/**
 * Every rule a finding can name, for the UI: the console's rules, the markers, and the squawk rules
 * the console keeps (superseded ones never produce a finding). A squawk rule the mapping does not know
 * yet still produces findings; `ruleInfo` describes it.
 */
export const RULES: Readonly<Record<string, RuleInfo>> = Object.fromEntries(
  [
    ...CONSOLE_RULES.map(({ check: _check, ...info }) => info),
    MARKER_RULES.taggedData,
    MARKER_RULES.rls,
    ...Object.entries(SQUAWK_RULES)
      .filter(([, r]) => r.treatment !== "superseded")
      .map(([name, r]) => squawkRuleInfo(name, r)),
  ].map((info) => [info.id, info]),
);

export function ruleInfo(id: string): RuleInfo {
  return (
    RULES[id] ?? {
      id,
      source: id.startsWith("squawk/") ? "squawk" : "console",
      severity: "warning",
      title: id,
      why: "A rule without a description in this version of the console.",
    }
  );
}
