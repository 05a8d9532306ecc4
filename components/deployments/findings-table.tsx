import { plural } from "@/lib/format";
import type { Finding } from "@/lib/lint";
import { Badge } from "../ui/badge";

const TONE = { error: "error", warning: "warn", info: "neutral" } as const;

/** Errors and warnings in full; the (often many) informational findings folded away. */
export function FindingsTable({ findings }: { findings: Finding[] }) {
  if (findings.length === 0) return <p className="text-sm text-slate-600">No findings: the linters see nothing risky in these statements.</p>;
  const important = findings.filter((f) => f.severity !== "info");
  const info = findings.filter((f) => f.severity === "info");
  return (
    <div className="space-y-3">
      <p className="text-sm text-slate-700">
        {plural(findings.filter((f) => f.severity === "error").length, "error")}, {plural(findings.filter((f) => f.severity === "warning").length, "warning")}, {plural(info.length, "note")};{" "}
        {findings.filter((f) => f.requiresComplianceSignoff).length} {findings.filter((f) => f.requiresComplianceSignoff).length === 1 ? "touches" : "touch"} personal or health data, RLS or policies.
      </p>
      {important.length > 0 && <FindingRows findings={important} label="Findings" />}
      {info.length > 0 && (
        <details>
          <summary className="cursor-pointer text-sm text-slate-700">Show {plural(info.length, "informational note")}</summary>
          <FindingRows findings={info} label="Informational findings" />
        </details>
      )}
    </div>
  );
}

function FindingRows({ findings, label }: { findings: Finding[]; label: string }) {
  return (
    <table className="w-full text-left text-sm" aria-label={label}>
      <thead className="text-xs uppercase text-slate-500">
        <tr>
          <th className="py-2">Severity</th>
          <th>Where</th>
          <th>Finding</th>
          <th>Compliance</th>
        </tr>
      </thead>
      <tbody className="divide-y divide-slate-100 align-top">
        {findings.map((f) => (
          <tr key={f.id}>
            <td className="py-2">
              <Badge tone={TONE[f.severity]}>{f.severity}</Badge>
            </td>
            <td className="whitespace-nowrap pr-3 font-mono text-xs">
              {f.tag}
              <br />
              statement {f.statement}, line {f.line}:{f.column}
            </td>
            <td className="pr-3">
              <div className="font-medium">{f.message}</div>
              <div className="text-xs text-slate-600">{f.why}</div>
              <div className="text-xs text-slate-400">{f.rule}</div>
            </td>
            <td>{f.requiresComplianceSignoff ? <Badge tone="warn">sign-off needed</Badge> : null}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
