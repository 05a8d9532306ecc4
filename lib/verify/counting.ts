/**
 * A postgres.js client that counts the statements sent through it: tagged-template queries, unsafe()
 * queries, and the BEGIN and COMMIT/ROLLBACK of begin(). Transactions and reserved connections it hands
 * out count into the same counter. Fragments (sql(identifier), sql.array(...)) are not queries and are
 * not counted; verification code never nests tagged templates as fragments, so each counted call is one
 * statement sent.
 */
import type postgres from "postgres";

export interface QueryCounter {
  count: number;
}

function isTemplateCall(args: unknown[]): boolean {
  const first = args[0] as { raw?: unknown } | undefined;
  return Array.isArray(first) && Array.isArray(first.raw);
}

function wrap<T extends object>(target: T, counter: QueryCounter): T {
  return new Proxy(target, {
    apply(fn, thisArg, args: unknown[]) {
      if (isTemplateCall(args)) counter.count++;
      return Reflect.apply(fn as (...a: unknown[]) => unknown, thisArg, args);
    },
    get(obj, key, receiver) {
      const value = Reflect.get(obj, key, receiver) as unknown;
      if (typeof value !== "function") return value;
      const method = value as (...a: unknown[]) => unknown;
      if (key === "unsafe") {
        return (...args: unknown[]) => {
          counter.count++;
          return method.apply(obj, args);
        };
      }
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
