/**
 * The CLI's connection to the console itself (its store, queue and gates), for commands that act
 * as a console user: the same lib/ functions and rules as the web, authenticated by the same
 * credentials (MIGRATION_CONSOLE_EMAIL and MIGRATION_CONSOLE_PASSWORD).
 */
import os from "node:os";
import type PgBoss from "pg-boss";
import { openConsoleProcess } from "../lib/boot/process";
import type { Actor } from "../lib/auth/users";
import type { ConsoleConfig } from "../lib/config/env";
import type { DeploymentDeps } from "../lib/deployments/context";
import { AppError } from "../lib/errors";
import type { Store } from "../lib/store/db";
import { signInWithPassword } from "../lib/auth/sign-in";

export interface ConsoleSession {
  config: ConsoleConfig;
  store: Store;
  /** The job queue, started on first use (only `apply --deployment` runs jobs here). */
  queue(): Promise<PgBoss>;
  deps: DeploymentDeps;
  /** The signed-in console user; throws when the credentials are missing or wrong. */
  actor(): Promise<Actor>;
  close(): Promise<void>;
}

export async function openConsoleSession(root: string): Promise<ConsoleSession> {
  const opened = await openConsoleProcess({ root, env: process.env, face: "cli", queue: "on-demand" });
  const { env, store } = opened;
  let actor: Actor | null = null;
  return {
    config: opened.config,
    store,
    queue: opened.queue,
    deps: opened.deps,
    actor: async () => {
      if (actor) return actor;
      const email = env.MIGRATION_CONSOLE_EMAIL;
      const password = env.MIGRATION_CONSOLE_PASSWORD;
      if (!email || !password) {
        throw new AppError("unauthenticated", "This command acts as a console user: set MIGRATION_CONSOLE_EMAIL and MIGRATION_CONSOLE_PASSWORD.");
      }
      // The same throttled, audited sign-in as the browser's; the client is this machine's user.
      const result = await signInWithPassword(store.db, { email, password, client: cliClient() });
      if (!result.ok) {
        throw new AppError("unauthenticated", result.throttled ? result.message : `MIGRATION_CONSOLE_EMAIL / MIGRATION_CONSOLE_PASSWORD do not match an active console user (${email}).`);
      }
      const user = result.user;
      actor = { id: user.id, email: user.email, name: user.name, role: user.role };
      return actor;
    },
    close: opened.close,
  };
}

function cliClient(): string {
  return `cli:${os.userInfo().username}@${os.hostname()}`;
}
