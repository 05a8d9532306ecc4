/**
 * Rehearsals must run on a PostgreSQL cluster that hosts no target. Roles, ALTER SYSTEM, databases and
 * tablespaces belong to the cluster, not to a database: `ALTER ROLE app_user BYPASSRLS` rehearsed in a
 * throw-away database on a target's cluster would switch off tenant isolation on that target too.
 *
 * Two URLs reach the same cluster when its `system_identifier` (pg_control_system(), set by initdb and
 * readable by any role) is the same, whatever host name, port or proxy they go through.
 */
import { connect } from "../connection/connect";
import { redactUrl } from "../config/environments";
import { ConfigError } from "../config/env";
import { AppError } from "../errors";

/** system_identifier per URL: a cluster keeps it for life, so one read per process is enough. */
const identifiers = new Map<string, Promise<string>>();

export function clusterIdentifier(url: string): Promise<string> {
  let known = identifiers.get(url);
  if (!known) {
    known = readIdentifier(url);
    identifiers.set(url, known);
    known.catch(() => identifiers.delete(url)); // an unreachable server is asked again next time
  }
  return known;
}

async function readIdentifier(url: string): Promise<string> {
  const sql = connect(url, { application: "migration-console isolation check", fetchTypes: false });
  try {
    const [row] = await sql<{ id: string }[]>`select system_identifier::text as id from pg_control_system()`;
    return row!.id;
  } finally {
    await sql.end({ timeout: 5 });
  }
}

export interface NamedTarget {
  name: string;
  url: string;
}

function refusal(target: NamedTarget, shadowUrl: string): string {
  return (
    `SHADOW_DATABASE_URL (${redactUrl(shadowUrl)}) is on the same PostgreSQL cluster as the ${target.name} target (same system_identifier). ` +
      "Roles, ALTER SYSTEM, databases and tablespaces are shared by every database of a cluster, so a rehearsal there could change that target. " +
      "Point SHADOW_DATABASE_URL at a PostgreSQL server that hosts no target."
  );
}

/** Refuses a rehearsal whose shadow server is the target's cluster. Throws when either cannot be reached. */
export async function assertRehearsalIsolated(shadowUrl: string, target: NamedTarget): Promise<void> {
  const [shadow, theirs] = await Promise.all([clusterIdentifier(shadowUrl), clusterIdentifier(target.url)]);
  if (shadow === theirs) throw new AppError("unavailable", refusal(target, shadowUrl));
}

/**
 * The start-up check: the configured shadow server shares a cluster with no configured target. A server
 * that does not answer now is not held against start-up (the console must start while a target is down);
 * every plan checks its own target again before it rehearses.
 */
export async function assertShadowIsolated(shadowUrl: string | null, targets: readonly { name: string; url: string | null }[]): Promise<void> {
  if (!shadowUrl) return;
  const shadow = await clusterIdentifier(shadowUrl).catch(() => null);
  if (!shadow) return;
  for (const t of targets) {
    if (!t.url) continue;
    const theirs = await clusterIdentifier(t.url).catch(() => null);
    if (theirs === shadow) throw new ConfigError([refusal({ name: t.name, url: t.url }, shadowUrl)]);
  }
}
