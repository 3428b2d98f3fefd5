import * as assert from "node:assert/strict";
import { trafficSplit } from "../../offline/plan-format";
import { runWith } from "../support/program";

const versions = (canary: number) => [
    { name: "v1", image: "jamaldevsecops/myapp:v1", replicas: 2, weight: 100 - canary },
    { name: "v2", image: "jamaldevsecops/myapp:v2", replicas: 1, weight: canary },
];

describe("the plan's traffic split shows a sticky canary", () => {
    it("draws the cookie route to the canary and says which cookie the canary's responses set (Istio API)", async () => {
        const run = await runWith({ versions: versions(10), routing: { stickyCanary: { enabled: true, maxAgeSeconds: 600 } } });
        assert.match(
            trafficSplit(run.resources),
            new RegExp(
                [
                    String.raw`  http\[0\] sticky-v2  when header cookie ~ "\^\(\.\*;\\\\s\*\)\?istio-canary=v2\(;\.\*\)\?\$"`,
                    String.raw`    v2 +█{40} 100%`,
                    String.raw`  http\[1\] weighted  \(all other requests\)`,
                    String.raw`    v1 +█{36}░{4}  90%`,
                    String.raw`    v2 +█{4}░{36}  10%`,
                    String.raw`      its responses set cookie istio-canary=v2 \(Max-Age 600 s\): requests carrying it take the sticky route`,
                ].join("\n"),
            ),
        );
    });

    it("draws the cookie rule and the canary backendRef's Set-Cookie (Gateway API)", async () => {
        const run = await runWith({ versions: versions(10), routing: { api: "gateway-api", stickyCanary: { enabled: true } } });
        const text = trafficSplit(run.resources);
        assert.match(
            text,
            / {2}rules\[0\] {2}when header Cookie ~ "\^\(\.\*;\\\\s\*\)\?istio-canary=v2\(;\.\*\)\?\$"\n {4}myapp-v2 +█{40} 100%/,
        );
        assert.match(
            text,
            /myapp-v2 +█{4}░{36} +10%\n {6}its responses set cookie istio-canary=v2 \(Max-Age 86400 s\): requests carrying it take the sticky route/,
        );
    });

    it("shows neither after a rollback to 0", async () => {
        const run = await runWith({ versions: versions(0), routing: { stickyCanary: { enabled: true } } });
        const text = trafficSplit(run.resources);
        assert.doesNotMatch(text, /sticky|cookie/);
        assert.match(text, /http\[0\] weighted/);
    });
});
