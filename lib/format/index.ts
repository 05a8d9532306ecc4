/**
 * How the console writes dates and counts, in one place for pages, the live log, exports and
 * evidence: every time in the configured time zone (CONSOLE_TIME_ZONE, America/Sao_Paulo by default)
 * as `2026-12-01 09:45:12 -03:00` (RFC 3339 with a space: sortable, unambiguous, parseable), and
 * counts with the right plural instead of "migration(s)". Pure: works in the browser too.
 */
export const DEFAULT_TIME_ZONE = "America/Sao_Paulo";

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone,
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
      hourCycle: "h23",
      timeZoneName: "longOffset",
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** Whether Intl knows the zone (for validating the configuration). */
export function isValidTimeZone(timeZone: string): boolean {
  try {
    formatter(timeZone);
    return true;
  } catch {
    return false;
  }
}

function parts(value: Date | string | number, timeZone: string) {
  const date = value instanceof Date ? value : new Date(value);
  const p = Object.fromEntries(formatter(timeZone).formatToParts(date).map((x) => [x.type, x.value])) as Record<string, string>;
  const offset = p.timeZoneName === "GMT" ? "+00:00" : (p.timeZoneName ?? "").replace("GMT", "");
  return { date: `${p.year}-${p.month}-${p.day}`, time: `${p.hour}:${p.minute}:${p.second}`, offset };
}

/** `2026-12-01 09:45:12 -03:00` */
export function formatDateTime(value: Date | string | number, timeZone: string): string {
  const p = parts(value, timeZone);
  return `${p.date} ${p.time} ${p.offset}`;
}

/** `2026-12-01` in the zone. */
export function formatDate(value: Date | string | number, timeZone: string): string {
  return parts(value, timeZone).date;
}

/** `09:45:12`, for lines under a heading that already says the day and the zone (the live log). */
export function formatTime(value: Date | string | number, timeZone: string): string {
  return parts(value, timeZone).time;
}

/** `America/Sao_Paulo (-03:00)`: what a page says once so its times read unambiguously. */
export function zoneLabel(timeZone: string, at: Date = new Date()): string {
  return `${timeZone} (${parts(at, timeZone).offset})`;
}

/** `1 migration`, `3 migrations`, `2 approvals`; irregular words pass their plural. */
export function plural(count: number, singular: string, pluralForm = `${singular}s`): string {
  return `${count} ${count === 1 ? singular : pluralForm}`;
}

/** `12 ms`, `3.4 s`, `2 min 5 s`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)} min ${s % 60} s`;
}

/** The instant a calendar day (`2026-12-01`) starts in the zone: evidence periods are the zone's days. */
export function zonedDayStart(isoDate: string, timeZone: string): Date {
  const [y, m, d] = isoDate.split("-").map(Number) as [number, number, number];
  const guess = Date.UTC(y, m - 1, d);
  // The zone's offset at that instant, applied twice so a day starting at a DST change lands right.
  const offsetAt = (t: number) => {
    const p = parts(t, timeZone);
    return Date.parse(`${p.date}T${p.time}Z`) - t;
  };
  const first = guess - offsetAt(guess);
  return new Date(guess - offsetAt(first));
}

/** `2026-12-31` → `2027-01-01`. */
export function nextDay(isoDate: string): string {
  const [y, m, d] = isoDate.split("-").map(Number) as [number, number, number];
  return new Date(Date.UTC(y, m - 1, d + 1)).toISOString().slice(0, 10);
}
