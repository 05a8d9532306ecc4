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
import type { Catalog } from "../catalog";
import { applyMigrations, ExecutorError } from "../executor";
import { ENSURE_LEDGER_SQL } from "../ledger";
import { connect, describeConnectionError } from "../targets/connect";

export interface ShadowServer {
  /** Superuser (or CREATEDB) URL of a maintenance database on that server. Contains a password. */
  adminUrl: string;
}

export interface ShadowDatabase {
  url: string;
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
    return handle(server, name);
  });
}

/**
 * A shadow database at `tag`: every migration of `catalog` up to it applied, with the ledger rows the
 * executor writes. A copy of the template for that version, built first when there is none.
 */
export async function createShadowDatabaseAt(server: ShadowServer, catalog: Catalog, tag: string): Promise<ShadowDatabase> {
  return withAdmin(server, async (admin) => {
    const template = await templateName(admin, catalog, tag);
    const name = shadowName();
    try {
      await create(admin, name, template);
    } catch (e) {
      if ((e as { code?: string }).code !== "3D000") throw e;
      // No template for this version yet (or it was just pruned): build it, then copy it.
      await buildTemplate(server, admin, catalog, tag, template);
      await create(admin, name, template);
    }
    return handle(server, name);
  });
}

async function withAdmin<T>(server: ShadowServer, work: (admin: postgres.Sql) => Promise<T>): Promise<T> {
  const admin = connect(server.adminUrl, { application: "migration-console shadow" });
  try {
    return await work(admin);
  } catch (e) {
    // A migration that fails while a template is built says so itself (file, line, column).
    if (e instanceof ExecutorError) throw e;
    throw new Error(`Cannot create a rehearsal database on the shadow server: ${describeConnectionError(e)}`, { cause: e });
  } finally {
    await admin.end();
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

function handle(server: ShadowServer, name: string): ShadowDatabase {
  return {
    url: databaseUrl(server, name),
    drop: async () => {
      const dropper = connect(server.adminUrl, { application: "migration-console shadow" });
      try {
        await dropper.unsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await dropper.end();
      }
    },
  };
}

/**
 * Everything that decides a template's content: the server's version, the user that builds it (it owns
 * every object, and only it may copy it without being a superuser), the ledger tables, each file up to `tag`.
 */
async function templateName(admin: postgres.Sql, catalog: Catalog, tag: string): Promise<string> {
  const upTo = catalog.byTag(tag);
  if (!upTo) throw new Error(`There is no migration "${tag}" in the files.`);
  const [server] = await admin<{ version: string; user: string }[]>`select current_setting('server_version_num') as version, current_user as user`;
  const hash = createHash("sha256").update(JSON.stringify({ format: TEMPLATE_FORMAT, ...server, ledger: ENSURE_LEDGER_SQL }));
  for (const m of catalog.migrations) if (m.idx <= upTo.idx) hash.update(`\n${m.tag} ${m.when} ${m.checksum}`);
  return `${TEMPLATE_PREFIX}${hash.digest("hex").slice(0, 40)}`;
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
    if ((e as { code?: string }).code === "42P04") return; // published meanwhile by another planner
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
}
