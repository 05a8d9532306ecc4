/**
 * Throw-away databases for rehearsals, on a server where the console may create databases
 * (the embedded one by default, SHADOW_DATABASE_URL otherwise), like Prisma's shadow database.
 *
 * A rehearsal starts from the schema the target's applied migrations produce. Replaying the whole
 * history for every plan costs more with every migration, so each version is built once into a
 * template database (named by a hash of everything that decides its content) and every rehearsal
 * at that version is a copy of it (CREATE DATABASE ... TEMPLATE).
 */
import { createHash, randomBytes } from "node:crypto";
import type postgres from "postgres";
import type { Catalog } from "../migrations";
import { applyMigrations, ExecutorError } from "../executor";
import { ENSURE_LEDGER_SQL } from "../ledger";
import { connect, describeConnectionError } from "../connection/connect";

export interface ShadowServer {
  /** Superuser (or CREATEDB) URL of a maintenance database on that server. Contains a password. */
  adminUrl: string;
}

export interface ShadowDatabase {
  url: string;
  /** The template it is a copy of; null for an empty one. */
  template: string | null;
  drop(): Promise<void>;
}

const TEMPLATE_PREFIX = "shadow_tpl_";
/** Templates kept per server user; older ones are dropped when a new one is built. */
const TEMPLATES_KEPT = 6;
/** Bump when the way templates are built changes, so old ones are not reused. */
const TEMPLATE_FORMAT = 1;

export async function createShadowDatabase(server: ShadowServer): Promise<ShadowDatabase> {
  return withAdmin(server, async (admin) => {
    const name = shadowName();
    await create(admin, name);
    return handle(server, name, null);
  });
}

/**
 * A shadow database at `tag`: every migration of `catalog` up to it applied, with the ledger rows the
 * executor writes. A copy of the template for that version, built first when there is none.
 */
export async function createShadowDatabaseAt(server: ShadowServer, catalog: Catalog, tag: string): Promise<ShadowDatabase> {
  return withAdmin(server, async (admin) => {
    const template = await templateName(admin, server, catalog, tag);
    const spare = await takeSpare(server, template);
    if (spare) return handle(server, spare, template);
    const name = shadowName();
    try {
      await create(admin, name, template);
    } catch (e) {
      if ((e as { code?: string }).code !== "3D000") throw e;
      // No template for this version yet (or it was just pruned): build it, then copy it.
      await buildTemplate(server, admin, catalog, tag, template);
      await create(admin, name, template);
    }
    return handle(server, name, template);
  });
}

/**
 * One spare copy per template, made in the background once a rehearsal at that version is over (not
 * while it runs: the copy would compete with it), so the next rehearsal at that version (a re-plan, the
 * check before an apply, the next deployment) starts at once instead of waiting for CREATE DATABASE.
 * Dropped when unused for SPARE_SECONDS, and by closeShadowConnections.
 */
const spares = new Map<string, { name: Promise<string | null>; timer: NodeJS.Timeout }>();
const SPARE_SECONDS = 30;
const spareKey = (server: ShadowServer, template: string) => `${server.adminUrl}\u0000${template}`;

async function takeSpare(server: ShadowServer, template: string): Promise<string | null> {
  const spare = spares.get(spareKey(server, template));
  if (!spare) return null;
  spares.delete(spareKey(server, template));
  clearTimeout(spare.timer);
  return spare.name;
}

function makeSpare(server: ShadowServer, template: string): void {
  const key = spareKey(server, template);
  if (spares.has(key)) return;
  const name = shadowName();
  const made = create(adminPool(server), name, template).then(
    () => name,
    () => null, // the template is being pruned or the server is busy: the next rehearsal copies it itself
  );
  const timer = setTimeout(() => {
    if (spares.get(key)?.name !== made) return;
    spares.delete(key);
    void dropSpare(server, made);
  }, SPARE_SECONDS * 1000);
  timer.unref();
  spares.set(key, { name: made, timer });
}

async function dropSpare(server: ShadowServer, made: Promise<string | null>): Promise<void> {
  const name = await made;
  if (name) await adminPool(server).unsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`).catch(() => {});
}

/**
 * One small pool per shadow server, kept while plans come (closed after a few idle seconds): creating and
 * dropping a rehearsal database then costs no new connection and authentication each time.
 */
const pools = new Map<string, postgres.Sql>();
const POOL_IDLE_SECONDS = 5;

function adminPool(server: ShadowServer): postgres.Sql {
  let pool = pools.get(server.adminUrl);
  if (!pool) {
    pool = connect(server.adminUrl, { application: "migration-console shadow", max: 2, idleTimeoutSeconds: POOL_IDLE_SECONDS, fetchTypes: false });
    pools.set(server.adminUrl, pool);
  }
  return pool;
}

/** Drops the spare copies and closes the pooled shadow-server connections (before a process exits). */
export async function closeShadowConnections(): Promise<void> {
  await shadowBackgroundWork();
  const waiting = [...spares.entries()];
  spares.clear();
  await Promise.all(
    waiting.map(([key, spare]) => {
      clearTimeout(spare.timer);
      return dropSpare({ adminUrl: key.split("\u0000")[0]! }, spare.name);
    }),
  );
  const all = [...pools.values()];
  pools.clear();
  await Promise.all(all.map((p) => p.end({ timeout: 5 })));
}

async function withAdmin<T>(server: ShadowServer, work: (admin: postgres.Sql) => Promise<T>): Promise<T> {
  await clusterBeingRestored.get(server.adminUrl);
  try {
    return await work(adminPool(server));
  } catch (e) {
    // A migration that fails while a template is built says so itself (file, line, column).
    if (e instanceof ExecutorError) throw e;
    throw new Error(`Cannot create a rehearsal database on the shadow server: ${describeConnectionError(e)}`, { cause: e });
  }
}

const shadowName = () => `shadow_${Date.now().toString(36)}_${randomBytes(4).toString("hex")}`;

async function create(admin: postgres.Sql, name: string, template?: string): Promise<void> {
  await admin.unsafe(`CREATE DATABASE "${name}"${template ? ` TEMPLATE "${template}"` : ""}`);
}

function databaseUrl(server: ShadowServer, name: string): string {
  const url = new URL(server.adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

function handle(server: ShadowServer, name: string, template: string | null): ShadowDatabase {
  return { url: databaseUrl(server, name), template, drop: () => release(server, name, template) };
}

/** Rehearsal databases being dropped, and the spare copies being made after them. */
const releasing = new Set<Promise<void>>();
/** Rehearsal databases whose drop failed (the server was busy or unreachable): tried again on the next release. */
const undropped = new Map<string, ShadowServer>();

/**
 * Drops a rehearsal database, then makes the template's spare copy. A caller may leave it running in
 * the background (see shadowBackgroundWork); a drop that fails is tried again with the next one, and a
 * database left by a killed process is swept when the next template is built.
 */
function release(server: ShadowServer, name: string, template: string | null): Promise<void> {
  const work = (async () => {
    const drop = (s: ShadowServer, n: string) => adminPool(s).unsafe(`DROP DATABASE IF EXISTS "${n}" WITH (FORCE)`);
    try {
      await drop(server, name);
    } catch (e) {
      undropped.set(name, server);
      throw e;
    }
    for (const [n, s] of [...undropped]) {
      undropped.delete(n);
      await drop(s, n).catch(() => undropped.set(n, s));
    }
    if (template) makeSpare(server, template);
  })();
  releasing.add(work);
  void work.then(
    () => releasing.delete(work),
    () => releasing.delete(work),
  );
  return work;
}

/**
 * Roles put back after a cluster-wide rehearsal, per shadow server, off the plan's path: every later
 * rehearsal there (withAdmin: a copy, a role snapshot) waits for them first, so none starts from a
 * changed cluster.
 */
const clusterBeingRestored = new Map<string, Promise<void>>();

/** Puts the cluster-wide objects back (see keepClusterObjects) once the rehearsal's database is dropped: a role it created may own privileges there. */
export function restoreClusterObjectsAfter(server: ShadowServer, dropped: Promise<void>, restore: () => Promise<void>): void {
  const url = server.adminUrl;
  const work = (clusterBeingRestored.get(url) ?? Promise.resolve())
    .then(() => dropped.catch(() => {}))
    .then(restore)
    .catch(() => {}); // best effort, like restore itself
  clusterBeingRestored.set(url, work);
  releasing.add(work);
  void work.then(() => {
    releasing.delete(work);
    if (clusterBeingRestored.get(url) === work) clusterBeingRestored.delete(url);
  });
}

/** Resolves once every rehearsal database released so far is dropped, its spare copy made and roles put back. */
export async function shadowBackgroundWork(): Promise<void> {
  while (releasing.size > 0) await Promise.allSettled([...releasing]);
  for (const [n, s] of [...undropped]) {
    undropped.delete(n);
    await adminPool(s).unsafe(`DROP DATABASE IF EXISTS "${n}" WITH (FORCE)`).catch(() => {});
  }
  await Promise.allSettled([...spares.values()].map((spare) => spare.name));
}

/**
 * Everything that decides a template's content: the server's version, the user that builds it (it owns
 * every object, and only it may copy it without being a superuser), the ledger tables, each file up to `tag`.
 */
async function templateName(admin: postgres.Sql, shadow: ShadowServer, catalog: Catalog, tag: string): Promise<string> {
  const upTo = catalog.byTag(tag);
  if (!upTo) throw new Error(`There is no migration "${tag}" in the files.`);
  const server = await serverIdentity(admin, shadow);
  const hash = createHash("sha256").update(JSON.stringify({ format: TEMPLATE_FORMAT, ...server, ledger: ENSURE_LEDGER_SQL }));
  for (const m of catalog.migrations) if (m.idx <= upTo.idx) hash.update(`\n${m.tag} ${m.when} ${m.checksum}`);
  return `${TEMPLATE_PREFIX}${hash.digest("hex").slice(0, 40)}`;
}

/** The shadow server's version and the URL's user, read once per URL (a major upgrade restarts the console). */
const identities = new Map<string, { version: string; user: string }>();
async function serverIdentity(admin: postgres.Sql, shadow: ShadowServer): Promise<{ version: string; user: string }> {
  const known = identities.get(shadow.adminUrl);
  if (known) return known;
  const [row] = await admin<{ version: string; user: string }[]>`select current_setting('server_version_num') as version, current_user as user`;
  identities.set(shadow.adminUrl, row!);
  return row!;
}

/**
 * Built under a private name and renamed when complete, so a copy never starts from a half-built
 * template; a planner that loses the race to publish it uses the winner's. Connections to a published
 * template are refused: one would block every copy.
 */
async function buildTemplate(server: ShadowServer, admin: postgres.Sql, catalog: Catalog, tag: string, template: string): Promise<void> {
  const building = `shadow_build_${Date.now().toString(36)}_${randomBytes(4).toString("hex")}`;
  await create(admin, building);
  try {
    await applyMigrations({ url: databaseUrl(server, building), catalog, to: tag, actor: "rehearsal", allowOutOfOrder: true });
    await admin.unsafe(`ALTER DATABASE "${building}" WITH ALLOW_CONNECTIONS false`);
    await admin.unsafe(`ALTER DATABASE "${building}" RENAME TO "${template}"`);
  } catch (e) {
    await admin.unsafe(`DROP DATABASE IF EXISTS "${building}" WITH (FORCE)`);
    // Published meanwhile by another planner: PostgreSQL says 42P04, or, when both renames passed its
    // name check at once, the catalog's unique index says 23505.
    const { code, constraint_name } = e as { code?: string; constraint_name?: string };
    if (code === "42P04" || (code === "23505" && constraint_name === "pg_database_datname_index")) return;
    throw e;
  }
  await pruneTemplates(admin, template);
}

/** Keeps the newest templates this user built; one being copied right now is dropped after the copy. */
async function pruneTemplates(admin: postgres.Sql, keep: string): Promise<void> {
  const old = await admin<{ name: string }[]>`
    select datname as name from pg_database
    where datname like ${`${TEMPLATE_PREFIX}%`} and datname <> ${keep} and datdba = (select oid from pg_roles where rolname = current_user)
    order by oid desc offset ${TEMPLATES_KEPT - 1}`;
  for (const { name } of old) {
    // Best effort: a template that cannot be dropped now is dropped when the next one is built.
    await admin.unsafe(`DROP DATABASE IF EXISTS "${name}"`).catch(() => {});
  }
  // Rehearsal databases and spares left by a process that was killed: their names carry their birth time.
  const leftovers = await admin<{ name: string }[]>`
    select datname as name from pg_database
    where datname ~ '^shadow_[0-9a-z]+_[0-9a-f]{8}$' and datdba = (select oid from pg_roles where rolname = current_user)`;
  for (const { name } of leftovers) {
    const born = parseInt(name.split("_")[1]!, 36);
    if (Date.now() - born > LEFTOVER_AFTER_MS) await admin.unsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`).catch(() => {});
  }
}

/** A rehearsal database this old belongs to no running plan. */
const LEFTOVER_AFTER_MS = 60 * 60 * 1000;

interface RoleState {
  name: string;
  attributes: Record<string, boolean>;
}

const ROLE_ATTRIBUTES = {
  rolsuper: "SUPERUSER",
  rolinherit: "INHERIT",
  rolcreaterole: "CREATEROLE",
  rolcreatedb: "CREATEDB",
  rolcanlogin: "LOGIN",
  rolreplication: "REPLICATION",
  rolbypassrls: "BYPASSRLS",
} as const;

/** Rehearsals that may change cluster-wide objects take turns on a shadow cluster (pg_advisory_lock key, arbitrary but fixed). */
const CLUSTER_OBJECTS_LOCK = 0x6d63_726f; // "mcro"
/** How long a rehearsal that changes cluster-wide objects waits for its turn (ms). */
const CLUSTER_TURN_WAIT_MS = 60_000;

/** Whether `sql` names `name` as an identifier (quoted or not), the way a statement that changes it must. */
function mentionsName(sqlTexts: readonly string[], name: string): boolean {
  const escaped = name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const pattern = new RegExp(`(^|[^A-Za-z0-9_$])${escaped}($|[^A-Za-z0-9_$])`, "i");
  return sqlTexts.some((sql) => pattern.test(sql));
}

type RoleRow = Record<keyof typeof ROLE_ATTRIBUTES, boolean> & { name: string; oid: string };
/** A database or tablespace: by OID, so one renamed by the rehearsal is not taken for one it created. */
type ObjectRow = { name: string; oid: string };

/** The cluster-wide state a rehearsal may change, as far as it can be put back. */
interface ClusterState {
  roles: RoleRow[];
  members: { role: string; member: string }[];
  databases: ObjectRow[];
  tablespaces: ObjectRow[];
  /** ALTER SYSTEM's settings (postgresql.auto.conf); null when this user may not read them. */
  system: { name: string; setting: string }[] | null;
}

const CLUSTER_READS = [
  `select rolname as name, oid::text as oid, ${Object.keys(ROLE_ATTRIBUTES).join(", ")} from pg_roles where rolname !~ '^pg_'`,
  `select pg_get_userbyid(roleid) as role, pg_get_userbyid(member) as member from pg_auth_members`,
  `select datname as name, oid::text as oid from pg_database`,
  `select spcname as name, oid::text as oid from pg_tablespace`,
];
/** Superusers (and pg_read_all_settings) only: read on its own, so that its refusal costs nothing else. */
const SYSTEM_SETTINGS = `select name, setting from pg_file_settings where sourcefile like '%postgresql.auto.conf' and error is null`;

/** The cluster's state, read after `first` (fixed SQL) in one message, and ALTER SYSTEM's settings beside it. */
async function readClusterState(admin: postgres.Sql, first: string[] = []): Promise<ClusterState> {
  const results = (await admin.unsafe([...first, ...CLUSTER_READS].join(";\n")).simple()) as unknown as unknown[][];
  const [roles, members, databases, tablespaces] = results.slice(-CLUSTER_READS.length) as [RoleRow[], ClusterState["members"], ClusterState["databases"], ClusterState["tablespaces"]];
  const system = await admin.unsafe<{ name: string; setting: string }[]>(SYSTEM_SETTINGS).simple().then((rows) => [...rows], () => null);
  return { roles, members, databases, tablespaces, system };
}

/**
 * A rehearsal of a cluster-wide statement changes the shadow cluster for every later rehearsal (a role
 * left BYPASSRLS makes the next 0007 rehearsal refuse to run, a role or database left behind collides
 * with the next CREATE, an ALTER SYSTEM setting stays in the server's configuration). Call before the
 * rehearsal with the SQL it runs; the returned function puts back what that SQL names: role attributes
 * restored, roles, databases and tablespaces it created dropped, memberships it granted revoked, ALTER
 * SYSTEM settings it changed set back (and the configuration reloaded). Only objects the rehearsed SQL
 * names are touched, so one someone else created meanwhile (an operator, a test, another plan) is left
 * alone; and such rehearsals take turns on the cluster (an advisory lock held until the returned
 * function runs), so two plans never undo each other's changes mid-rehearsal. Best effort: what cannot
 * be undone stays, and only on the shadow cluster.
 */
export async function keepClusterObjects(
  server: ShadowServer,
  rehearsedSql: readonly string[],
  options: { readAfter?: Promise<unknown>; turnWaitMs?: number } = {},
): Promise<() => Promise<void>> {
  const turnWaitMs = options.turnWaitMs ?? CLUSTER_TURN_WAIT_MS;
  const toState = (rows: RoleRow[]): (RoleState & { oid: string })[] => rows.map(({ name, oid, ...attributes }) => ({ name, oid, attributes: attributes as Record<string, boolean> }));
  // Its own connection: the lock is held for the whole rehearsal, and the pool must stay free for it.
  const lock = connect(server.adminUrl, { application: "migration-console shadow roles", fetchTypes: false, prepare: false, recycle: false });
  const unlock = () => lock.end({ timeout: 5 }).catch(() => {});
  let before: ClusterState;
  // Connects at once; the state is read only once `readAfter` is done (building a template creates roles the rehearsal must not undo).
  lock`select 1`.catch(() => {});
  try {
    await options.readAfter;
    // The lock (waiting a bounded time: a rehearsal that hangs must not hold every other one), then
    // what the cluster holds once it is ours: one round trip.
    before = await withAdmin(server, () => readClusterState(lock, [`set lock_timeout = ${Math.max(1, Math.round(turnWaitMs))}`, `select pg_advisory_lock(${CLUSTER_OBJECTS_LOCK})`]));
  } catch (e) {
    await unlock();
    if ((e as { cause?: { code?: string } }).cause?.code === "55P03") {
      throw new Error(
        `Another plan's rehearsal that changes cluster-wide objects on the shadow server has held its turn for over ${Math.round(turnWaitMs / 1000)} s (such rehearsals take turns, so that each can put back what it changed). Plan again once it has finished.`,
      );
    }
    throw e;
  }
  const rolesBefore = new Map(toState(before.roles).map((r) => [r.oid, r]));
  const memberships = new Set(before.members.map((m) => `${m.role}\u0000${m.member}`));
  const named = (name: string) => mentionsName(rehearsedSql, name);
  /** Created by the rehearsal: not there before under any name, and named by its SQL. */
  const created = (list: ObjectRow[], o: ObjectRow) => named(o.name) && !list.some((x) => x.oid === o.oid);
  return async () => {
    const admin = adminPool(server);
    const ident = (n: string) => `"${n.replace(/"/g, '""')}"`;
    const literal = (v: string) => `'${v.replace(/'/g, "''")}'`;
    const tryRun = (sql: string) => admin.unsafe(sql).catch(() => undefined);
    try {
      const now = await readClusterState(admin);
      for (const m of now.members) {
        if (!memberships.has(`${m.role}\u0000${m.member}`) && (named(m.role) || named(m.member))) await tryRun(`REVOKE ${ident(m.role)} FROM ${ident(m.member)}`);
      }
      // Databases before roles: a role that owns a database it created cannot be dropped while it does.
      for (const [kind, was, is] of [["DATABASE", before.databases, now.databases], ["TABLESPACE", before.tablespaces, now.tablespaces]] as const) {
        for (const o of is) {
          const old = was.find((x) => x.oid === o.oid);
          if (!old) {
            if (created(was, o)) await tryRun(`DROP ${kind} IF EXISTS ${ident(o.name)}${kind === "DATABASE" ? " WITH (FORCE)" : ""}`);
          } else if (old.name !== o.name && (named(old.name) || named(o.name))) {
            await tryRun(`ALTER ${kind} ${ident(o.name)} RENAME TO ${ident(old.name)}`);
          }
        }
      }
      for (const r of toState(now.roles)) {
        const was = rolesBefore.get(r.oid);
        if (!was) {
          if (named(r.name)) await tryRun(`DROP ROLE IF EXISTS ${ident(r.name)}`);
          continue;
        }
        if (!named(r.name) && !named(was.name)) continue;
        if (was.name !== r.name) await tryRun(`ALTER ROLE ${ident(r.name)} RENAME TO ${ident(was.name)}`);
        const changed = Object.entries(ROLE_ATTRIBUTES).filter(([col]) => was.attributes[col] !== r.attributes[col]);
        if (changed.length === 0) continue;
        await tryRun(`ALTER ROLE ${ident(was.name)} WITH ${changed.map(([col, word]) => (was.attributes[col] ? word : `NO${word}`)).join(" ")}`);
      }
      if (before.system && now.system) {
        const wasSet = new Map(before.system.map((x) => [x.name, x.setting]));
        const isSet = new Map(now.system.map((x) => [x.name, x.setting]));
        const changed = [...new Set([...wasSet.keys(), ...isSet.keys()])].filter((name) => named(name) && wasSet.get(name) !== isSet.get(name));
        for (const name of changed) {
          const was = wasSet.get(name);
          // A list (shared_preload_libraries = 'a, b') goes back element by element: one literal would be one element.
          const elements = was?.split(",").map((e) => e.trim().replace(/^"(.*)"$/, "$1")).map(literal).join(", ");
          await tryRun(was === undefined ? `ALTER SYSTEM RESET ${ident(name)}` : `ALTER SYSTEM SET ${ident(name)} = ${elements}`);
        }
        if (changed.length > 0) await tryRun(`SELECT pg_reload_conf()`);
      }
    } catch {
      // Best effort (see above): the rehearsal's own outcome is what the plan reports.
    } finally {
      // Ending the session releases its advisory lock.
      await unlock();
    }
  };
}
