/**
 * The environment registry: the promotion chain (file order), where each target's URL comes
 * from, and its gate policy. Target URLs are read from environment variables, never the file.
 */
import { z } from "zod";

const gatePolicySchema = z
  .object({
    releaseManagerApprovals: z.number().int().min(0).max(10).default(0),
    /** When a finding touches tagged data, RLS or policies; "always" forces it on every deployment. */
    complianceSignoff: z.enum(["when-findings-require", "always", "never"]).default("when-findings-require"),
    /** This environment only takes migrations already applied and verified on that one. */
    promotionFrom: z.string().nullable().default(null),
    freezeWindows: z
      .array(z.object({ start: z.iso.datetime({ offset: true }), end: z.iso.datetime({ offset: true }), reason: z.string() }))
      .default([]),
  })
  .strict();

const environmentSchema = z
  .object({
    name: z.string().regex(/^[a-z][a-z0-9_-]{0,39}$/, "lowercase letters, digits, - and _"),
    label: z.string().optional(),
    urlEnv: z.string().regex(/^[A-Z][A-Z0-9_]*$/, "an environment variable name such as TARGET_STAGING_URL"),
    /**
     * The variable holding the database's direct connection, when urlEnv's URL is the application's
     * (often a pooler, as Supabase's DATABASE_URL beside DIRECT_URL). The console connects through it.
     */
    directUrlEnv: z.string().regex(/^[A-Z][A-Z0-9_]*$/, "an environment variable name such as TARGET_STAGING_DIRECT_URL").optional(),
    gates: gatePolicySchema.default(gatePolicySchema.parse({})),
    /** Scheduled verification; 0 turns the schedule off (on-demand and after-apply runs remain). */
    verifyEveryMinutes: z.number().int().min(0).max(1440).default(5),
  })
  .strict();

/** What a channel can be told; `events` omitted means all of them. */
export const NOTIFICATION_EVENTS = ["approval_needed", "signoff_needed", "deployment_succeeded", "deployment_failed", "verification_red", "drift_found"] as const;
export type NotificationEventType = (typeof NOTIFICATION_EVENTS)[number];

const notificationChannelSchema = z
  .object({
    urlEnv: z.string().regex(/^[A-Z][A-Z0-9_]*$/, "an environment variable name such as SLACK_WEBHOOK_URL (webhook URLs are secrets)"),
    events: z.array(z.enum(NOTIFICATION_EVENTS)).min(1).optional(),
    format: z.enum(["json", "slack"]).default("json"),
  })
  .strict();

const registrySchema = z.object({
  $comment: z.string().optional(),
  environments: z.array(environmentSchema).min(1),
  notifications: z.array(notificationChannelSchema).default([]),
});

export interface NotificationChannel {
  /** Position in the registry's list: a delivery's channel id. */
  index: number;
  urlEnv: string;
  /** The webhook URL (a secret: never log, store or render it), or null when its variable is unset. */
  url: string | null;
  events: readonly NotificationEventType[];
  format: "json" | "slack";
}

export type GatePolicy = z.infer<typeof gatePolicySchema>;

export interface EnvironmentConfig {
  name: string;
  label: string;
  /** Position in the promotion chain, 0 first. */
  position: number;
  urlEnv: string;
  /** The variable of the direct connection, when the registry names one. */
  directUrlEnv: string | null;
  /**
   * The URL the console connects with (contains a password: never log or render it): the direct
   * connection when directUrlEnv is set, else urlEnv's; null when neither variable is set.
   */
  url: string | null;
  /** Which variable `url` came from, for messages ("set ... to the direct connection"). */
  urlSource: string;
  gates: GatePolicy;
  verifyEveryMinutes: number;
}

export interface EnvironmentRegistry {
  environments: EnvironmentConfig[];
  notifications: NotificationChannel[];
  byName(name: string): EnvironmentConfig | undefined;
}

export function parseEnvironmentRegistry(raw: unknown, source: Record<string, string | undefined>): EnvironmentRegistry {
  const parsed = registrySchema.safeParse(raw);
  if (!parsed.success) {
    throw new Error(parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; "));
  }
  const names = new Set<string>();
  const environments = parsed.data.environments.map((e, position): EnvironmentConfig => {
    if (names.has(e.name)) throw new Error(`environment "${e.name}" is listed twice`);
    names.add(e.name);
    return {
      name: e.name,
      label: e.label ?? e.name,
      position,
      urlEnv: e.urlEnv,
      directUrlEnv: e.directUrlEnv ?? null,
      url: (e.directUrlEnv && source[e.directUrlEnv]) || source[e.urlEnv] || null,
      urlSource: e.directUrlEnv && source[e.directUrlEnv] ? e.directUrlEnv : e.urlEnv,
      gates: e.gates,
      verifyEveryMinutes: e.verifyEveryMinutes,
    };
  });
  for (const e of environments) {
    if (e.gates.promotionFrom && !names.has(e.gates.promotionFrom)) {
      throw new Error(`environment "${e.name}" promotes from unknown environment "${e.gates.promotionFrom}"`);
    }
  }
  const notifications = parsed.data.notifications.map(
    (n, index): NotificationChannel => ({ index, urlEnv: n.urlEnv, url: source[n.urlEnv] || null, events: n.events ?? NOTIFICATION_EVENTS, format: n.format }),
  );
  return { environments, notifications, byName: (name) => environments.find((e) => e.name === name) };
}

/** A URL fit for a page or a log line: no password, no query string. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "****";
    u.search = "";
    return u.toString();
  } catch {
    return "(unparseable URL)";
  }
}
