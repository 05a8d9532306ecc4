import hljs from "highlight.js/lib/core";
import pgsql from "highlight.js/lib/languages/pgsql";

hljs.registerLanguage("pgsql", pgsql);

/** Server-rendered, highlighted SQL. highlight.js escapes the text, so the HTML is safe to inject. */
export function SqlBlock({ sql, label }: { sql: string; label?: string }) {
  const html = hljs.highlight(sql, { language: "pgsql" }).value;
  return (
    <pre aria-label={label} className="sql-block max-h-[32rem] overflow-auto rounded-md bg-slate-950 p-3 text-xs leading-relaxed text-slate-100">
      <code dangerouslySetInnerHTML={{ __html: html }} />
    </pre>
  );
}
