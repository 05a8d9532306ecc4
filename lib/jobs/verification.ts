/**
 * Scheduled verification: one pg-boss queue per environment with its cron, so every environment
 * is checked every `verifyEveryMinutes` (default 5) by whichever worker is up; an environment not
 * verified recently is checked as soon as a worker starts.
 */
import type PgBoss from "pg-boss";
import type { VerifyDeps } from "../verify/snapshots";
import { latestSnapshots, verifyEnvironment } from "../verify/snapshots";

const queueName = (environment: string) => `verify-${environment}`;

export async function startVerificationSchedule(boss: PgBoss, deps: VerifyDeps): Promise<{ stop(): Promise<void> }> {
  const environments = deps.registry.environments.filter((e) => e.verifyEveryMinutes > 0);
  for (const env of environments) {
    const queue = queueName(env.name);
    await boss.createQueue(queue, { name: queue, policy: "singleton" });
    await boss.schedule(queue, `*/${env.verifyEveryMinutes} * * * *`);
    await boss.work(queue, { batchSize: 1, pollingIntervalSeconds: 2 }, async () => {
      await verifyEnvironment(deps, env.name, "schedule");
    });
  }
  const latest = await latestSnapshots(deps.store);
  for (const env of environments) {
    const last = latest.get(env.name);
    if (!last || Date.now() - last.createdAt.getTime() > env.verifyEveryMinutes * 60_000) await boss.send(queueName(env.name), {});
  }
  return {
    stop: async () => {
      for (const env of environments) await boss.offWork(queueName(env.name));
    },
  };
}
