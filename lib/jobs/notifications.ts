/**
 * Notification delivery through pg-boss: the outbox is fanned out every second by whichever worker
 * is up, and each delivery is a job retried with backoff until the receiver accepts it.
 */
import type PgBoss from "pg-boss";
import type { EnvironmentRegistry } from "../config/environments";
import { deliverNotification, dispatchNotifications, DELIVERY_ATTEMPTS, staleDeliveries } from "../notifications";
import type { Store } from "../store/db";

export const NOTIFICATION_QUEUE = "notification-deliver";

export interface NotificationWorkerOptions {
  /** Seconds before the first retry; doubles after each (pg-boss backoff). */
  retryDelaySeconds?: number;
  dispatchEveryMs?: number;
}

export async function startNotificationWorker(
  boss: PgBoss,
  deps: { store: Store; registry: EnvironmentRegistry },
  options: NotificationWorkerOptions = {},
): Promise<{ stop(): Promise<void>; dispatch(): Promise<void> }> {
  await boss.createQueue(NOTIFICATION_QUEUE);
  await boss.work<{ deliveryId: string }>(NOTIFICATION_QUEUE, { batchSize: 1, pollingIntervalSeconds: 0.5 }, async ([job]) => {
    if (job) await deliverNotification(deps.store.db, deps.registry, job.data.deliveryId);
  });
  let running: Promise<void> | null = null;
  let lastSweep = 0;
  const dispatch = () =>
    (running ??= (async () => {
      try {
        const ids = await dispatchNotifications(deps.store.db, deps.registry);
        if (Date.now() - lastSweep > 60_000) {
          lastSweep = Date.now();
          ids.push(...(await staleDeliveries(deps.store.db)));
        }
        for (const deliveryId of ids) {
          await boss.send(NOTIFICATION_QUEUE, { deliveryId }, {
            singletonKey: deliveryId,
            retryLimit: DELIVERY_ATTEMPTS - 1,
            retryDelay: options.retryDelaySeconds ?? 5,
            retryBackoff: true,
          });
        }
      } finally {
        running = null;
      }
    })());
  await dispatch();
  const timer = setInterval(() => void dispatch().catch(() => {}), options.dispatchEveryMs ?? 1000);
  return {
    dispatch,
    stop: async () => {
      clearInterval(timer);
      await running?.catch(() => {});
      await boss.offWork(NOTIFICATION_QUEUE);
    },
  };
}
