/**
 * The one way the console opens a PostgreSQL connection (targets, the store, shadows): every
 * attempt is bounded in time, failures get a code a user can act on, and no URL or password ever
 * reaches an error message.
 *
 * postgres.js's own connect_timeout restarts whenever the server closes the socket during
 * start-up, so an endpoint that accepts and closes (a tunnel or port-forward to a dead backend, a
 * load balancer without a healthy target) makes it reconnect in a tight loop forever. The socket
 * factory below counts such closes and, after a few backed-off tries, fails the attempt instead.
 */
import net from "node:net";
import postgres from "postgres";
import { asConnectionError, ConnectionError } from "./errors";

export { asConnectionError, ConnectionError, describeConnectionError, redactSecrets, withoutRowValues, type ConnectionErrorCode } from "./errors";

/** How long one connection attempt may take, start-up retries included, unless the caller says otherwise. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 8_000;
/** Start-up closes tolerated before giving up (a server restarting may drop one or two). */
const MAX_STARTUP_CLOSES = 3;

export interface ConnectOptions {
  /** Shown as application_name in pg_stat_activity; cut visibly to PostgreSQL's 63 bytes. */
  application?: string;
  max?: number;
  /** Bound on one connection attempt, start-up retries included (ms). */
  connectTimeoutMs?: number;
  /** Seconds an idle connection stays open; 0 keeps it. */
  idleTimeoutSeconds?: number;
  /** postgres.js fetches array types at connect (one round trip), needed to pass arrays as parameters; off for clients that never do. */
  fetchTypes?: boolean;
  debug?: postgres.Options<Record<string, never>>["debug"];
  /**
   * Named prepared statements (postgres.js's default) are session state on the server: false keeps
   * none there, for clients that must leave a server connection as they found it.
   */
  prepare?: boolean;
  /**
   * A session that holds locks or settings (the executor's, the shadow's role guard) must stay one
   * session: `false` turns off postgres.js's recycling of connections after 30–60 minutes.
   */
  recycle?: boolean;
  /** Called when a connection of this client closes (for a one-session client: the session is gone). */
  onClose?: () => void;
}

/** What the executor's pooler probe needs to know about the client side of a connection. */
export interface SocketFacts {
  /** Local port of the newest socket this client opened (null for a Unix socket). */
  localPort: number | null;
  localAddress: string | null;
}

const socketFacts = new WeakMap<postgres.Sql, SocketFacts>();

/**
 * A postgres.js client whose every connection attempt is bounded. Lazy like postgres.js: the first
 * query connects. Use `openConnection` to connect (and fail) right away.
 */
export function connect(url: string, options: ConnectOptions = {}): postgres.Sql {
  const timeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  const facts: SocketFacts = { localPort: null, localAddress: null };
  const sql = postgres(url, {
    max: options.max ?? 1,
    fetch_types: options.fetchTypes ?? true,
    onnotice: () => {},
    connect_timeout: Math.max(1, Math.ceil(timeoutMs / 1000)),
    idle_timeout: options.idleTimeoutSeconds ?? 0,
    prepare: options.prepare ?? true,
    ...(options.recycle === false ? { max_lifetime: null } : {}),
    ...(options.onClose ? { onclose: options.onClose } : {}),
    ...(options.debug ? { debug: options.debug } : {}),
    connection: options.application ? { application_name: applicationName(options.application) } : {},
    // Supported by postgres.js at run time, missing from its type definitions.
    ...({ socket: boundedSocketFactory(timeoutMs, facts) } as object),
  });
  socketFacts.set(sql, facts);
  return sql;
}

/** Connects now, within the bound, and returns the client; a failure is a ConnectionError and leaves nothing open. */
export async function openConnection(url: string, options: ConnectOptions = {}): Promise<postgres.Sql> {
  const sql = connect(url, options);
  try {
    await withDeadline(sql`select 1`, (options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS) + 1_000);
    return sql;
  } catch (e) {
    await sql.end({ timeout: 0 }).catch(() => {});
    throw asConnectionError(e) ?? e;
  }
}

/**
 * Clients kept between uses, one per URL and purpose: a plan reads its target's ledger and schema
 * without paying a new connection, its authentication and a cold catalog cache each time. The
 * connection closes after `idleTimeoutSeconds` unused (postgres.js reconnects on the next query), and
 * `closeKeptConnections` ends them all (a process that exits calls it).
 */
const kept = new Map<string, postgres.Sql>();

export function keptConnection(url: string, options: ConnectOptions & { application: string; idleTimeoutSeconds: number }): postgres.Sql {
  const key = `${options.application}\u0000${url}`;
  let sql = kept.get(key);
  if (!sql) {
    sql = connect(url, options);
    kept.set(key, sql);
  }
  return sql;
}

/** Ends the kept client of `url` and purpose, if any: after a connection failure the next use connects afresh. */
export function forgetKeptConnection(url: string, application: string): void {
  const key = `${application}\u0000${url}`;
  const sql = kept.get(key);
  kept.delete(key);
  void sql?.end({ timeout: 0 }).catch(() => {});
}

/** Ends every kept client (see keptConnection). */
export async function closeKeptConnections(): Promise<void> {
  const all = [...kept.values()];
  kept.clear();
  await Promise.all(all.map((sql) => sql.end({ timeout: 5 }).catch(() => {})));
}

/** Opens a client, runs `work`, and always closes it again. */
export async function withConnection<T>(url: string, options: ConnectOptions, work: (sql: postgres.Sql) => Promise<T>): Promise<T> {
  const sql = await openConnection(url, options);
  try {
    return await work(sql);
  } finally {
    await sql.end({ timeout: 5 }).catch(() => {});
  }
}

export function socketFactsOf(sql: postgres.Sql): SocketFacts | undefined {
  return socketFacts.get(sql);
}

/** Rejects with a `timeout` ConnectionError when `promise` has not settled within `ms`. */
export function withDeadline<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ConnectionError("timeout", `The database did not answer within ${(ms / 1000).toFixed(0)} s.`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

type SocketFactory = (options: { host: string[]; port: number[]; path?: string | false }) => Promise<net.Socket>;

/**
 * Opens the sockets postgres.js asks for. A socket the server closes before sending a single byte
 * counts as a start-up close; consecutive ones are retried with backoff and, past the limit or the
 * time bound, answered with a socket that fails at once, so postgres.js rejects the waiting query
 * instead of reconnecting forever.
 */
function boundedSocketFactory(timeoutMs: number, facts: SocketFacts): SocketFactory {
  let closes = 0;
  let firstCloseAt = 0;
  let nextHost = 0;
  return async (o) => {
    if (closes > 0) {
      const elapsed = performance.now() - firstCloseAt;
      if (closes >= MAX_STARTUP_CLOSES || elapsed >= timeoutMs) {
        const error = new ConnectionError(
          "unreachable",
          `The server accepted the connection and closed it before PostgreSQL answered (${closes} times in ${(elapsed / 1000).toFixed(1)} s). A tunnel, port-forward or load balancer with no live database behind it does this.`,
          "CONNECTION_CLOSED",
        );
        closes = 0;
        return failingSocket(error);
      }
      await new Promise((r) => setTimeout(r, Math.min(250 * 2 ** (closes - 1), Math.max(0, timeoutMs - elapsed))));
    }
    const socket = new net.Socket();
    // As libpq does: Nagle would hold a query back until the server acknowledged the one before it.
    socket.setNoDelay(true);
    let answered = false;
    socket.once("data", () => {
      answered = true;
      closes = 0;
    });
    socket.once("connect", () => {
      facts.localPort = socket.localPort ?? null;
      facts.localAddress = socket.localAddress ?? null;
    });
    socket.once("close", (hadError) => {
      if (answered || hadError) return;
      if (closes++ === 0) firstCloseAt = performance.now();
    });
    const i = nextHost++ % Math.max(1, o.port.length);
    if (o.path) socket.connect(o.path);
    else socket.connect(o.port[i] ?? 5432, o.host[i] ?? "localhost");
    // postgres.js names the address in its own errors from these.
    Object.assign(socket, { host: o.path || o.host[i], port: o.port[i] });
    return socket;
  };
}

/** A socket that errors as soon as postgres.js has attached its listeners. */
function failingSocket(error: Error): net.Socket {
  const socket = new net.Socket();
  setImmediate(() => socket.destroy(error));
  return socket;
}


/**
 * PostgreSQL keeps 63 bytes of application_name and drops the rest silently; the apply lock's holder
 * is read back from it, so a name that does not fit is cut visibly ("...") instead.
 */
export function applicationName(name: string): string {
  const MAX_BYTES = 63;
  if (Buffer.byteLength(name) <= MAX_BYTES) return name;
  let cut = name;
  while (Buffer.byteLength(cut) > MAX_BYTES - 3) cut = cut.slice(0, -1);
  return `${cut}...`;
}
