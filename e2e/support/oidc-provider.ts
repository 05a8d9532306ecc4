/**
 * A real OpenID Connect provider (the maintained npm package `oidc-provider`) on loopback, for the
 * single sign-on journey (e2e/oidc.spec.ts). Its development login form accepts any email as the
 * account; every account's claims also say it is an admin (role, groups), so the journey can prove
 * the console never takes a role from the identity provider.
 *
 * Started by Playwright as a web server of its own: OIDC_PORT, OIDC_CLIENT_ID, OIDC_CLIENT_SECRET,
 * OIDC_REDIRECT_URI.
 */
import Provider from "oidc-provider";

const port = Number(process.env.OIDC_PORT);
const issuer = `http://127.0.0.1:${port}`;

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: process.env.OIDC_CLIENT_ID!,
      client_secret: process.env.OIDC_CLIENT_SECRET!,
      redirect_uris: [process.env.OIDC_REDIRECT_URI!],
      response_types: ["code"],
      grant_types: ["authorization_code"],
    },
  ],
  async findAccount(_ctx, id) {
    const email = id.toLowerCase();
    return {
      accountId: email,
      async claims() {
        return { sub: email, email, email_verified: true, name: `SSO ${email.split("@")[0]}`, role: "admin", groups: ["console-admins"] };
      },
    };
  },
  claims: { openid: ["sub"], email: ["email", "email_verified"], profile: ["name", "role", "groups"] },
  // The development login and consent pages (no real user directory behind this provider).
  features: { devInteractions: { enabled: true } },
  cookies: { keys: ["e2e-only-cookie-key-not-a-secret"] },
  pkce: { required: () => true },
});

// Development interactions print a warning on every start; it says nothing the journey needs.
provider.on("server_error", (_ctx, error) => process.stderr.write(`[oidc] ${error.message}\n`));
provider.listen(port, "127.0.0.1", () => process.stdout.write(`[oidc] listening on ${issuer}\n`));
