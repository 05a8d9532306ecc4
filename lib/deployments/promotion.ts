/**
 * Promotion: an environment with `promotionFrom` only takes migrations that were applied on that
 * environment and passed its verification afterwards.
 */
import { and, desc, eq } from "drizzle-orm";
import type { EnvironmentConfig } from "../config/environments";
import { readStatus } from "../executor";
import type { Plan } from "../plan/plan";
import { environments, verificationSnapshots } from "../store/schema";
import type { GateContext } from "../gates/rules";
import type { DeploymentDeps } from "./context";

/** What promotion looks at: the kind and which migrations would run (a stored plan, or a basis before planning). */
export type PromotionSubject = Pick<Plan, "kind"> & { migrations: Pick<Plan["migrations"][number], "tag" | "idx">[] };

export async function promotionCheck(deps: DeploymentDeps, env: EnvironmentConfig, plan: PromotionSubject): Promise<GateContext["promotion"]> {
  const from = env.gates.promotionFrom;
  if (!from || plan.kind === "rollback" || plan.migrations.length === 0) return { ok: true };
  const upstream = deps.registry.byName(from);
  if (!upstream?.url) return { ok: false, reason: `${env.label} promotes from ${from}, whose target is not configured.` };
  const catalog = await deps.catalog();
  let status;
  try {
    status = await readStatus(upstream.url, catalog);
  } catch {
    return { ok: false, reason: `${upstream.label} cannot be read, so it cannot vouch for these migrations.` };
  }
  const notUpstream = plan.migrations.filter((m) => status.migrations.find((s) => s.tag === m.tag)?.state !== "applied");
  if (notUpstream.length > 0) {
    return { ok: false, reason: `${env.label} only takes migrations already applied on ${upstream.label}; not yet there: ${notUpstream.map((m) => m.tag).join(", ")}.` };
  }
  const [envRow] = await deps.store.db.select({ id: environments.id }).from(environments).where(eq(environments.name, upstream.name));
  const [latest] = envRow
    ? await deps.store.db
        .select()
        .from(verificationSnapshots)
        .where(and(eq(verificationSnapshots.environmentId, envRow.id)))
        .orderBy(desc(verificationSnapshots.createdAt))
        .limit(1)
    : [];
  const needed = Math.max(...plan.migrations.map((m) => m.idx));
  const verifiedAt = latest?.targetVersion ? (catalog.byTag(latest.targetVersion)?.idx ?? -1) : -1;
  if (!latest || verifiedAt < needed) {
    return { ok: false, reason: `${upstream.label} has not been verified since these migrations were applied there; run its verification first.` };
  }
  if (latest.outcome !== "passed") {
    return { ok: false, reason: `${upstream.label}'s latest verification did not pass (${latest.failed} failed, ${latest.errored} could not run); fix it before promoting.` };
  }
  return { ok: true };
}
