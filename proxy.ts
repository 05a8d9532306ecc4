import { withAuth } from "next-auth/middleware";

/**
 * Every console page needs a session. This is a convenience redirect, not the access control:
 * pages, actions and route handlers check the session and role themselves (app/_server).
 */
export default withAuth({ pages: { signIn: "/signin" } });

export const config = {
  // Pages only: route handlers under /api answer 401/403 as JSON themselves.
  matcher: ["/((?!signin|api/|_next/static|_next/image|favicon.ico).*)"],
};
