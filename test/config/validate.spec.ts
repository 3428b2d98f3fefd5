import * as assert from "node:assert/strict";
import { ConfigError, DEFAULTS, validateConfig } from "../../config";
import { RawConfig } from "../../config/validate";
import { readProjectDefaults } from "../../stack/load";
import { runWith } from "../support/program";

const v1 = { name: "v1", image: "jamaldevsecops/myapp:v1", replicas: 2, weight: 90 };
const v2 = { name: "v2", image: "jamaldevsecops/myapp:v2", replicas: 1, weight: 10 };

function problemsOf(raw: RawConfig): string[] {
    // The messages must never echo a secret's value.
    try {
        validateConfig(raw);
    } catch (e) {
        assert.ok(e instanceof ConfigError, `expected a ConfigError, got ${e}`);
        return e.problems;
    }
    return [];
}

/** Each invalid config and the one message it must produce, word for word. */
const INVALID: [string, RawConfig, string][] = [
    [
        "weights that do not sum to 100",
        {
            versions: [
                { ...v1, weight: 90 },
                { ...v2, weight: 20 },
            ],
        },
        "istio-canary:versions weights are v1=90, v2=20 (sum 110); they must sum to 100",
    ],
    [
        "a fractional weight",
        { versions: [{ ...v1, weight: 89.5 }, v2] },
        "istio-canary:versions[0].weight is 89.5; it must be an integer from 0 to 100",
    ],
    [
        "a weight given as a string",
        { versions: [{ ...v1, weight: "90" }, v2] },
        'istio-canary:versions[0].weight is "90"; it must be an integer from 0 to 100',
    ],
    [
        "a negative weight",
        {
            versions: [
                { ...v1, weight: 100 },
                { ...v2, weight: -10 },
            ],
        },
        "istio-canary:versions[1].weight is -10; it must be an integer from 0 to 100",
    ],
    [
        "a weight above 100",
        { versions: [{ ...v1, weight: 101 }] },
        "istio-canary:versions[0].weight is 101; it must be an integer from 0 to 100",
    ],
    [
        "duplicate version names",
        {
            versions: [
                { ...v1, weight: 50 },
                { ...v2, name: "v1", weight: 50 },
            ],
        },
        'istio-canary:versions[1].name is "v1"; version names must be unique',
    ],
    [
        "a version name that is not a DNS label",
        { versions: [{ ...v1, name: "V_1", weight: 100 }] },
        "istio-canary:versions[0].name is \"V_1\"; it must be a DNS label (lower-case letters, digits and '-', at most 63 characters)",
    ],
    [
        "an image without a tag or digest",
        { versions: [{ ...v1, image: "jamaldevsecops/myapp", weight: 100 }] },
        'istio-canary:versions[0].image is "jamaldevsecops/myapp"; it must be an image reference with a tag or a sha256 digest, e.g. repo/app:v2 or repo/app@sha256:<64 hex>',
    ],
    [
        "a malformed digest",
        { versions: [{ ...v1, image: "repo/app@sha256:abc", weight: 100 }] },
        'istio-canary:versions[0].image is "repo/app@sha256:abc"; it must be an image reference with a tag or a sha256 digest, e.g. repo/app:v2 or repo/app@sha256:<64 hex>',
    ],
    [
        "negative replicas",
        { versions: [{ ...v1, replicas: -1, weight: 100 }] },
        "istio-canary:versions[0].replicas is -1; it must be an integer from 0 to 1000",
    ],
    ["an empty version list", { versions: [] }, "istio-canary:versions is []; it must list at least one version"],
    [
        "versions that are not a list",
        { versions: { v1: 100 } },
        'istio-canary:versions is {"v1":100}; it must be a list of {name, image, replicas, weight} entries',
    ],
    [
        "a version without a weight",
        { versions: [{ name: "v1", image: "a/b:1" }] },
        "istio-canary:versions[0].weight is missing; every version needs weight",
    ],
    [
        "a misspelt version field",
        { versions: [{ ...v1, wieght: 1, weight: 100 }] },
        "istio-canary:versions[0].wieght is not a known field; known fields: name, image, replicas, weight",
    ],
    [
        "an invalid hostname",
        { hosts: ["My_App.example.com"] },
        "istio-canary:hosts[0] is \"My_App.example.com\"; it must be a DNS hostname such as myapp.example.com (lower case; '*.' prefix allowed)",
    ],
    ["no hosts", { hosts: [] }, "istio-canary:hosts is []; it must list at least one hostname"],
    [
        "a duplicate host",
        { hosts: ["a.example.com", "a.example.com"] },
        'istio-canary:hosts[1] is "a.example.com"; each hostname may be listed once',
    ],
    ["a port out of range", { app: { port: 70000 } }, "istio-canary:app.port is 70000; it must be an integer from 1 to 65535"],
    [
        "an app name that is not a DNS label",
        { app: { name: "My App" } },
        "istio-canary:app.name is \"My App\"; it must be a DNS-1035 label (lower-case letters, digits and '-', starting with a letter, at most 63 characters)",
    ],
    [
        "an unknown config key",
        { verisons: [] },
        "istio-canary:verisons is not a known config key; known keys: app, hosts, versions, tlsCert, tlsKey, tls, istio, pod, routing, monitoring, gatewayApi, rollout, promotionOrder",
    ],
    [
        "a credentialName that is not a Secret name",
        { tls: { credentialName: "Apsis TLS" } },
        'istio-canary:tls.credentialName is "Apsis TLS"; it must be a Kubernetes Secret name (lower-case DNS subdomain)',
    ],
    [
        "a mirror to a version not in versions",
        { routing: { mirror: { version: "v3", percentage: 10 } } },
        'istio-canary:routing.mirror.version is "v3"; it must name a version in versions (v1)',
    ],
    [
        "a mirror percentage above 100",
        { routing: { mirror: { version: "v1", percentage: 150 } } },
        "istio-canary:routing.mirror.percentage is 150; it must be a number at least 0 and at most 100",
    ],
    [
        "a header route to a version not in versions",
        { routing: { headerRoute: { header: "x-canary", value: "true", version: "v9" } } },
        'istio-canary:routing.headerRoute.version is "v9"; it must name a version in versions (v1)',
    ],
    [
        "a sticky canary block without enabled",
        { routing: { stickyCanary: { cookieName: "canary" } } },
        "istio-canary:routing.stickyCanary.enabled is missing; say whether sticky routing is on (enabled: true), or remove routing.stickyCanary",
    ],
    [
        "a sticky canary max-age above 30 days, with the Gateway API too",
        { routing: { api: "gateway-api", stickyCanary: { enabled: true, maxAgeSeconds: 2592001 } } },
        "istio-canary:routing.stickyCanary.maxAgeSeconds is 2592001; it must be an integer from 1 to 2592000",
    ],
    [
        "a sticky canary cookie name with a space",
        { routing: { stickyCanary: { enabled: true, cookieName: "my cookie" } } },
        "istio-canary:routing.stickyCanary.cookieName is \"my cookie\"; it must be a cookie name of letters, digits, '-', '_' and '.' (at most 64 characters), such as istio-canary",
    ],
    [
        "a header name with upper case",
        { routing: { headerRoute: { header: "X-Canary", value: "true", version: "v1" } } },
        'istio-canary:routing.headerRoute.header is "X-Canary"; it must be a lower-case HTTP header name such as x-canary',
    ],
    [
        "a timeout that is not a duration",
        { routing: { timeout: "ten seconds" } },
        'istio-canary:routing.timeout is "ten seconds"; it must be a duration such as 500ms, 10s or 1m',
    ],
    [
        "an unknown retry condition",
        { routing: { retries: { attempts: 2, retryOn: "5xx,sometimes" } } },
        'istio-canary:routing.retries.retryOn is "5xx,sometimes"; it must be a comma-separated list of 5xx, gateway-error, reset, connect-failure, envoy-ratelimited, retriable-4xx, refused-stream, retriable-status-codes, retriable-headers, cancelled, deadline-exceeded, internal, resource-exhausted, unavailable or HTTP status codes',
    ],
    [
        "an Istio version that is not a chart version",
        { istio: { version: "latest" } },
        'istio-canary:istio.version is "latest"; it must be a chart version such as 1.28.0',
    ],
    [
        "a gateway selector while Istio is installed by the stack",
        { istio: { gatewaySelector: { istio: "x" } } },
        'istio-canary:istio.gatewaySelector is {"istio":"x"}; it is derived from istio.gatewayName when istio.install is true; set it only with istio.install: false',
    ],
    ["install given as a string", { istio: { install: "no" } }, 'istio-canary:istio.install is "no"; it must be true or false'],
    [
        "rollout steps that do not end at 100",
        { rollout: { steps: [10, 50] } },
        "istio-canary:rollout.steps is [10,50]; it must be strictly increasing integer weights from 1 to 100 that end at 100, e.g. [10, 25, 50, 100]",
    ],
    [
        "a rollout error-rate limit above 1",
        { rollout: { maxErrorRate: 5 } },
        "istio-canary:rollout.maxErrorRate is 5; it must be a number greater than 0 and less than 1",
    ],
    [
        "a rollout error-rate limit of 0, which no canary could pass",
        { rollout: { maxErrorRate: 0 } },
        "istio-canary:rollout.maxErrorRate is 0; it must be a number greater than 0 and less than 1",
    ],
    [
        "an unknown metrics reporter",
        { rollout: { reporter: "client" } },
        'istio-canary:rollout.reporter is "client"; it must be one of destination, source, waypoint',
    ],
    [
        "retries without attempts",
        { routing: { retries: { perTryTimeout: "2s" } } },
        "istio-canary:routing.retries.attempts is missing; retries need the number of attempts, an integer from 0 to 10",
    ],
    [
        "a mirror without a version",
        { routing: { mirror: { percentage: 10 } } },
        "istio-canary:routing.mirror.version is missing; a mirror names the version that receives the copy",
    ],
    [
        "a header route without a value",
        { routing: { headerRoute: { header: "x-canary", version: "v1" } } },
        'istio-canary:routing.headerRoute.value is missing; a header route needs the exact value to match, e.g. "true"',
    ],
    [
        "a gateway Service type Kubernetes does not have",
        { istio: { gatewayServiceType: "Ingress" } },
        'istio-canary:istio.gatewayServiceType is "Ingress"; it must be one of LoadBalancer, NodePort, ClusterIP (NodePort on clusters without a load-balancer implementation, such as plain kind)',
    ],
    [
        "a TLS key in plain text in the stack file",
        { tlsKey: "-----BEGIN PRIVATE KEY-----" },
        'istio-canary:tlsKey is stored in plain text in the stack\'s config; remove it from the file (and from git history), rotate it, and set it as a secret with: pulumi config set --secret tlsKey -- "$(cat FILE)"',
    ],
    [
        "a Prometheus URL without a scheme",
        { rollout: { prometheusUrl: "prometheus:9090" } },
        'istio-canary:rollout.prometheusUrl is "prometheus:9090"; it must be an http(s) URL such as http://prometheus.istio-system:9090',
    ],
    [
        "root while runAsNonRoot",
        { pod: { runAsUser: 0 } },
        "istio-canary:pod.runAsUser is 0; it must not be 0 (root) while pod.runAsNonRoot is true",
    ],
    [
        "a memory quantity with a bad unit",
        { pod: { resources: { limits: { memory: "256MB" } } } },
        'istio-canary:pod.resources.limits.memory is "256MB"; it must be a Kubernetes quantity such as 100m, 0.5, 128Mi or 1Gi',
    ],
    // Accepted before although Kubernetes or Istio rejects them, or they make an outage (issue 10).
    [
        "a null entry in versions, which used to skip the weight sum",
        { versions: [{ ...v1 }, null] },
        "istio-canary:versions[1] is null; each version must be an object with fields name, image, replicas, weight",
    ],
    [
        "a host of * that would take every other app's traffic",
        { hosts: ["*"] },
        'istio-canary:hosts[0] is "*"; a Gateway serving every hostname would take traffic meant for other apps; name the hosts',
    ],
    [
        "a wildcard host that covers another listed host",
        { hosts: ["*.example.com", "a.example.com"] },
        'istio-canary:hosts[1] is "a.example.com"; it overlaps "*.example.com"; list either the wildcard or the names it covers, not both',
    ],
    [
        "the Service's own FQDN as a public host",
        { hosts: ["myapp.default.svc.cluster.local"] },
        'istio-canary:hosts[0] is "myapp.default.svc.cluster.local"; it must be a public hostname; the Service\'s cluster name is routed already (the VirtualService adds it for in-mesh callers)',
    ],
    [
        "an app name that is not a DNS-1035 label (a Service name must start with a letter)",
        { app: { name: "123" } },
        "istio-canary:app.name is \"123\"; it must be a DNS-1035 label (lower-case letters, digits and '-', starting with a letter, at most 63 characters)",
    ],
    [
        "a CPU request above its limit",
        { pod: { resources: { requests: { cpu: "1" }, limits: { cpu: "500m" } } } },
        'istio-canary:pod.resources.requests.cpu is "1"; it must not exceed pod.resources.limits.cpu (500m); Kubernetes rejects such a pod',
    ],
    [
        "a version without replicas that gets traffic",
        { versions: [{ ...v1, replicas: 0, weight: 100 }] },
        "istio-canary:versions[0].replicas is 0; a version with weight 100 needs at least one replica, or its share of requests fails with 503; set its weight to 0 first",
    ],
    [
        "an app in kube-system",
        { app: { namespace: "kube-system" } },
        'istio-canary:app.namespace is "kube-system"; an app must not go to a Kubernetes system namespace (kube-system, kube-public, kube-node-lease)',
    ],
    [
        "an app in Istio's namespace",
        { app: { namespace: "istio-system" } },
        'istio-canary:app.namespace is "istio-system"; it must not be Istio\'s own namespace (istio.namespace); give the app a namespace of its own',
    ],
    [
        "rollout steps of [100], which would skip every analysis",
        { rollout: { steps: [100] } },
        "istio-canary:rollout.steps is [100]; it must have at least one step below 100, e.g. [10, 100]: only steps below 100 are analysed, so [100] would send all traffic to the canary without any analysis",
    ],
    [
        "rollout.maxInconclusive, replaced by a tolerance in canary requests and seconds",
        { rollout: { maxInconclusive: 8 } },
        "istio-canary:rollout.maxInconclusive is 8; it was replaced by rollout.maxStepRequests (canary requests a step may gather without a verdict) " +
            "and rollout.maxStepSeconds (seconds it may last): a count of looks says nothing about the evidence gathered",
    ],
    [
        "a step tolerance of 0 canary requests",
        { rollout: { maxStepRequests: 0 } },
        "istio-canary:rollout.maxStepRequests is 0; it must be an integer >= 1",
    ],
    [
        "a promotion order with one stack",
        { promotionOrder: ["prod"] },
        'istio-canary:promotionOrder is ["prod"]; it must list at least two distinct stack names in promotion order, e.g. [dev, staging, prod]',
    ],
];

describe("config validation", () => {
    for (const [what, raw, message] of INVALID) {
        it(`rejects ${what}`, () => {
            const problems = problemsOf(raw);
            assert.deepEqual(problems, [message]);
            assert.doesNotMatch(problems.join("\n"), /BEGIN PRIVATE KEY/);
        });
    }

    it("reports every problem at once, not only the first", () => {
        const problems = problemsOf({
            hosts: [],
            app: { port: 0 },
            versions: [
                { ...v1, weight: 90 },
                { ...v2, weight: 20 },
            ],
        });
        assert.equal(problems.length, 3);
    });

    it("accepts a single version at weight 100 and applies the documented defaults", () => {
        const config = validateConfig({ versions: [{ ...v1, weight: 100 }] });
        assert.deepEqual(config.app, { ...DEFAULTS.app, createNamespace: false });
        assert.deepEqual(config.hosts, DEFAULTS.hosts);
        assert.equal(config.istio.gatewayNamespace, "istio-system");
        assert.deepEqual(config.istio.gatewaySelector, { istio: "ingressgateway" });
        assert.deepEqual(config.rollout, DEFAULTS.rollout);
    });

    it("fills fields a stack leaves out of an object key from the defaults", () => {
        const config = validateConfig({ app: { name: "shop" } });
        assert.deepEqual(config.app, { name: "shop", namespace: "default", port: 8080, targetPort: 80, createNamespace: false });
    });

    it("declares in Pulumi.yaml the same defaults the validator applies", () => {
        const { defaults } = readProjectDefaults();
        const config = validateConfig(defaults);
        const { createNamespace: _c, ...app } = config.app;
        assert.deepEqual(app, DEFAULTS.app);
        assert.deepEqual(config.hosts, DEFAULTS.hosts);
        assert.deepEqual(config.versions, DEFAULTS.versions);
        assert.deepEqual(config.tls, DEFAULTS.tls);
        assert.deepEqual(config.pod, DEFAULTS.pod);
        assert.deepEqual(config.routing, DEFAULTS.routing);
        assert.deepEqual(config.monitoring, DEFAULTS.monitoring);
        assert.deepEqual(config.gatewayApi, DEFAULTS.gatewayApi);
        assert.deepEqual(config.rollout, DEFAULTS.rollout);
        assert.deepEqual(config.promotionOrder, DEFAULTS.promotionOrder);
        const { gatewaySelector: _s, gatewayNamespace: _n, ...istio } = config.istio;
        assert.deepEqual(istio, DEFAULTS.istio);
    });

    it("stops the program with every message and registers nothing when config is invalid", async () => {
        await assert.rejects(
            runWith({
                versions: [
                    { ...v1, weight: 90 },
                    { ...v2, weight: 20 },
                ],
                hosts: ["bad host"],
            }),
            (e: Error) => {
                assert.match(e.message, /invalid stack configuration \(2 problems\)/);
                assert.match(e.message, /istio-canary:versions weights are v1=90, v2=20 \(sum 110\); they must sum to 100/);
                assert.match(e.message, /istio-canary:hosts\[0\] is "bad host"/);
                assert.doesNotMatch(e.message, /\n\s+at /, "no stack trace in the message");
                return true;
            },
        );
    });
});

describe("config validation: credentials in URLs", () => {
    const allowed = "it must be an http(s) URL such as http://prometheus.istio-system:9090";
    const cases: [string, unknown, string][] = [
        ["a URL with a user and password", "ftp://admin:hunter2@prom:9090", `"ftp://***@prom:9090"`],
        ["user information without a scheme", "admin:hunter2@prometheus:9090", `"***@prometheus:9090"`],
        ["a password longer than the message shows", `http://admin:${"s3cret".repeat(20)}@prom 9090`, `"http://***@prom 9090"`],
    ];
    for (const [what, url, shown] of cases) {
        it(`never echoes the password of rollout.prometheusUrl: ${what}`, () => {
            let problems: string[] = [];
            try {
                validateConfig({ rollout: { prometheusUrl: url } });
            } catch (e) {
                assert.ok(e instanceof ConfigError);
                problems = e.problems;
            }
            assert.deepEqual(problems, [`istio-canary:rollout.prometheusUrl is ${shown}; ${allowed}`]);
            assert.doesNotMatch(problems.join("\n"), /hunter2|s3cret/);
        });
    }

    it("never echoes a password inside a rollout value that is not an object", () => {
        let message = "";
        try {
            validateConfig({ rollout: ["http://admin:hunter2@prom:9090"] });
        } catch (e) {
            message = (e as Error).message;
        }
        assert.match(message, /istio-canary:rollout is \["http:\/\/\*\*\*@prom:9090"\]; it must be an object/);
        assert.doesNotMatch(message, /hunter2/);
    });
});
