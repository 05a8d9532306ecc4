/**
 * Throw-away databases for rehearsals, on a server where the console may create databases
 * (the embedded one by default, SHADOW_DATABASE_URL otherwise), like Prisma's shadow database.
 */
import { randomBytes } from "node:crypto";
import postgres from "postgres";

export interface ShadowServer {
  /** Superuser (or CREATEDB) URL of a maintenance database on that server. Contains a password. */
  adminUrl: string;
}

export interface ShadowDatabase {
  url: string;
  drop(): Promise<void>;
}

export async function createShadowDatabase(server: ShadowServer): Promise<ShadowDatabase> {
  const name = `shadow_${Date.now().toString(36)}_${randomBytes(4).toString("hex")}`;
  const admin = postgres(server.adminUrl, { max: 1, onnotice: () => {}, connect_timeout: 10 });
  try {
    await admin.unsafe(`CREATE DATABASE "${name}"`);
  } catch (e) {
    throw new Error(`Cannot create a rehearsal database on the shadow server: ${(e as Error).message}`);
  } finally {
    await admin.end();
  }
  const url = new URL(server.adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const dropper = postgres(server.adminUrl, { max: 1, onnotice: () => {} });
      try {
        await dropper.unsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await dropper.end();
      }
    },
  };
}
