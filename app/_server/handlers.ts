/**
 * The one door into the server: server actions, route handlers and file downloads all run
 * session → permission (lib/auth/permissions) → zod parse → lib call, and answer a typed result;
 * none trusts the UI. Every wrapped handler is recorded with its permission, so tests can walk
 * every exported action and route and check it against the permission map.
 */
import "server-only";
import type { z } from "zod";
import type { Permission } from "../../lib/auth/permissions";
import type { Actor } from "../../lib/auth/users";
import { AppError, toErrorPayload, type Result } from "../../lib/errors";
import type { Store } from "../../lib/store/db";
import { logServerError, runtime } from "./runtime";
import { callerFor } from "./session";

export interface HandlerContext {
  /** The caller; null only for permissions anyone has (no session needed). */
  actor: Actor;
  store: Store;
}

interface Spec<S extends z.ZodType> {
  /** What the caller does, in the permission map's words: decides who may call it. */
  permission: Permission;
  input: S;
}

export type GuardKind = "action" | "route" | "download";

const guards = new WeakMap<object, { kind: GuardKind; permission: Permission }>();

/** The permission a wrapped handler enforces, or undefined when it bypasses the door. */
export function guardOf(handler: unknown): { kind: GuardKind; permission: Permission } | undefined {
  return typeof handler === "function" ? guards.get(handler) : undefined;
}

function register<F extends object>(handler: F, kind: GuardKind, permission: Permission): F {
  guards.set(handler, { kind, permission });
  return handler;
}

function parseInput<S extends z.ZodType>(schema: S, raw: unknown): z.infer<S> {
  const parsed = schema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const fields: Record<string, string[]> = {};
  for (const issue of parsed.error.issues) (fields[issue.path.join(".") || "_"] ??= []).push(issue.message);
  const summary = Object.entries(fields)
    .map(([field, messages]) => (field === "_" ? messages.join("; ") : `${field}: ${messages.join("; ")}`))
    .join("; ");
  throw new AppError("invalid_input", `Some fields need attention: ${summary}.`, fields);
}

async function guarded<S extends z.ZodType, T>(spec: Spec<S>, raw: unknown, run: (input: z.infer<S>, ctx: HandlerContext) => Promise<T>): Promise<Result<T>> {
  try {
    const actor = await callerFor(spec.permission);
    const input = parseInput(spec.input, raw);
    return { ok: true, data: await run(input, { actor: actor as Actor, store: runtime().store }) };
  } catch (e) {
    return { ok: false, error: toErrorPayload(e, logServerError) };
  }
}

/** Wraps a server action. Export the result from a "use server" file. */
export function guardedAction<S extends z.ZodType, T>(spec: Spec<S>, run: (input: z.infer<S>, ctx: HandlerContext) => Promise<T>) {
  return register((input: z.input<S>): Promise<Result<T>> => guarded(spec, input, run), "action", spec.permission);
}

type RouteContext = { params?: Promise<Record<string, string | string[]>> };

/** The request's input: the query (GET) or the JSON body, with the route's path parameters over it. */
async function routeInput(request: Request, context: RouteContext | undefined): Promise<unknown> {
  let raw: unknown;
  if (request.method === "GET" || request.method === "HEAD") {
    raw = Object.fromEntries(new URL(request.url).searchParams);
  } else {
    raw = await request.json().catch(() => undefined);
  }
  const params = context?.params ? await context.params : {};
  if (Object.keys(params).length === 0) return raw;
  return { ...(raw && typeof raw === "object" ? raw : {}), ...params };
}

/** Wraps a route handler that answers JSON; the query (GET) or body, plus path parameters, is the input. */
export function guardedRoute<S extends z.ZodType, T>(spec: Spec<S>, run: (input: z.infer<S>, ctx: HandlerContext) => Promise<T>) {
  return register(
    async (request: Request, context?: RouteContext): Promise<Response> => {
      const result = await guarded(spec, await routeInput(request, context), run);
      return Response.json(result, { status: result.ok ? 200 : result.error.status });
    },
    "route",
    spec.permission,
  );
}

export interface Download {
  body: string | Uint8Array;
  contentType: string;
  filename: string;
}

/** Wraps a file download: the file as an attachment, or the JSON error result with its status. */
export function guardedDownload<S extends z.ZodType>(spec: Spec<S>, run: (input: z.infer<S>, ctx: HandlerContext) => Promise<Download>) {
  return register(
    async (request: Request, context?: RouteContext): Promise<Response> => {
      const result = await guarded(spec, await routeInput(request, context), run);
      if (!result.ok) return Response.json(result, { status: result.error.status });
      const { body, contentType, filename } = result.data;
      return new Response(typeof body === "string" ? body : Buffer.from(body), {
        headers: { "Content-Type": contentType, "Content-Disposition": `attachment; filename="${filename.replace(/["\\\r\n]/g, "_")}"` },
      });
    },
    "download",
    spec.permission,
  );
}
