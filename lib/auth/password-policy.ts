/**
 * What a console password must be: at least 12 characters, and not easy to guess as measured by
 * zxcvbn (dictionaries of common passwords, names and words, keyboard patterns, dates, repeats),
 * which also says why a password is weak. Used by Admin and by `migration-console user add`.
 */
import type * as ZxcvbnCore from "@zxcvbn-ts/core";

export const MIN_PASSWORD_LENGTH = 12;
export const MAX_PASSWORD_LENGTH = 200;
/** zxcvbn's 0–4 scale: 3 is "safely unguessable: moderate protection from offline slow-hash scenario". */
const MIN_SCORE = 3;

let estimator: typeof ZxcvbnCore.zxcvbn | null = null;

/** zxcvbn with its dictionaries, loaded on first use (megabytes of word lists every CLI command need not parse). */
function strength(): typeof ZxcvbnCore.zxcvbn {
  if (!estimator) {
    const core = require("@zxcvbn-ts/core") as typeof ZxcvbnCore;
    const common = require("@zxcvbn-ts/language-common") as typeof import("@zxcvbn-ts/language-common");
    const en = require("@zxcvbn-ts/language-en") as typeof import("@zxcvbn-ts/language-en");
    core.zxcvbnOptions.setOptions({ dictionary: { ...common.dictionary, ...en.dictionary }, graphs: common.adjacencyGraphs, translations: en.translations });
    estimator = core.zxcvbn;
  }
  return estimator;
}

/** Why the password is refused, in words a person can act on; null when it is acceptable. */
export function passwordProblem(password: string, personal: string[] = []): string | null {
  if (password.length < MIN_PASSWORD_LENGTH) return `Passwords need at least ${MIN_PASSWORD_LENGTH} characters (this one has ${password.length}).`;
  if (password.length > MAX_PASSWORD_LENGTH) return `Passwords may have at most ${MAX_PASSWORD_LENGTH} characters.`;
  // The user's own name or email in it is the first thing a guesser tries.
  const bare = (v: string) => v.toLowerCase().replace(/[^\p{L}\p{N}]/gu, "");
  const own = personal.map((p) => bare(p.split("@")[0]!)).filter((p) => p.length >= 4);
  if (own.some((p) => bare(password).includes(p))) return "This password is too easy to guess: it contains the user's name or email.";
  // The parts of the email and name count as easy guesses too.
  const inputs = personal.flatMap((p) => [p, ...p.split(/[@.\s_-]+/)]).filter((p) => p.length >= 3);
  const result = strength()(password, inputs);
  if (result.score >= MIN_SCORE) return null;
  const why = [result.feedback.warning, ...result.feedback.suggestions].filter(Boolean).join(" ");
  return `This password is too easy to guess${why ? `: ${why}` : "."}`;
}
