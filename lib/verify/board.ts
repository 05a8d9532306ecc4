/** What the compliance pages show: environments × check groups from the latest snapshots, with trend. */
import type { EnvironmentRegistry } from "../config/environments";
import type { Store } from "../store/db";
import { GROUPS } from "./registry";
import { latestSnapshots, reportOf, snapshotHistory } from "./snapshots";
import type { CheckGroup, CheckResult, CheckStatus } from "./types";

export type CellStatus = CheckStatus | "none";

const RANK: Record<CellStatus, number> = { none: 0, empty: 1, pass: 2, warn: 3, error: 4, fail: 5 };

export function worst(statuses: CellStatus[]): CellStatus {
  return statuses.reduce<CellStatus>((w, s) => (RANK[s] > RANK[w] ? s : w), "none");
}

export interface BoardEnvironment {
  name: string;
  label: string;
  latest: { id: string; at: string; outcome: string; trigger: string; targetVersion: string | null; failed: number; errored: number; passed: number } | null;
  /** Why there is no report (target unreachable), when so. */
  unreachable: string | null;
  groups: Record<CheckGroup, CellStatus>;
  /** Outcomes of the last runs, oldest first. */
  trend: { at: string; outcome: string }[];
}

export interface ComplianceBoard {
  groups: typeof GROUPS;
  environments: BoardEnvironment[];
  generatedAt: string;
}

export async function complianceBoard(store: Store, registry: EnvironmentRegistry): Promise<ComplianceBoard> {
  const latest = await latestSnapshots(store);
  const environments = await Promise.all(
    registry.environments.map(async (env): Promise<BoardEnvironment> => {
      const snapshot = latest.get(env.name);
      const stored = snapshot ? reportOf(snapshot) : null;
      const results: CheckResult[] = stored && "report" in stored ? stored.report.results : [];
      const groups = Object.fromEntries(GROUPS.map((g) => [g.id, worst(results.filter((r) => r.group === g.id).map((r) => r.status))])) as Record<CheckGroup, CellStatus>;
      const history = await snapshotHistory(store, env.name, { limit: 12 });
      return {
        name: env.name,
        label: env.label,
        latest: snapshot
          ? {
              id: snapshot.id,
              at: snapshot.createdAt.toISOString(),
              outcome: snapshot.outcome,
              trigger: snapshot.trigger,
              targetVersion: snapshot.targetVersion,
              failed: snapshot.failed,
              errored: snapshot.errored,
              passed: snapshot.passed,
            }
          : null,
        unreachable: stored && "unreachable" in stored ? stored.unreachable : null,
        groups,
        trend: history.reverse().map((h) => ({ at: h.createdAt.toISOString(), outcome: h.outcome })),
      };
    }),
  );
  return { groups: GROUPS, environments, generatedAt: new Date().toISOString() };
}

/** One check's latest result on one environment, for the check page. */
export async function latestCheckResult(store: Store, environment: string, checkId: string) {
  const [snapshot] = await snapshotHistory(store, environment, { limit: 1 });
  if (!snapshot) return null;
  const stored = reportOf(snapshot);
  const result = "report" in stored ? (stored.report.results.find((r) => r.checkId === checkId) ?? null) : null;
  return { snapshot, result, unreachable: "unreachable" in stored ? stored.unreachable : null };
}

/** Verification over time for the chart: per run (oldest first), each group's worst result. */
export async function verificationMatrix(store: Store, environment: string, limit = 40) {
  const history = (await snapshotHistory(store, environment, { limit })).reverse();
  return history.map((h) => {
    const stored = reportOf(h);
    const results: CheckResult[] = "report" in stored ? stored.report.results : [];
    const cells = Object.fromEntries(
      GROUPS.map((g) => [g.id, "unreachable" in stored ? "error" : worst(results.filter((r) => r.group === g.id).map((r) => r.status))]),
    ) as Record<CheckGroup, CellStatus>;
    return { id: h.id, at: h.createdAt.toISOString(), outcome: h.outcome, trigger: h.trigger, cells };
  });
}
