/** CLI commands over a backfill deployment: `backfill status|pause|resume|cancel --deployment ID`. */
import { backfillView, cancelBackfill, pauseBackfill, resumeBackfill, type BackfillView } from "../lib/deployments/backfill-control";
import { AppError } from "../lib/errors";
import type { ConsoleSession } from "./console-session";
import { deploymentId, type Output } from "./deployments";
import { plural } from "../lib/format";

export function backfillSummary(v: BackfillView): string {
  const lines = [
    `deployment #${v.number} backfill ${v.backfill}: ${v.status ?? "not started"} (deployment ${v.deploymentState})`,
    `  ${v.rowsDone} of ${v.rowsTotal} rows (${v.percent}%), ${plural(v.batches, "batch", "batches")}, next batch ${v.batchSize ?? "-"} rows${v.lastBatchMs !== null ? `, last ${v.lastBatchMs} ms` : ""}`,
    `  rate ${v.rowsPerSecond === null ? "-" : `${v.rowsPerSecond} rows/s`}, time left ${v.etaSeconds === null ? "-" : `about ${v.etaSeconds} s`}`,
  ];
  if (v.lastPause) lines.push(`  last pause ${v.lastPause.at}: ${v.lastPause.reason}${v.lastPause.resumedAt ? ` (resumed ${v.lastPause.resumedAt})` : ""}`);
  return lines.join("\n");
}

export async function backfillCommand(session: ConsoleSession, out: Output, sub: string | undefined, options: { deployment?: string; reason?: string }): Promise<number> {
  const actor = await session.actor();
  const id = await deploymentId(session, options.deployment);
  let view: BackfillView;
  switch (sub) {
    case "status":
      view = await backfillView(session.store.db, actor, id);
      break;
    case "pause":
      view = await pauseBackfill(session.deps, actor, { id, reason: options.reason });
      break;
    case "resume":
      view = await resumeBackfill(session.deps, actor, { id, reason: options.reason });
      break;
    case "cancel":
      view = await cancelBackfill(session.deps, actor, { id, reason: options.reason });
      break;
    default:
      throw new AppError("invalid_input", `Unknown backfill command "${sub ?? ""}": status, pause, resume or cancel.`);
  }
  out.print(view, backfillSummary(view));
  return 0;
}
