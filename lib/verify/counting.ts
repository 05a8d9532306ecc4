/**
 * A postgres.js client that counts the statements sent through it: tagged-template and unsafe() queries
 * when they are executed (a tagged template nested in another as a fragment never is), and the BEGIN
 * and COMMIT/ROLLBACK of begin(). Transactions and reserved connections it hands out count into the
 * same counter.
 */
import type postgres from "postgres";

export interface QueryCounter {
  count: number;
}

function isTemplateCall(args: unknown[]): boolean {
  const first = args[0] as { raw?: unknown } | undefined;
  return Array.isArray(first) && Array.isArray(first.raw);
}

interface PendingQuery {
  executed: boolean;
  handle(): Promise<void>;
}

/** postgres.js runs a query through handle(), once, when it is awaited or executed. */
function countWhenExecuted<Q>(query: Q, counter: QueryCounter): Q {
  const q = query as unknown as PendingQuery;
  const handle = q.handle;
  q.handle = function (this: PendingQuery) {
    if (!this.executed) counter.count++;
    return handle.call(this);
  };
  return query;
}

function wrap<T extends object>(target: T, counter: QueryCounter): T {
  return new Proxy(target, {
    apply(fn, thisArg, args: unknown[]) {
      const result = Reflect.apply(fn as (...a: unknown[]) => unknown, thisArg, args);
      return isTemplateCall(args) ? countWhenExecuted(result, counter) : result;
    },
    get(obj, key, receiver) {
      const value = Reflect.get(obj, key, receiver) as unknown;
      if (typeof value !== "function") return value;
      const method = value as (...a: unknown[]) => unknown;
      if (key === "unsafe") return (...args: unknown[]) => countWhenExecuted(method.apply(obj, args), counter);
      if (key === "begin" || key === "savepoint") {
        return (...args: unknown[]) => {
          const callback = args[args.length - 1] as (tx: object) => unknown;
          counter.count += 2;
          return method.apply(obj, [...args.slice(0, -1), (tx: object) => callback(wrap(tx, counter))]);
        };
      }
      if (key === "reserve") {
        return async () => wrap((await method.apply(obj, [])) as object, counter);
      }
      return method.bind(obj);
    },
  });
}

export function countingSql(sql: postgres.Sql, counter: QueryCounter): postgres.Sql {
  return wrap(sql, counter);
}
