/**
 * `migration-console user add`: creates a console user in the configured store, so a console set
 * up for real use gets its first admin. The password comes from MIGRATION_CONSOLE_NEW_PASSWORD or
 * standard input, never from an argument (shell history, `ps`).
 */
import os from "node:os";
import { createInterface } from "node:readline";
import { Writable } from "node:stream";
import { assertPermission } from "../lib/auth/guard";
import type { AuditActor } from "../lib/audit/log";
import { ROLE_LABELS, ROLES } from "../lib/auth/roles";
import { createUser, newUserInput } from "../lib/auth/users";
import { AppError } from "../lib/errors";
import type { ConsoleSession } from "./console-session";
import type { Output } from "./deployments";

export interface UserAddOptions {
  email?: string;
  name?: string;
  role?: string;
}

/** What is wrong with the command line, before anything is opened; null when nothing is. */
export function userAddUsageProblem(options: UserAddOptions): string | null {
  const missing = (["email", "name", "role"] as const).filter((k) => !options[k]);
  if (missing.length) return `user add needs ${missing.map((k) => `--${k}`).join(", ")}.`;
  if (!(ROLES as readonly string[]).includes(options.role!)) return `--role must be one of ${ROLES.join(", ")}.`;
  return null;
}

/** Reads the new password: the variable, else a hidden prompt on a terminal, else the first line of standard input. */
async function newPassword(env: Record<string, string | undefined>, email: string): Promise<string> {
  const fromEnv = env.MIGRATION_CONSOLE_NEW_PASSWORD;
  if (fromEnv) return fromEnv;
  if (process.stdin.isTTY) {
    const first = await hiddenPrompt(`Password for ${email}: `);
    const again = await hiddenPrompt("Again: ");
    if (first !== again) throw new AppError("invalid_input", "The two passwords differ; nothing was created.");
    return first;
  }
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(Buffer.from(chunk));
  const line = Buffer.concat(chunks).toString("utf8").split(/\r?\n/)[0] ?? "";
  if (!line) throw new AppError("invalid_input", "No password given: set MIGRATION_CONSOLE_NEW_PASSWORD or pass it on standard input.");
  return line;
}

function hiddenPrompt(question: string): Promise<string> {
  process.stderr.write(question);
  const silent = new Writable({ write: (_chunk, _enc, done) => done() });
  const rl = createInterface({ input: process.stdin, output: silent, terminal: true });
  return new Promise((resolve) =>
    rl.question("", (answer) => {
      rl.close();
      process.stderr.write("\n");
      resolve(answer);
    }),
  );
}

export async function userAddCommand(session: ConsoleSession, out: Output, options: UserAddOptions): Promise<number> {
  // With console credentials set, an admin acts; without, whoever holds the store's URL (the
  // operator setting the console up) acts, named by their OS account in the audit log.
  let actor: AuditActor;
  if (process.env.MIGRATION_CONSOLE_EMAIL) {
    const admin = await session.actor();
    assertPermission(admin, "admin:users");
    actor = admin;
  } else {
    actor = { id: null, email: `cli:${os.userInfo().username}@${os.hostname()}` };
  }
  const password = await newPassword(process.env, options.email!);
  const parsed = newUserInput.safeParse({ email: options.email, name: options.name, role: options.role, password });
  if (!parsed.success) {
    const message = parsed.error.issues.map((i) => (i.path.length ? `${i.path.join(".")}: ${i.message}` : i.message)).join("; ");
    throw new AppError("invalid_input", `Nothing was created. ${message}`);
  }
  const user = await createUser(session.store.db, actor, parsed.data);
  out.print(
    { user: { id: user.id, email: user.email, name: user.name, role: user.role } },
    `Created ${ROLE_LABELS[user.role]} ${user.name} <${user.email}>; they can sign in now.`,
  );
  return 0;
}
