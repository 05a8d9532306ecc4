import { testPorts } from "../../tests/support/ports";

/** The OpenID Connect provider the single sign-on journey signs in through (e2e/support/oidc-provider.ts). */
export const OIDC = {
  port: testPorts.oidc,
  issuer: `http://127.0.0.1:${testPorts.oidc}`,
  clientId: "migration-console-e2e",
  clientSecret: "e2e-client-secret-not-a-real-one",
  name: "Clinic SSO",
};
