/** An audit event's details as labelled values, wrapped between words, nested values indented. */
export function AuditDetails({ details }: { details: Record<string, unknown> }) {
  const entries = Object.entries(details).filter(([, v]) => v !== null && v !== undefined && !(Array.isArray(v) && v.length === 0));
  if (entries.length === 0) return <span className="text-slate-400">none</span>;
  return (
    <dl className="grid grid-cols-[max-content_1fr] gap-x-2 gap-y-0.5 text-xs">
      {entries.map(([key, value]) => (
        <div key={key} className="contents">
          <dt className="text-slate-500">{humanize(key)}</dt>
          <dd className="min-w-0 break-words text-slate-700">{render(value)}</dd>
        </div>
      ))}
    </dl>
  );
}

const humanize = (key: string) => key.replace(/([a-z])([A-Z])/g, "$1 $2").replace(/_/g, " ").toLowerCase();

function render(value: unknown): React.ReactNode {
  if (typeof value === "string") return /^[0-9a-f]{40,}$/.test(value) ? <span className="font-mono">{value.slice(0, 16)}…</span> : value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  if (Array.isArray(value)) {
    if (value.every((v) => typeof v !== "object" || v === null)) return value.join(", ");
    return (
      <ul className="space-y-1">
        {value.map((v, i) => (
          <li key={i}>{typeof v === "object" && v ? <AuditDetails details={v as Record<string, unknown>} /> : String(v)}</li>
        ))}
      </ul>
    );
  }
  if (typeof value === "object" && value) return <AuditDetails details={value as Record<string, unknown>} />;
  return String(value);
}
