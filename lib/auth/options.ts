import type { NextAuthOptions } from "next-auth";
import type { TokenSet } from "openid-client";
import CredentialsProvider from "next-auth/providers/credentials";
import type { ConsoleConfig } from "../config/env";
import { appendAuditEvent } from "../audit/log";
import type { StoreDb } from "../store/db";
import { endConsoleSession, startConsoleSession } from "./sessions";
import { signInWithPassword } from "./sign-in";
import { findUserByEmail } from "./users";

declare module "next-auth" {
  interface Session {
    userId?: string;
    /** The console session (lib/auth/sessions) this browser holds. */
    sessionId?: string;
  }
  interface User {
    sessionId?: string;
  }
}
declare module "next-auth/jwt" {
  interface JWT {
    uid?: string;
    sid?: string;
  }
}

/** The client's address as the nearest proxy saw it (the last X-Forwarded-For entry). */
export function clientAddress(headers: Record<string, unknown> | Headers | undefined): string | null {
  const raw = headers instanceof Headers ? headers.get("x-forwarded-for") : headers?.["x-forwarded-for"];
  const value = Array.isArray(raw) ? raw.join(",") : typeof raw === "string" ? raw : "";
  const hops = value.split(",").map((v) => v.trim()).filter(Boolean);
  return hops.at(-1) ?? null;
}

export const SIGN_IN_PAGE = "/signin";

/**
 * Sessions are JWTs that carry only the user's id; the role is read from the store on every
 * server call (lib/auth/guard), so role changes apply immediately.
 */
export function buildAuthOptions(config: ConsoleConfig, db: StoreDb): NextAuthOptions {
  const providers: NextAuthOptions["providers"] = [
    CredentialsProvider({
      id: "credentials",
      name: "Email and password",
      credentials: { email: { label: "Email", type: "email" }, password: { label: "Password", type: "password" } },
      async authorize(credentials, req) {
        if (!credentials?.email || !credentials.password) return null;
        const client = clientAddress(req?.headers);
        const result = await signInWithPassword(db, { email: credentials.email, password: credentials.password, client });
        // A throttled attempt says so (and for how long); a wrong password gets the generic answer.
        if (!result.ok) {
          if (result.throttled) throw new Error(result.message);
          return null;
        }
        const sessionId = await startConsoleSession(db, result.user.id, config.sessions, client);
        return { id: result.user.id, email: result.user.email, name: result.user.name, sessionId };
      },
    }),
  ];
  if (config.oidc) {
    providers.push({
      id: "oidc",
      name: config.oidc.name,
      type: "oauth",
      wellKnown: `${config.oidc.issuer.replace(/\/$/, "")}/.well-known/openid-configuration`,
      clientId: config.oidc.clientId,
      clientSecret: config.oidc.clientSecret,
      idToken: true,
      // A conformant provider may put only `sub` in the ID token and the email in userinfo (oidc-provider
      // does by default): the ID token is still validated, the claims are read from userinfo for the same subject.
      userinfo: {
        async request({ client, tokens }) {
          // next-auth passes openid-client's TokenSet here (its type says only the parameters).
          const set = tokens as TokenSet;
          const claims = set.claims();
          const info = await client.userinfo(set);
          if (info.sub !== claims.sub) throw new Error("The identity provider's userinfo names another subject than its ID token.");
          return { ...claims, ...info };
        },
      },
      checks: ["pkce", "state"],
      authorization: { params: { scope: "openid email profile" } },
      profile(profile: { sub: string; email?: string; name?: string }) {
        return { id: profile.sub, email: profile.email ?? null, name: profile.name ?? profile.email ?? profile.sub };
      },
    });
  }

  return {
    secret: config.authSecret,
    // The token lives as long as a session may; the store ends it earlier (idle, sign-out).
    session: { strategy: "jwt", maxAge: config.sessions.maxAgeSeconds },
    pages: { signIn: SIGN_IN_PAGE, error: SIGN_IN_PAGE },
    providers,
    callbacks: {
      // OIDC identities only get in when an admin has added their email (with a role) first.
      async signIn({ user, account }) {
        if (account?.provider !== "oidc") return true;
        const known = user.email ? await findUserByEmail(db, user.email) : undefined;
        return Boolean(known?.isActive);
      },
      async jwt({ token, user }) {
        if (user?.email) {
          token.uid = (await findUserByEmail(db, user.email))?.id;
          token.sid = user.sessionId ?? (token.uid ? await startConsoleSession(db, token.uid, config.sessions, null) : undefined);
        }
        return token;
      },
      async session({ session, token }) {
        session.userId = token.uid;
        session.sessionId = token.sid;
        return session;
      },
    },
    events: {
      async signOut({ token }) {
        if (token?.sid) await endConsoleSession(db, token.sid, "signed_out");
      },
      async signIn({ user, account }) {
        const known = user.email ? await findUserByEmail(db, user.email) : undefined;
        await appendAuditEvent(db, { id: known?.id ?? null, email: user.email ?? null }, {
          action: "auth.signed_in",
          subjectType: "user",
          subjectId: known?.id ?? null,
          details: { provider: account?.provider ?? "unknown" },
        });
      },
    },
  };
}
