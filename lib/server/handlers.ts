/**
 * The two doors into the server: server actions and route handlers. Both run
 * session → role guard → zod parse → lib call, and return a typed result; neither trusts the UI.
 */
import "server-only";
import type { z } from "zod";
import type { Role } from "../auth/roles";
import type { Actor } from "../auth/users";
import { AppError, toErrorPayload, type Result } from "../errors";
import type { Store } from "../store/db";
import { logServerError, runtime } from "./runtime";
import { requireActor } from "./session";

export interface HandlerContext {
  actor: Actor;
  store: Store;
}

interface Spec<S extends z.ZodType> {
  /** Who may call it; "signed-in" for any active user. */
  roles: readonly Role[] | "signed-in";
  input: S;
}

async function guarded<S extends z.ZodType, T>(
  spec: Spec<S>,
  raw: unknown,
  run: (input: z.infer<S>, ctx: HandlerContext) => Promise<T>,
): Promise<Result<T>> {
  try {
    const actor = await requireActor(spec.roles === "signed-in" ? undefined : spec.roles);
    const parsed = spec.input.safeParse(raw);
    if (!parsed.success) {
      const fields: Record<string, string[]> = {};
      for (const issue of parsed.error.issues) (fields[issue.path.join(".") || "_"] ??= []).push(issue.message);
      throw new AppError("invalid_input", "Some fields need attention.", fields);
    }
    return { ok: true, data: await run(parsed.data, { actor, store: runtime().store }) };
  } catch (e) {
    return { ok: false, error: toErrorPayload(e, logServerError) };
  }
}

/** Wraps a server action. Export the result from a "use server" file. */
export function guardedAction<S extends z.ZodType, T>(spec: Spec<S>, run: (input: z.infer<S>, ctx: HandlerContext) => Promise<T>) {
  return (input: z.input<S>): Promise<Result<T>> => guarded(spec, input, run);
}

/** Wraps a route handler; the JSON body (or query for GET) is the input. */
export function guardedRoute<S extends z.ZodType, T>(spec: Spec<S>, run: (input: z.infer<S>, ctx: HandlerContext) => Promise<T>) {
  return async (request: Request): Promise<Response> => {
    let raw: unknown;
    if (request.method === "GET" || request.method === "HEAD") {
      raw = Object.fromEntries(new URL(request.url).searchParams);
    } else {
      raw = await request.json().catch(() => undefined);
    }
    const result = await guarded(spec, raw, run);
    return Response.json(result, { status: result.ok ? 200 : result.error.status });
  };
}
