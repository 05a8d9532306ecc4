/**
 * `npx migration-console <command>`: the command-line face of the console, over the same lib/
 * functions as the web. Exit 0 on success; 1 with a one-line reason when the operation fails or is
 * refused; 2 on a usage error.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { closeKeptConnections, connect, redactSecrets } from "../lib/connection/connect";
import { loadCatalog, type Catalog } from "../lib/migrations";
import { ConfigError, loadTimeZone } from "../lib/config/env";
import { redactUrl, type EnvironmentConfig } from "../lib/config/environments";
import { openTargets } from "../lib/boot/process";
import { applyMigrations, describeBackupEvent, readStatus, rollbackMigrations, type RunEvent, type RunResult } from "../lib/executor";
import type { LedgerStatus } from "../lib/ledger";
import { AppError, redactedMessage, toErrorPayload } from "../lib/errors";
import { formatDateTime, formatDuration, plural } from "../lib/format";
import { closeShadowConnections } from "../lib/plan/shadow";
import { describeDriftObject, driftObjects, measureDrift } from "../lib/plan/drift";
import { snapshotSchema } from "../lib/introspect/schema-snapshot";
import type { DriftSummary } from "../lib/store/schema/environment-status";
import { probeTarget } from "../lib/targets/probe";
import { openConsoleSession, type ConsoleSession } from "./console-session";
import { applyDeploymentCommand, deploymentCommand, planCommand, type Output } from "./deployments";
import { adHocPlanCommand, FAIL_ON, PLAN_FORMATS, type FailOn, type PlanFormat } from "./plan";
import { decideDirectApply } from "../lib/gates/rules";
import { userAddCommand, userAddUsageProblem } from "./users";
import { verifyEnvironmentCommand, verifyTargetCommand } from "./verify";
import { backfillCommand } from "./backfills";
import { evidenceExportCommand, evidencePublicKeyCommand, evidenceVerifyCommand } from "./evidence";
import { evidenceSigningKey } from "../lib/verify/evidence-signing";

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
  evidence verify FILE [--public-key KEY.pem]
                                         Check a signed evidence bundle; exit 1 naming each edited file

As a console user (MIGRATION_CONSOLE_EMAIL and MIGRATION_CONSOLE_PASSWORD), under the same gates:
  deployment create --env NAME [--to TAG | --backfill NAME]
  deployment show|approve|signoff|cancel --deployment ID [--comment TEXT]
  deployment reject --deployment ID --reason TEXT
  apply --deployment ID                  Queue an approved deployment, run it, follow its log
  backfill status|pause|resume|cancel --deployment ID [--reason TEXT]
                                         A backfill deployment's progress; pause, resume or cancel it
  evidence export --env NAME --from DATE --to DATE --out FILE
                                         The signed evidence bundle, as the Compliance page exports it
  evidence public-key [--out FILE]       The console's evidence signing key (public half)

Console users:
  user add --email EMAIL --name NAME --role ROLE
                                         Create a console user (roles: engineer, release_manager,
                                         compliance_officer, admin); the password comes from
                                         MIGRATION_CONSOLE_NEW_PASSWORD or standard input

Options:
  --json                   Machine-readable output on stdout (see README, "CLI"); same as --format json
  --format FORMAT          plan only: text (default), json, or github (GitHub Actions annotations)
  --fail-on LEVEL          plan only: error (default), warning, or never
  --migrations DIR         Migrations folder (default: db/migrations)
  --lock-timeout MS        The longest one attempt may wait for a lock (default 2000); attempts
                           start shorter and ramp up to it, so traffic never queues longer
  --initial-lock-timeout MS  The first attempt's lock wait (default 100)
  --statement-timeout MS   Per-statement time limit, 0 for none (default 0)
  --max-retries N          Retries after lock timeouts (default 30)
  --allow-out-of-order     Also apply migrations older than the newest applied one
  --accept-checksums       Record the current checksums of edited applied files
  --allow-unknown          Proceed although the target's ledger has migrations these files lack
  --no-backup              Do not back up the data a migration destroys (recorded on the target)
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
  "initial-lock-timeout": { type: "string" },
  "statement-timeout": { type: "string" },
  "max-retries": { type: "string" },
  "allow-out-of-order": { type: "boolean" },
  "accept-checksums": { type: "boolean" },
  "allow-unknown": { type: "boolean" },
  "no-backup": { type: "boolean" },
  rollback: { type: "boolean" },
  format: { type: "string" },
  "fail-on": { type: "string" },
  deployment: { type: "string" },
  backfill: { type: "string" },
  comment: { type: "string" },
  reason: { type: "string" },
  from: { type: "string" },
  out: { type: "string" },
  "public-key": { type: "string" },
  email: { type: "string" },
  name: { type: "string" },
  role: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>["values"];

interface Target {
  /** What to call it in output: the environment name or the URL without its password. */
  label: string;
  url: string;
  environment: EnvironmentConfig | null;
  /** Where the ledger's implied schema can be rebuilt for the drift check, when known. */
  shadowUrl: string | null;
  release: () => Promise<unknown>;
}

export async function main(argv: string[]): Promise<number> {
  let values: Values;
  let command: string | undefined;
  let subcommand: string | undefined;
  let argument: string | undefined;
  try {
    const parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
    values = parsed.values;
    [command, subcommand, argument] = parsed.positionals;
    const allowed = command === "deployment" || command === "backfill" || command === "user" ? 2 : command === "evidence" ? (subcommand === "verify" ? 3 : 2) : 1;
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
    return await dispatch(command, subcommand, argument, values, json);
  } finally {
    // Plans keep a spare rehearsal database and pooled connections on the shadow server, and a
    // connection to their target: let go of them.
    await Promise.all([closeShadowConnections().catch(() => {}), closeKeptConnections()]);
  }
}

async function dispatch(command: string, subcommand: string | undefined, argument: string | undefined, values: Values, json: boolean): Promise<number> {
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
      case "evidence":
        if (subcommand === "export") return await withConsole((session) => evidenceExportCommand(session, output(json), { env: values.env, from: values.from, to: values.to, out: values.out }));
        if (subcommand === "public-key") return await withConsole((session) => evidencePublicKeyCommand(session, output(json), { out: values.out }));
        if (subcommand === "verify") {
          const keyFile = values["public-key"];
          if (keyFile) return await evidenceVerifyCommand(argument, async () => readKeyFile(keyFile), output(json));
          return await withConsole((session) =>
            evidenceVerifyCommand(argument, async () => (await evidenceSigningKey(session.store.db, session.config.evidenceSigningKey)).publicKeyPem, output(json)),
          );
        }
        throw new UsageError(`evidence needs export, verify or public-key${subcommand ? `, not "${subcommand}"` : ""}.`);
      case "user":
        if (subcommand !== "add") throw new UsageError(subcommand ? `Unknown user command "${subcommand}".` : "user needs a command: add.");
        {
          const problem = userAddUsageProblem(values);
          if (problem) throw new UsageError(problem);
        }
        return await withConsole((session) => userAddCommand(session, output(json), values));
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

function readKeyFile(file: string): string {
  try {
    return fs.readFileSync(path.resolve(file), "utf8");
  } catch (e) {
    throw new AppError("not_found", `Cannot read the public key ${file}: ${(e as Error).message}`);
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
    // The whole message: a journal or configuration problem lists the fields at fault on the lines after the first.
    process.stderr.write(`error: ${payload.message}\n`);
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
 * unset and no store is configured, from the demo's embedded cluster (shared with the console and
 * other commands through a lease: started for this command if nobody runs it, and stopped again
 * after only when this command was the last one using a cluster a command started).
 */
async function openRegistry(): Promise<{ environments: EnvironmentConfig[]; shadowUrl: string | null; release: () => Promise<unknown> }> {
  const opened = await openTargets({ root, env: process.env });
  return { ...opened, shadowUrl: opened.shadowUrl };
}

/** --database-url targets an ad-hoc database (ungated); --env an environment of the registry. */
async function resolveTarget(values: Values): Promise<Target> {
  if (values["database-url"] && values.env) throw new UsageError("Give either --env or --database-url, not both.");
  const adHoc = values["database-url"];
  if (adHoc) {
    if (!/^postgres(ql)?:\/\//.test(adHoc)) throw new UsageError("--database-url must be a postgres:// URL.");
    return { label: redactUrl(adHoc), url: adHoc, environment: null, shadowUrl: process.env.SHADOW_DATABASE_URL || null, release: async () => {} };
  }
  if (!values.env) throw new UsageError("Say which target: --env NAME or --database-url URL.");
  const registry = await openRegistry();
  const environment = registry.environments.find((e) => e.name === values.env);
  if (!environment?.url) {
    await registry.release();
    if (!environment) throw new UsageError(`Unknown environment "${values.env}". Known: ${registry.environments.map((e) => e.name).join(", ")}.`);
    throw new ConfigError([`${environment.urlEnv} is not set, so the ${environment.name} target's URL is unknown.`]);
  }
  return { label: environment.name, url: environment.url, environment, shadowUrl: registry.shadowUrl, release: registry.release };
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
    const gate = r.gates.releaseManagerApprovals > 0 ? plural(r.gates.releaseManagerApprovals, "approval") : "ungated";
    process.stdout.write(`${String(r.position + 1).padStart(2)}. ${r.name.padEnd(12)} ${gate.padEnd(14)} ${reach}\n`);
  }
  return 0;
}

/** The live schema against what the ledger implies; unchecked (with why) when no shadow server is known. */
async function liveDrift(target: Target, catalog: Catalog, current: string | null): Promise<DriftSummary> {
  const checkedAt = new Date().toISOString();
  if (!target.shadowUrl) return { drifted: null, objects: [], unchecked: "No server to rebuild the implied schema on: set SHADOW_DATABASE_URL.", checkedAt };
  const sql = connect(target.url, { application: "migration-console status", connectTimeoutMs: 10_000 });
  try {
    const live = await snapshotSchema(sql);
    const objects = driftObjects(await measureDrift({ shadow: { adminUrl: target.shadowUrl }, catalog, current, targetUrl: target.url, live }));
    return { drifted: objects.length > 0, objects, unchecked: null, checkedAt };
  } catch (e) {
    return { drifted: null, objects: [], unchecked: `Drift could not be checked: ${redactSecrets((e as Error).message)}`, checkedAt };
  } finally {
    await sql.end({ timeout: 5 });
  }
}

function statusJson(target: Target, status: LedgerStatus, drift: DriftSummary) {
  return {
    ok: true,
    target: target.label,
    current: status.current,
    pending: status.pending,
    problems: status.problems,
    drift: { drifted: drift.drifted, objects: drift.objects, unchecked: drift.unchecked },
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
      partial: m.partial,
    })),
    unknown: status.unknown,
  };
}

async function statusCommand(values: Values, target: Target, json: boolean): Promise<number> {
  const catalog = await catalogFor(values);
  const status = await readStatus(target.url, catalog);
  const drift = await liveDrift(target, catalog, status.current);
  if (json) {
    process.stdout.write(`${JSON.stringify(statusJson(target, status, drift), null, 2)}\n`);
    return 0;
  }
  const timeZone = loadTimeZone(process.env);
  const partial = status.problems.partiallyApplied.length;
  process.stdout.write(`${target.label}: at ${status.current ?? "(nothing applied)"}, ${status.pending.length} pending${partial ? ` (${partial} partially applied)` : ""}\n`);
  if (drift.drifted === null) process.stdout.write(`  drift not checked: ${drift.unchecked}\n`);
  else if (!drift.drifted) process.stdout.write("  no drift: the live schema is what the applied migrations produce\n");
  else {
    process.stdout.write(`  DRIFT: ${plural(drift.objects.length, "object")} differ from what the applied migrations produce\n`);
    for (const o of drift.objects) process.stdout.write(`    ${describeDriftObject(o)}\n`);
  }
  for (const m of status.migrations) {
    const when = m.appliedAt ? ` ${formatDateTime(m.appliedAt, timeZone)} by ${m.appliedBy} in ${formatDuration(m.durationMs ?? 0)}` : "";
    process.stdout.write(`  ${m.state.padEnd(17)} ${m.tag}${when}\n`);
    if (m.state === "checksum_mismatch" || m.state === "out_of_order" || m.state === "partially_applied") process.stdout.write(`    ${m.explanation}\n`);
    if (m.partial) {
      process.stdout.write(`    statements committed: ${m.partial.statementsDone} of ${m.partial.statementsTotal}${m.partial.runId ? ` (run ${m.partial.runId})` : ""}\n`);
      for (const index of m.partial.indexes) process.stdout.write(`    index ${index.name}: ${index.state === "missing" ? "not built" : index.state}\n`);
    }
  }
  for (const u of status.unknown) process.stdout.write(`  unknown           ${u.tag ?? u.hash.slice(0, 12)}: ${u.explanation}\n`);
  return 0;
}

function intOption(values: Values, name: "lock-timeout" | "initial-lock-timeout" | "statement-timeout" | "max-retries"): number | undefined {
  const raw = values[name];
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`--${name} takes a whole number ≥ 0.`);
  return n;
}

async function runCommand(kind: "apply" | "rollback", values: Values, target: Target, json: boolean): Promise<number> {
  // Gated (or frozen) environments change only through an approved deployment in the console.
  if (target.environment) {
    const gate = decideDirectApply({ actor: null, environment: target.environment, kind, now: new Date() });
    if (!gate.allowed) throw new RefusedError(gate.reason!);
  }
  if (kind === "rollback" && !values.to && !values.all) throw new UsageError("rollback needs --to TAG (or --all to roll back everything).");
  const catalog = await catalogFor(values);
  const options = {
    lockTimeoutMs: intOption(values, "lock-timeout"),
    initialLockTimeoutMs: intOption(values, "initial-lock-timeout"),
    statementTimeoutMs: intOption(values, "statement-timeout"),
    maxRetries: intOption(values, "max-retries"),
  };
  const actor = `cli:${os.userInfo().username}`;
  const common = {
    url: target.url,
    catalog,
    actor,
    backup: values["no-backup"] ? { declined: `--no-backup (${actor})` } : { retentionDays: target.environment?.backupRetentionDays },
    options: Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)),
    onEvent: json ? undefined : printEvent,
    directUrlHint: target.environment?.directUrlEnv ?? undefined,
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
    const out = { ok: true, runId: result.runId, direction: result.direction, migrations: result.migrations, durationMs: result.durationMs, current: result.status.current, pending: result.status.pending, backups: result.backups };
    process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
  } else if (result.migrations.length === 0) {
    process.stdout.write(`${target.label}: nothing to ${kind === "apply" ? "apply" : "roll back"}; at ${result.status.current ?? "(nothing applied)"}\n`);
  } else {
    process.stdout.write(`${target.label}: ${kind === "apply" ? "applied" : "rolled back"} ${plural(result.migrations.length, "migration")} in ${result.durationMs} ms; now at ${result.status.current ?? "(nothing applied)"}\n`);
    for (const b of result.backups.taken) process.stdout.write(`  backed up ${b.table} (${b.columns.join(", ")}): ${b.rows} row(s), checked, kept until ${b.expiresAt?.slice(0, 10) ?? "removed by hand"}\n`);
    for (const r of result.backups.restored) process.stdout.write(`  restored ${r.table} (${r.columns.join(", ")}): ${r.rows} row(s), checksum equal to the backup\n`);
    for (const n of result.backups.notRestored) process.stdout.write(`  NOT restored ${n.table}: ${n.reason}\n`);
    for (const d of result.backups.declined) process.stdout.write(`  no backup (${d.reason}): ${d.data.join("; ")}\n`);
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
      process.stderr.write(`      ${e.message}\n`);
      break;
    case "statement_skipped":
      process.stderr.write(`      ${String(e.statement).padStart(3)}/${e.of} ${e.summary}: skipped, ${e.reason}\n`);
      break;
    case "invalid_index_dropped":
      process.stderr.write(`      dropped invalid index ${e.index}: ${e.reason}\n`);
      break;
    case "checksum_accepted":
      process.stderr.write(`      accepted the edited file's checksum for ${e.tag}\n`);
      break;
    case "backup_taken":
    case "backup_verified":
    case "backup_declined":
    case "backup_discarded":
    case "backup_restored":
    case "backup_not_restored":
      process.stderr.write(`      ${describeBackupEvent(e)}\n`);
      break;
    default:
      break;
  }
}
