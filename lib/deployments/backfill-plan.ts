/** Plans for backfill deployments, wired to a deployment's dependencies (files, target, shadow). */
import path from "node:path";
import type { EnvironmentConfig } from "../config/environments";
import { targetUrl, type DeploymentDeps } from "./context";
import type { Plan } from "../plan/plan";
import { loadBackfill, type BackfillDefinition } from "../backfills/definition";
import { backfillPlanBasisHash, computeBackfillPlan } from "../backfills/plan";

/** db/backfills, beside the migrations folder, unless the deps name another. */
export async function backfillsDir(deps: DeploymentDeps): Promise<string> {
  return deps.backfillsDir ?? path.join(path.dirname((await deps.catalog()).dir), "backfills");
}

export async function backfillDefinition(deps: DeploymentDeps, name: string): Promise<BackfillDefinition> {
  return loadBackfill(await backfillsDir(deps), name);
}

export async function planBackfillFor(deps: DeploymentDeps, env: EnvironmentConfig, name: string): Promise<Plan> {
  return computeBackfillPlan({ environment: env.name, targetUrl: targetUrl(env), catalog: await deps.catalog(), definition: await backfillDefinition(deps, name) }, deps.shadow);
}

export async function backfillBasisHash(deps: DeploymentDeps, env: EnvironmentConfig, name: string): Promise<string> {
  return backfillPlanBasisHash({ environment: env.name, targetUrl: targetUrl(env), catalog: await deps.catalog(), definition: await backfillDefinition(deps, name) });
}
