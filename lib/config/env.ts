/**
 * The console's configuration, parsed once from the process environment at the edge (start-up
 * script, Next.js runtime, CLI). lib/ functions receive what they need as arguments.
 */
import fs from "node:fs";
import path from "node:path";
import { z } from "zod";
import { DEFAULT_TIME_ZONE, isValidTimeZone } from "../format";
import { parseEnvironmentRegistry, type EnvironmentRegistry } from "./environments";

const postgresUrl = z
  .string()
  .refine((v) => /^postgres(ql)?:\/\//.test(v), "must be a postgres:// or postgresql:// URL");

const timeZoneSetting = z.string().default(DEFAULT_TIME_ZONE).refine(isValidTimeZone, "must be an IANA time zone such as America/Sao_Paulo or UTC");

/** The configured time zone alone, for commands that need no store (CLI status against a URL). */
export function loadTimeZone(source: Record<string, string | undefined>): string {
  const parsed = timeZoneSetting.safeParse(source.CONSOLE_TIME_ZONE || undefined);
  if (!parsed.success) throw new ConfigError([`CONSOLE_TIME_ZONE: ${parsed.error.issues[0]!.message}`]);
  return parsed.data;
}

const envSchema = z
  .object({
    CONSOLE_DATABASE_URL: postgresUrl.optional(),
    CONSOLE_ENVIRONMENTS_FILE: z.string().default("config/environments.json"),
    CONSOLE_DEMO: z.enum(["0", "1"]).optional(),
    NEXTAUTH_SECRET: z.string().min(32, "must be at least 32 characters (openssl rand -base64 32)").optional(),
    NEXTAUTH_URL: z.url().optional(),
    OIDC_ISSUER: z.url().optional(),
    OIDC_CLIENT_ID: z.string().min(1).optional(),
    OIDC_CLIENT_SECRET: z.string().min(1).optional(),
    OIDC_NAME: z.string().default("Single sign-on"),
    SHADOW_DATABASE_URL: postgresUrl.optional(),
    CONSOLE_TIME_ZONE: timeZoneSetting,
    EVIDENCE_SIGNING_KEY: z.string().optional(),
    EVIDENCE_SIGNING_KEY_FILE: z.string().optional(),
    /** A session's maximum age: a working day by default. */
    CONSOLE_SESSION_MAX_HOURS: z.coerce.number().positive("must be a positive number of hours").max(24 * 30).default(8),
    /** A session unused this long ends. */
    CONSOLE_SESSION_IDLE_MINUTES: z.coerce.number().positive("must be a positive number of minutes").max(24 * 60 * 30).default(30),
  })
  .superRefine((env, ctx) => {
    const oidc = [env.OIDC_ISSUER, env.OIDC_CLIENT_ID, env.OIDC_CLIENT_SECRET];
    if (oidc.some(Boolean) && !oidc.every(Boolean)) {
      ctx.addIssue({
        code: "custom",
        path: ["OIDC_ISSUER"],
        message: "OIDC needs all of OIDC_ISSUER, OIDC_CLIENT_ID and OIDC_CLIENT_SECRET",
      });
    }
    if (!env.CONSOLE_DATABASE_URL) {
      ctx.addIssue({ code: "custom", path: ["CONSOLE_DATABASE_URL"], message: "is required (the console's own store)" });
    }
    if (!env.NEXTAUTH_SECRET) {
      ctx.addIssue({ code: "custom", path: ["NEXTAUTH_SECRET"], message: "is required (session encryption key)" });
    }
  });

export interface OidcConfig {
  issuer: string;
  clientId: string;
  clientSecret: string;
  name: string;
}

export interface ConsoleConfig {
  storeUrl: string;
  authSecret: string;
  /** Demo mode seeds one user per role and shows the demo sign-ins on the sign-in page. */
  demo: boolean;
  oidc: OidcConfig | null;
  registry: EnvironmentRegistry;
  shadowDatabaseUrl: string | null;
  /** Every date the console shows or exports is in this zone (lib/format). */
  timeZone: string;
  /** The evidence signing key (PKCS#8 PEM, Ed25519), when configured; otherwise one kept in the store. */
  evidenceSigningKey: string | null;
  sessions: SessionPolicy;
}

export interface SessionPolicy {
  maxAgeSeconds: number;
  idleSeconds: number;
}

export class ConfigError extends Error {
  constructor(public readonly problems: string[]) {
    super(`The console's configuration is incomplete or invalid:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
  }
}

/** The environment registry alone (the CLI and the start script need no more). */
export function loadRegistry(source: Record<string, string | undefined>, cwd = process.cwd()): EnvironmentRegistry {
  const registryFile = path.resolve(cwd, source.CONSOLE_ENVIRONMENTS_FILE || "config/environments.json");
  try {
    return parseEnvironmentRegistry(JSON.parse(fs.readFileSync(/*turbopackIgnore: true*/ registryFile, "utf8")), source);
  } catch (e) {
    throw new ConfigError([`CONSOLE_ENVIRONMENTS_FILE (${registryFile}): ${(e as Error).message}`]);
  }
}

/** Parses the configuration; throws a ConfigError listing every problem at once. */
export function loadConfig(source: Record<string, string | undefined>, cwd = process.cwd()): ConsoleConfig {
  const parsed = envSchema.safeParse(source);
  const problems: string[] = [];
  if (!parsed.success) {
    for (const issue of parsed.error.issues) problems.push(`${issue.path.join(".") || "environment"}: ${issue.message}`);
  }
  let registry: EnvironmentRegistry | null = null;
  try {
    registry = loadRegistry(source, cwd);
  } catch (e) {
    problems.push(...(e as ConfigError).problems);
  }
  if (problems.length > 0 || !parsed.success || !registry) throw new ConfigError(problems);

  const env = parsed.data;
  const config: ConsoleConfig = {
    storeUrl: env.CONSOLE_DATABASE_URL!,
    authSecret: env.NEXTAUTH_SECRET!,
    demo: env.CONSOLE_DEMO === "1",
    oidc:
      env.OIDC_ISSUER && env.OIDC_CLIENT_ID && env.OIDC_CLIENT_SECRET
        ? { issuer: env.OIDC_ISSUER, clientId: env.OIDC_CLIENT_ID, clientSecret: env.OIDC_CLIENT_SECRET, name: env.OIDC_NAME }
        : null,
    registry,
    shadowDatabaseUrl: env.SHADOW_DATABASE_URL ?? null,
    timeZone: env.CONSOLE_TIME_ZONE,
    evidenceSigningKey: readSigningKey(env.EVIDENCE_SIGNING_KEY, env.EVIDENCE_SIGNING_KEY_FILE, cwd, problems),
    sessions: { maxAgeSeconds: Math.round(env.CONSOLE_SESSION_MAX_HOURS * 3600), idleSeconds: Math.round(env.CONSOLE_SESSION_IDLE_MINUTES * 60) },
  };
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

function readSigningKey(inline: string | undefined, file: string | undefined, cwd: string, problems: string[]): string | null {
  if (inline && file) problems.push("EVIDENCE_SIGNING_KEY and EVIDENCE_SIGNING_KEY_FILE: set one of them, not both");
  if (inline) return inline.replace(/\\n/g, "\n");
  if (!file) return null;
  try {
    return fs.readFileSync(/*turbopackIgnore: true*/ path.resolve(cwd, file), "utf8");
  } catch (e) {
    problems.push(`EVIDENCE_SIGNING_KEY_FILE (${file}): ${(e as Error).message}`);
    return null;
  }
}
