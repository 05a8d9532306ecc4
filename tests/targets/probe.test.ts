import { describe, expect, it } from "vitest";
import { probeTarget } from "../../lib/targets/probe";
import { adminUrl } from "../support/databases";

describe("probing a target database", () => {
  it("reports the server version of a database that answers", async () => {
    const probe = await probeTarget(adminUrl(18));
    expect(probe).toMatchObject({ reachable: true, serverVersion: expect.stringMatching(/^18\./) });
  });

  it("reports an unreachable database in words, without its URL or password", async () => {
    const probe = await probeTarget("postgres://app:topsecret@127.0.0.1:1/nothing", 2);
    expect(probe.reachable).toBe(false);
    if (!probe.reachable) {
      expect(probe.error).toMatch(/Connection refused/);
      expect(probe.error).not.toContain("topsecret");
    }
  });

  it("reports wrong credentials as such", async () => {
    const url = new URL(adminUrl(18));
    url.password = "wrong";
    const probe = await probeTarget(url.toString(), 2);
    expect(probe).toMatchObject({ reachable: false, error: expect.stringMatching(/Authentication failed/) });
  });

  it("says when a target is not configured", async () => {
    expect(await probeTarget(null)).toMatchObject({ reachable: false, error: expect.stringMatching(/Not configured/) });
  });
});
