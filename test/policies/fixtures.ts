/**
 * Hand-built resources shaped as the engine sends them to a policy pack, one compliant stack to
 * start every failing case from, and helpers that call a policy's validate function directly.
 */
import type {
    Policy,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationPolicy,
} from "@pulumi/policy";

/** The preview sentinel for an unknown value. */
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

/** A resource as a policy sees it, plus the fields the gRPC runner needs. */
export interface Fixture {
    urn: string;
    type: string;
    name: string;
    props: Record<string, any>;
    /** Same object as props, under the name policy-runner/client.ts expects. */
    inputs: Record<string, any>;
}

/** Deep copy, so a failing variant never changes the compliant stack. */
export function clone<T>(v: T): T {
    return JSON.parse(JSON.stringify(v)) as T;
}

/** A resource with its URN as the engine builds it (stack dev, project istio-canary, no parent). */
export function resource(type: string, name: string, props: Record<string, any>): Fixture {
    return { urn: `urn:pulumi:dev::istio-canary::${type}::${name}`, type, name, props, inputs: props };
}

/** An Istio networking object, as a CustomResource of `apiVersion` registers it. */
export function istio(
    kind: string,
    name: string,
    spec: Record<string, any>,
    opts: { apiVersion?: string; namespace?: string; metaName?: string } = {},
): Fixture {
    const apiVersion = opts.apiVersion ?? "networking.istio.io/v1";
    return resource(`kubernetes:${apiVersion}:${kind}`, name, {
        apiVersion,
        kind,
        metadata: { namespace: opts.namespace ?? "default", ...(opts.metaName !== undefined ? { name: opts.metaName } : {}) },
        spec,
    });
}

/** The app's FQDN in the fixtures. */
export const HOST = "myapp.default.svc.cluster.local";

/** A weighted destination. */
export function dest(subset: string | undefined, weight?: unknown, host = HOST): Record<string, any> {
    return { destination: { host, ...(subset !== undefined ? { subset } : {}) }, ...(weight !== undefined ? { weight } : {}) };
}

/**
 * How the program's VirtualService names the Gateway: `default/<its auto-name>`. The Gateway has no
 * metadata.name, so the provider names it `myapp-gateway-<8 hex characters>`.
 */
export const GATEWAY_REF = "default/myapp-gateway-1a2b3c4d";

/** A VirtualService with http routes. */
export function virtualService(http: Record<string, any>[], extra: Record<string, any> = {}, opts: { apiVersion?: string } = {}): Fixture {
    return istio(
        "VirtualService",
        "myapp-vs",
        { hosts: ["dev.myapp.example.com", HOST], gateways: [GATEWAY_REF, "mesh"], http, ...extra },
        opts,
    );
}

/** A container as the program writes it: pinned image, requests, limits, probes. */
export function container(name: string, image: string): Record<string, any> {
    return {
        name,
        image,
        ports: [{ containerPort: 80, name: "http" }],
        resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { cpu: "500m", memory: "256Mi" } },
        readinessProbe: { httpGet: { path: "/", port: "http" }, periodSeconds: 5 },
        livenessProbe: { httpGet: { path: "/", port: "http" }, periodSeconds: 10 },
    };
}

/** A Deployment of one version of the app. */
export function deployment(version: string, opts: { namespace?: string; labels?: Record<string, string> } = {}): Fixture {
    const labels = opts.labels ?? { app: "myapp", "app.kubernetes.io/name": "myapp", version };
    return resource("kubernetes:apps/v1:Deployment", `myapp-${version}`, {
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { namespace: opts.namespace ?? "default", labels },
        spec: {
            replicas: 1,
            selector: { matchLabels: { app: "myapp", version } },
            template: { metadata: { labels }, spec: { containers: [container("myapp", `jamaldevsecops/myapp:${version}`)] } },
        },
    });
}

/**
 * A run-to-completion workload (a database migration) as the program would write it: pinned image,
 * requests and limits, and no readiness probe, since its pods never serve traffic.
 */
export function batchWorkload(kind: "Job" | "CronJob" | "Pod", opts: { restartPolicy?: string } = {}): Fixture {
    const {
        readinessProbe: _readiness,
        livenessProbe: _liveness,
        ports: _ports,
        ...c
    } = container("migrate", "jamaldevsecops/myapp-migrate:v2");
    const podSpec = { restartPolicy: opts.restartPolicy ?? (kind === "Pod" ? "Never" : "OnFailure"), containers: [c] };
    const template = { metadata: { labels: { app: "myapp-migrate" } }, spec: podSpec };
    const spec =
        kind === "Job"
            ? { backoffLimit: 2, template }
            : kind === "CronJob"
              ? { schedule: "0 3 * * *", jobTemplate: { spec: { template } } }
              : undefined;
    const group = kind === "Pod" ? "core/v1" : "batch/v1";
    return resource(`kubernetes:${group}:${kind}`, "myapp-migrate", {
        apiVersion: kind === "Pod" ? "v1" : "batch/v1",
        kind,
        metadata: { namespace: "default", ...(kind === "Pod" ? { labels: template.metadata.labels } : {}) },
        ...(spec !== undefined ? { spec } : { spec: podSpec }),
    });
}

/** The app's Service. */
export function service(selector: Record<string, string> = { app: "myapp" }): Fixture {
    return resource("kubernetes:core/v1:Service", "myapp-svc", {
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: "myapp", namespace: "default" },
        spec: { selector, ports: [{ name: "http", port: 8080, targetPort: 80 }] },
    });
}

/** A Helm release of an Istio chart. */
export function release(
    resourceName: string,
    chart: string,
    releaseName: string,
    namespace = "istio-system",
    values: Record<string, any> = {},
): Fixture {
    return resource("kubernetes:helm.sh/v3:Release", resourceName, {
        chart,
        name: releaseName,
        namespace,
        version: "1.28.0",
        repositoryOpts: { repo: "https://istio-release.storage.googleapis.com/charts" },
        values,
    });
}

/** The TLS Secret, its data wrapped as a Pulumi secret as under mocks. */
export function tlsSecret(name = "apsis-tls", namespace = "istio-system", type: string | undefined = "kubernetes.io/tls"): Fixture {
    return resource("kubernetes:core/v1:Secret", "tls-secret", {
        apiVersion: "v1",
        kind: "Secret",
        metadata: { name, namespace },
        ...(type !== undefined ? { type } : {}),
        stringData: {
            "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270",
            value: { "tls.crt": "CERT", "tls.key": "KEY" },
        },
    });
}

/** A cert-manager Certificate whose issued kubernetes.io/tls Secret is `secretName`, in the Certificate's namespace. */
export function certificate(secretName: unknown = "apsis-tls", namespace: unknown = "istio-system"): Fixture {
    return resource("kubernetes:cert-manager.io/v1:Certificate", "tls-certificate", {
        apiVersion: "cert-manager.io/v1",
        kind: "Certificate",
        metadata: { name: "apsis-cert", namespace },
        spec: {
            secretName,
            dnsNames: ["dev.myapp.example.com"],
            issuerRef: { name: "letsencrypt", kind: "ClusterIssuer", group: "cert-manager.io" },
        },
    });
}

/** The Gateway: HTTPS with credentialName, and a port 80 server that redirects. */
export function gateway(selector: Record<string, string> = { istio: "ingressgateway" }): Fixture {
    return istio("Gateway", "myapp-gateway", {
        selector,
        servers: [
            {
                port: { number: 443, name: "https", protocol: "HTTPS" },
                tls: { mode: "SIMPLE", credentialName: "apsis-tls" },
                hosts: ["dev.myapp.example.com"],
            },
            { port: { number: 80, name: "http", protocol: "HTTP" }, tls: { httpsRedirect: true }, hosts: ["dev.myapp.example.com"] },
        ],
    });
}

/** The DestinationRule with one subset per version. */
export function destinationRule(versions: string[] = ["v1", "v2"], host = HOST): Fixture {
    return istio("DestinationRule", "myapp-dr", { host, subsets: versions.map((v) => ({ name: v, labels: { version: v } })) });
}

/** A compliant stack shaped like the program's dev stack (v1 90 / v2 10), as a map to pick from and change. */
export function compliantStack() {
    return {
        base: release("istio-base", "base", "istio-base"),
        istiod: release("istio-istiod", "istiod", "istiod"),
        ingress: release("istio-gateway", "gateway", "istio-ingressgateway"),
        secret: tlsSecret(),
        service: service(),
        v1: deployment("v1"),
        v2: deployment("v2"),
        dr: destinationRule(),
        gateway: gateway(),
        vs: virtualService([{ name: "weighted", route: [dest("v1", 90), dest("v2", 10)] }]),
    };
}

/** The compliant stack as a list. */
export function stackList(stack: ReturnType<typeof compliantStack> = compliantStack()): Fixture[] {
    return Object.values(stack);
}

// The engine path hands policies the inputs behind @pulumi/policy's unknown-checking proxy (it
// throws on any unknown it meets); the direct calls below do the same, so they test what runs.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { unknownCheckingProxy } = require("@pulumi/policy/proxy") as { unknownCheckingProxy<T>(v: T): T };

const OPTS = {
    protect: false,
    ignoreChanges: [],
    aliases: [],
    customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
    additionalSecretOutputs: [],
};

function notApplicable(reason?: string): never {
    throw new Error(`not applicable: ${reason ?? ""}`);
}

/** Calls a resource policy's validate function(s) on one fixture; returns the messages it reported. */
export async function runResourcePolicy(policy: ResourceValidationPolicy, r: Fixture): Promise<string[]> {
    const messages: string[] = [];
    const report: ReportViolation = (message) => {
        messages.push(message);
    };
    const args = {
        type: r.type,
        props: unknownCheckingProxy(clone(r.props)),
        urn: r.urn,
        name: r.name,
        opts: OPTS,
        stackTags: new Map<string, string>(),
        isType: () => false,
        asType: () => undefined,
        getConfig: () => ({}),
        notApplicable,
    } as unknown as ResourceValidationArgs;
    const validations = Array.isArray(policy.validateResource)
        ? policy.validateResource
        : policy.validateResource
          ? [policy.validateResource]
          : [];
    for (const v of validations) {
        await v(args, report);
    }
    return messages;
}

/** Calls a stack policy's validateStack on fixtures; returns each reported message with its URN. */
export async function runStackPolicy(
    policy: StackValidationPolicy,
    resources: Fixture[],
): Promise<{ urn: string | undefined; message: string }[]> {
    const out: { urn: string | undefined; message: string }[] = [];
    const resourcesArg = resources.map(
        (r) =>
            ({
                type: r.type,
                props: unknownCheckingProxy(clone(r.props)),
                urn: r.urn,
                name: r.name,
                opts: OPTS,
                dependencies: [],
                propertyDependencies: {},
            }) as unknown as PolicyResource,
    );
    await policy.validateStack(
        { resources: resourcesArg, stackTags: new Map(), getConfig: <T extends object>() => ({}) as T, notApplicable },
        (message, urn) => {
            out.push({ urn, message });
        },
    );
    return out;
}

/** Runs any policy of the pack on a stack: resource policies on each fixture, stack policies on all. */
export async function runPolicy(policy: Policy, resources: Fixture[]): Promise<string[]> {
    if ("validateStack" in policy) {
        return (await runStackPolicy(policy as StackValidationPolicy, resources)).map((v) => v.message);
    }
    const out: string[] = [];
    for (const r of resources) {
        out.push(...(await runResourcePolicy(policy as ResourceValidationPolicy, r)));
    }
    return out;
}
