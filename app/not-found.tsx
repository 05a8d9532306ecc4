import { NotFoundPanel } from "@/components/ui/not-found-panel";

export const metadata = { title: "Not found" };

/** Addresses outside the console's pages (the console's own 404 renders inside its shell). */
export default function NotFound() {
  return (
    <main className="min-h-screen bg-slate-50 px-4 py-10">
      <NotFoundPanel signedIn={false} />
    </main>
  );
}
