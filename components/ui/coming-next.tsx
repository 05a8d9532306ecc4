import { Card } from "./card";

/** A page whose feature is not built yet says what it will hold, so nobody mistakes it for broken. */
export function ComingNext({ items }: { items: string[] }) {
  return (
    <Card title="What this page will show">
      <ul className="list-disc space-y-1 pl-5 text-sm text-slate-700">
        {items.map((item) => (
          <li key={item}>{item}</li>
        ))}
      </ul>
    </Card>
  );
}
