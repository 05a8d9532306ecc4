/**
 * `npx migration-console <command>`: the command-line face of the console, over the same lib/
 * functions as the web. Exit 0 on success; 1 with a one-line reason when the operation fails or is
 * refused; 2 on a usage error.
 */
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { loadCatalog, type Catalog } from "../lib/catalog";
import { ConfigError, loadRegistry } from "../lib/config/env";
import { redactUrl, type EnvironmentConfig } from "../lib/config/environments";
import { prepareDemoTargets } from "../lib/embedded/demo-targets";
import { demoSettings, startDemoCluster } from "../lib/embedded/demo-cluster";
import { applyMigrations, readStatus, rollbackMigrations, type RunEvent, type RunResult } from "../lib/executor";
import type { LedgerStatus } from "../lib/ledger";
import { AppError, redactedMessage, toErrorPayload } from "../lib/errors";
import { activeFreezeWindow } from "../lib/gates/rules";
import { closeShadowConnections } from "../lib/plan/shadow";
import { probeTarget } from "../lib/targets/probe";
import { openConsoleSession, type ConsoleSession } from "./console-session";
import { applyDeploymentCommand, deploymentCommand, planCommand, type Output } from "./deployments";
import { adHocPlanCommand, FAIL_ON, PLAN_FORMATS, type FailOn, type PlanFormat } from "./plan";
import { verifyEnvironmentCommand, verifyTargetCommand } from "./verify";
import { backfillCommand } from "./backfills";

const root = path.resolve(__dirname, "..");

const USAGE = `Usage: migration-console <command> [options]

Commands:
  envs                                   The environments, their gate policy and whether each answers
  status   (--env NAME | --database-url URL)
                                         Applied and pending migrations, and ledger problems
  apply    (--env NAME | --database-url URL) [--to TAG]
                                         Apply pending migrations up to TAG (default: the latest)
  rollback (--env NAME | --database-url URL) (--to TAG | --all)
                                         Roll back every migration applied after TAG
  plan     (--env NAME | --database-url URL) [--to TAG] [--rollback] [--fail-on LEVEL] [--format FORMAT]
                                         Plan a deployment: lint, rehearsal on SHADOW_DATABASE_URL,
                                         schema diff, drift, plan hash. Exit 1 when blocked, when the
                                         rehearsal fails, or when a finding reaches --fail-on
  verify   --env NAME | --database-url URL
                                         Run the compliance checks; exit 1 if any fails or cannot run

As a console user (MIGRATION_CONSOLE_EMAIL and MIGRATION_CONSOLE_PASSWORD), under the same gates:
  deployment create --env NAME [--to TAG | --backfill NAME]
  deployment show|approve|signoff|cancel --deployment ID [--comment TEXT]
  deployment reject --deployment ID --reason TEXT
  apply --deployment ID                  Queue an approved deployment, run it, follow its log
  backfill status|pause|resume|cancel --deployment ID [--reason TEXT]
                                         A backfill deployment's progress; pause, resume or cancel it

Options:
  --json                   Machine-readable output on stdout (see README, "CLI"); same as --format json
  --format FORMAT          plan only: text (default), json, or github (GitHub Actions annotations)
  --fail-on LEVEL          plan only: error (default), warning, or never
  --migrations DIR         Migrations folder (default: db/migrations)
  --lock-timeout MS        How long a statement may wait for a lock before retrying (default 2000)
  --statement-timeout MS   Per-statement time limit, 0 for none (default 0)
  --max-retries N          Retries after lock timeouts (default 5)
  --allow-out-of-order     Also apply migrations older than the newest applied one
  --accept-checksums       Record the current checksums of edited applied files
  --allow-unknown          Proceed although the target's ledger has migrations these files lack
`;

class UsageError extends Error {}

/** The operation is not allowed from here (a gate), as opposed to failing. */
class RefusedError extends Error {
  readonly code = "gated";
}

const OPTIONS = {
  env: { type: "string" },
  "database-url": { type: "string" },
  to: { type: "string" },
  all: { type: "boolean" },
  json: { type: "boolean" },
  migrations: { type: "string" },
  "lock-timeout": { type: "string" },
  "statement-timeout": { type: "string" },
  "max-retries": { type: "string" },
  "allow-out-of-order": { type: "boolean" },
  "accept-checksums": { type: "boolean" },
  "allow-unknown": { type: "boolean" },
  rollback: { type: "boolean" },
  format: { type: "string" },
  "fail-on": { type: "string" },
  deployment: { type: "string" },
  backfill: { type: "string" },
  comment: { type: "string" },
  reason: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>["values"];

interface Target {
  /** What to call it in output: the environment name or the URL without its password. */
  label: string;
  url: string;
  environment: EnvironmentConfig | null;
  release: () => Promise<void>;
}

export async function main(argv: string[]): Promise<number> {
  let values: Values;
  let command: string | undefined;
  let subcommand: string | undefined;
  try {
    const parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
    values = parsed.values;
    [command, subcommand] = parsed.positionals;
    const allowed = command === "deployment" || command === "backfill" ? 2 : 1;
    if (parsed.positionals.length > allowed) throw new UsageError(`Unexpected argument "${parsed.positionals[allowed]}".`);
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (values.help || !command) {
    process.stdout.write(USAGE);
    return command || values.help ? 0 : 2;
  }
  const json = Boolean(values.json);
  try {
    return await dispatch(command, subcommand, values, json);
  } finally {
    // Plans keep a spare rehearsal database and pooled connections on the shadow server: let go of them.
    await closeShadowConnections().catch(() => {});
  }
}

async function dispatch(command: string, subcommand: string | undefined, values: Values, json: boolean): Promise<number> {
  try {
    switch (command) {
      case "envs":
        return await envsCommand(json);
      case "status":
        return await withTarget(values, (target) => statusCommand(values, target, json));
      case "apply":
        if (values.deployment) return await withConsole((session) => applyDeploymentCommand(session, output(json), values.deployment));
        return await withTarget(values, (target) => runCommand("apply", values, target, json));
      case "plan": {
        const format = planFormat(values);
        const options = { to: values.to ?? null, rollback: Boolean(values.rollback), failOn: failOn(values), format, catalog: await catalogFor(values) };
        const out = output(format === "json");
        if (values["database-url"]) {
          if (values.env) throw new UsageError("Give either --env or --database-url, not both.");
          return await withTarget(values, (target) => adHocPlanCommand(out, { ...options, label: target.label, url: target.url, shadowUrl: shadowUrlFromEnv() }));
        }
        if (!values.env) throw new UsageError("plan needs --env NAME or --database-url URL.");
        return await withConsole((session) => planCommand(session, out, { ...options, env: values.env! }));
      }
      case "verify":
        if (values["database-url"]) return await withTarget(values, (target) => verifyTargetCommand(target, output(json)));
        if (!values.env) throw new UsageError("verify needs --env NAME or --database-url URL.");
        return await withConsole((session) => verifyEnvironmentCommand(session, output(json), values.env!));
      case "deployment":
        // A deployment is planned and applied by the console from its own migrations folder.
        if (values.migrations) throw new UsageError("deployment commands use the console's own migrations (db/migrations); --migrations applies to status, apply, rollback and plan.");
        return await withConsole((session) => deploymentCommand(session, output(json), subcommand, values));
      case "backfill":
        return await withConsole((session) => backfillCommand(session, output(json), subcommand, values));
      case "rollback":
        return await withTarget(values, (target) => runCommand("rollback", values, target, json));
      default:
        throw new UsageError(`Unknown command "${command}".`);
    }
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`${e.message}\n\n${USAGE}`);
      return 2;
    }
    return fail(json, e);
  }
}

/** Every failure through the one mapping (lib/errors), so the CLI says what the browser says. */
function fail(json: boolean, e: unknown): number {
  const payload = toErrorPayload(e instanceof RefusedError ? new AppError("gated", e.message) : e, (message, error) =>
    process.stderr.write(`[migration-console] ${message}: ${redactedMessage(error)}\n`),
  );
  // Executor failures keep their facts at the top level (blockers, file, line, leftBehind), as before.
  const { status: _status, details, ...rest } = payload;
  const error: Record<string, unknown> = { ...rest, ...details };
  if (json) process.stdout.write(`${JSON.stringify({ ok: false, error }, null, 2)}\n`);
  else {
    // A configuration error lists every problem; anything else is one line.
    process.stderr.write(`error: ${e instanceof ConfigError ? payload.message : payload.message.split("\n")[0]}\n`);
    if (typeof error.leftBehind === "string") process.stderr.write(`${error.leftBehind}\n`);
    if (payload.hint) process.stderr.write(`${payload.hint}\n`);
  }
  return 1;
}

function output(json: boolean): Output {
  return {
    json,
    print: (value, text) => process.stdout.write(`${json ? JSON.stringify({ ok: true, ...(value as object) }, null, 2) : text}\n`),
    progress: (text) => {
      if (!json) process.stderr.write(`${text}\n`);
    },
  };
}

async function withConsole(run: (session: ConsoleSession) => Promise<number>): Promise<number> {
  const session = await openConsoleSession(root);
  try {
    return await run(session);
  } finally {
    await session.close();
  }
}

async function withTarget(values: Values, run: (target: Target) => Promise<number>): Promise<number> {
  const target = await resolveTarget(values);
  try {
    return await run(target);
  } finally {
    await target.release();
  }
}

/**
 * The registry with every target's URL. A URL comes from the environment's variable; when it is
 * unset and no store is configured, from the demo's embedded cluster (started for this command if
 * the console is not running, and stopped again after).
 */
async function openRegistry(): Promise<{ environments: EnvironmentConfig[]; release: () => Promise<void> }> {
  const registry = loadRegistry(process.env, root);
  const missing = registry.environments.filter((e) => !e.url);
  if (missing.length === 0 || process.env.CONSOLE_DATABASE_URL) return { environments: registry.environments, release: async () => {} };
  const cluster = await startDemoCluster({ ...demoSettings(process.env, root), registry, log: () => {} });
  await prepareDemoTargets(cluster, registry, await catalogFor({}), () => {});
  return {
    environments: registry.environments.map((e) => ({ ...e, url: e.url ?? cluster.env[e.urlEnv] ?? null })),
    release: async () => {
      await cluster.stop();
    },
  };
}

/** --database-url targets an ad-hoc database (ungated); --env an environment of the registry. */
async function resolveTarget(values: Values): Promise<Target> {
  if (values["database-url"] && values.env) throw new UsageError("Give either --env or --database-url, not both.");
  const adHoc = values["database-url"];
  if (adHoc) {
    if (!/^postgres(ql)?:\/\//.test(adHoc)) throw new UsageError("--database-url must be a postgres:// URL.");
    return { label: redactUrl(adHoc), url: adHoc, environment: null, release: async () => {} };
  }
  if (!values.env) throw new UsageError("Say which target: --env NAME or --database-url URL.");
  const registry = await openRegistry();
  const environment = registry.environments.find((e) => e.name === values.env);
  if (!environment?.url) {
    await registry.release();
    if (!environment) throw new UsageError(`Unknown environment "${values.env}". Known: ${registry.environments.map((e) => e.name).join(", ")}.`);
    throw new ConfigError([`${environment.urlEnv} is not set, so the ${environment.name} target's URL is unknown.`]);
  }
  return { label: environment.name, url: environment.url, environment, release: registry.release };
}

function planFormat(values: Values): PlanFormat {
  const format = values.format ?? (values.json ? "json" : "text");
  if (!(PLAN_FORMATS as readonly string[]).includes(format)) throw new UsageError(`--format takes ${PLAN_FORMATS.join(", ")}.`);
  if (values.json && format !== "json") throw new UsageError("--json and --format are exclusive.");
  return format as PlanFormat;
}

function failOn(values: Values): FailOn {
  const level = values["fail-on"] ?? "error";
  if (!(FAIL_ON as readonly string[]).includes(level)) throw new UsageError(`--fail-on takes ${FAIL_ON.join(", ")}.`);
  return level as FailOn;
}

/** The one setting an ad-hoc plan needs besides its target: where to rehearse. */
function shadowUrlFromEnv(): string {
  const url = process.env.SHADOW_DATABASE_URL;
  if (!url) throw new ConfigError(["SHADOW_DATABASE_URL is not set: a plan rehearses on a PostgreSQL server that hosts no target, where the console may create throw-away databases."]);
  if (!/^postgres(ql)?:\/\//.test(url)) throw new ConfigError(["SHADOW_DATABASE_URL: must be a postgres:// or postgresql:// URL"]);
  return url;
}

function catalogFor(values: Pick<Values, "migrations">): Promise<Catalog> {
  return loadCatalog(path.resolve(values.migrations ?? path.join(root, "db/migrations")));
}

async function envsCommand(json: boolean): Promise<number> {
  const registry = await openRegistry();
  const rows = await Promise.all(
    registry.environments.map(async (e) => ({
      name: e.name,
      position: e.position,
      urlEnv: e.urlEnv,
      configured: Boolean(e.url),
      gates: e.gates,
      probe: e.url ? await probeTarget(e.url, 3) : null,
    })),
  ).finally(registry.release);
  if (json) {
    process.stdout.write(`${JSON.stringify({ ok: true, environments: rows }, null, 2)}\n`);
    return 0;
  }
  for (const r of rows) {
    const reach = !r.probe ? `${r.urlEnv} unset` : r.probe.reachable ? `answers (PostgreSQL ${r.probe.serverVersion})` : `unreachable: ${r.probe.error}`;
    const gate = r.gates.releaseManagerApprovals > 0 ? `${r.gates.releaseManagerApprovals} approval(s)` : "ungated";
    process.stdout.write(`${String(r.position + 1).padStart(2)}. ${r.name.padEnd(12)} ${gate.padEnd(14)} ${reach}\n`);
  }
  return 0;
}

function statusJson(target: Target, status: LedgerStatus) {
  return {
    ok: true,
    target: target.label,
    current: status.current,
    pending: status.pending,
    problems: status.problems,
    migrations: status.migrations.map((m) => ({
      tag: m.tag,
      state: m.state,
      checksum: m.checksum,
      appliedHash: m.appliedHash,
      appliedAt: m.appliedAt?.toISOString() ?? null,
      appliedBy: m.appliedBy,
      durationMs: m.durationMs,
      runId: m.runId,
      explanation: m.explanation,
    })),
    unknown: status.unknown,
  };
}

async function statusCommand(values: Values, target: Target, json: boolean): Promise<number> {
  const status = await readStatus(target.url, await catalogFor(values));
  if (json) {
    process.stdout.write(`${JSON.stringify(statusJson(target, status), null, 2)}\n`);
    return 0;
  }
  process.stdout.write(`${target.label}: at ${status.current ?? "(nothing applied)"}, ${status.pending.length} pending\n`);
  for (const m of status.migrations) {
    const when = m.appliedAt ? ` ${m.appliedAt.toISOString()} by ${m.appliedBy} in ${m.durationMs} ms` : "";
    process.stdout.write(`  ${m.state.padEnd(17)} ${m.tag}${when}\n`);
    if (m.state === "checksum_mismatch" || m.state === "out_of_order") process.stdout.write(`    ${m.explanation}\n`);
  }
  for (const u of status.unknown) process.stdout.write(`  unknown           ${u.tag ?? u.hash.slice(0, 12)}: ${u.explanation}\n`);
  return 0;
}

function intOption(values: Values, name: "lock-timeout" | "statement-timeout" | "max-retries"): number | undefined {
  const raw = values[name];
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`--${name} takes a whole number ≥ 0.`);
  return n;
}

async function runCommand(kind: "apply" | "rollback", values: Values, target: Target, json: boolean): Promise<number> {
  // Gated environments change only through an approved deployment in the console.
  const approvals = target.environment?.gates.releaseManagerApprovals ?? 0;
  if (approvals > 0) {
    throw new RefusedError(
      `${target.label} requires ${approvals} release-manager approval(s): ${kind} it through a deployment in the console, not directly from the CLI.`,
    );
  }
  // A freeze window holds for every face, the CLI's direct apply on an ungated environment too.
  const freeze = target.environment ? activeFreezeWindow(target.environment.gates, new Date()) : undefined;
  if (freeze) throw new RefusedError(`${target.label} is frozen until ${freeze.end}: ${freeze.reason}`);
  if (kind === "rollback" && !values.to && !values.all) throw new UsageError("rollback needs --to TAG (or --all to roll back everything).");
  const catalog = await catalogFor(values);
  const options = {
    lockTimeoutMs: intOption(values, "lock-timeout"),
    statementTimeoutMs: intOption(values, "statement-timeout"),
    maxRetries: intOption(values, "max-retries"),
  };
  const common = {
    url: target.url,
    catalog,
    actor: `cli:${os.userInfo().username}`,
    options: Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)),
    onEvent: json ? undefined : printEvent,
  };
  const result: RunResult =
    kind === "apply"
      ? await applyMigrations({
          ...common,
          to: values.to ?? null,
          allowOutOfOrder: values["allow-out-of-order"],
          acceptChecksums: values["accept-checksums"],
          allowUnknown: values["allow-unknown"],
        })
      : await rollbackMigrations({ ...common, to: values.all ? null : values.to! });
  if (json) {
    const out = { ok: true, runId: result.runId, direction: result.direction, migrations: result.migrations, durationMs: result.durationMs, current: result.status.current, pending: result.status.pending };
    process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
  } else if (result.migrations.length === 0) {
    process.stdout.write(`${target.label}: nothing to ${kind === "apply" ? "apply" : "roll back"}; at ${result.status.current ?? "(nothing applied)"}\n`);
  } else {
    process.stdout.write(`${target.label}: ${kind === "apply" ? "applied" : "rolled back"} ${result.migrations.length} migration(s) in ${result.durationMs} ms; now at ${result.status.current ?? "(nothing applied)"}\n`);
  }
  return 0;
}

function printEvent(e: RunEvent & { at: Date }): void {
  switch (e.type) {
    case "migration_started":
      process.stderr.write(`[${e.n}/${e.of}] ${e.tag}${e.transactional ? "" : " (non-transactional)"}\n`);
      break;
    case "statement_finished":
      process.stderr.write(`      ${String(e.statement).padStart(3)}/${e.of} ${e.summary} (${e.durationMs} ms)\n`);
      break;
    case "retry":
      process.stderr.write(`      lock wait too long; retry ${e.attempt}/${e.maxRetries} in ${e.delayMs} ms\n`);
      break;
    case "invalid_index_dropped":
      process.stderr.write(`      dropped invalid index ${e.index}: ${e.reason}\n`);
      break;
    case "checksum_accepted":
      process.stderr.write(`      accepted the edited file's checksum for ${e.tag}\n`);
      break;
    default:
      break;
  }
}
