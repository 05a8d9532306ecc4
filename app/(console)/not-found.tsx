import { NotFoundPanel } from "@/components/ui/not-found-panel";

/** A deployment, environment or check that does not exist, inside the console's shell. */
export default function ConsoleNotFound() {
  return <NotFoundPanel signedIn />;
}
