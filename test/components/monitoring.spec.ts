import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { stringify } from "yaml";
import { DEFAULTS } from "../../config/defaults";
import type { MonitoringConfig } from "../../config/types";

type MonitoringModule = typeof import("../../components/monitoring");

const config = (over: Partial<MonitoringConfig> = {}): MonitoringConfig => ({
    enabled: true,
    namespace: "istio-system",
    prometheusChartVersion: "27.39.0",
    grafanaChartVersion: "10.1.4",
    kialiChartVersion: "2.17.0",
    ...over,
});
const FQDN = "myapp.default.svc.cluster.local";
const RELEASE = "kubernetes:helm.sh/v3:Release";

function promiseOf<T>(o: pulumi.Output<T>): Promise<T> {
    return new Promise((resolve) => o.apply((v) => resolve(v)));
}

describe("Monitoring component", () => {
    let recorded: pulumi.runtime.MockResourceArgs[];
    let m: MonitoringModule;

    beforeEach(async () => {
        recorded = [];
        await pulumi.runtime.setMocks(
            {
                newResource(args: pulumi.runtime.MockResourceArgs) {
                    recorded.push(args);
                    return { id: `${args.name}-id`, state: args.inputs };
                },
                call: (args: pulumi.runtime.MockCallArgs) => args.inputs,
            },
            "istio-canary",
            "dev",
            false,
        );
        m = await import("../../components/monitoring");
    });

    async function create(over: Partial<MonitoringConfig> = {}, extra: Partial<import("../../components/monitoring").MonitoringArgs> = {}) {
        const component = new m.Monitoring("monitoring", { ...config(over), serviceFqdn: FQDN, ...extra });
        await Promise.all([
            promiseOf(component.urn),
            promiseOf(component.prometheus.urn),
            promiseOf(component.grafana.urn),
            promiseOf(component.kiali.urn),
        ]);
        const releases = recorded.filter((r) => r.type === RELEASE);
        const byChart = (chart: string) => {
            const found = releases.filter((r) => r.inputs.chart === chart);
            assert.equal(found.length, 1, `one ${chart} release`);
            return found[0];
        };
        return { component, releases, prometheus: byChart("prometheus"), grafana: byChart("grafana"), kiali: byChart("kiali-server") };
    }

    it("installs Prometheus, Grafana and Kiali from their repositories at the configured chart versions, in the monitoring namespace", async () => {
        const { releases, prometheus, grafana, kiali } = await create({
            namespace: "monitoring",
            prometheusChartVersion: "27.1.0",
            grafanaChartVersion: "9.0.0",
            kialiChartVersion: "2.10.0",
        });
        assert.equal(releases.length, 3);
        assert.deepEqual(
            [prometheus, grafana, kiali].map((r) => [r.name, r.inputs.version, r.inputs.repositoryOpts.repo, r.inputs.namespace]),
            [
                ["monitoring-prometheus", "27.1.0", "https://prometheus-community.github.io/helm-charts", "monitoring"],
                ["monitoring-grafana", "9.0.0", "https://grafana.github.io/helm-charts", "monitoring"],
                ["monitoring-kiali", "2.10.0", "https://kiali.org/helm-charts", "monitoring"],
            ],
        );
        assert.equal(recorded.filter((r) => r.type === "istio-canary:monitoring:Monitoring").length, 1);
    });

    it("configures Prometheus to scrape istiod and the Envoy sidecars, and only once", async () => {
        const { prometheus } = await create({}, { istioNamespace: "istio-control" });
        const values = prometheus.inputs.values;
        assert.equal(values.server.fullnameOverride, "prometheus");
        assert.equal(values.server.service.servicePort, 9090);
        for (const extra of ["alertmanager", "kube-state-metrics", "prometheus-node-exporter", "prometheus-pushgateway"]) {
            assert.equal(values[extra].enabled, false, extra);
        }
        const jobs = values.serverFiles["prometheus.yml"].scrape_configs as {
            job_name: string;
            metrics_path?: string;
            kubernetes_sd_configs?: unknown[];
            relabel_configs?: { regex?: string }[];
        }[];
        assert.deepEqual(
            jobs.map((j) => j.job_name),
            ["prometheus", "istiod", "envoy-stats"],
            "no annotation-based kubernetes-pods job that would scrape Envoy again on 15020",
        );
        const istiod = jobs[1];
        assert.deepEqual(istiod.kubernetes_sd_configs, [{ role: "endpoints", namespaces: { names: ["istio-control"] } }]);
        assert.equal(istiod.relabel_configs?.[0].regex, "istiod;http-monitoring");
        const envoy = jobs[2];
        assert.equal(envoy.metrics_path, "/stats/prometheus");
        assert.equal(envoy.relabel_configs?.[0].regex, ".*-envoy-prom");
    });

    it("writes scrape jobs and relabel rules that promtool accepts", function () {
        const promtool = spawnSync("promtool", ["--version"], { encoding: "utf8" });
        assert.equal(promtool.error, undefined, "promtool not found: install it with apt-get install prometheus (.ci/run does)");
        const r = m.resolveMonitoringArgs({ ...config(), serviceFqdn: FQDN });
        const values = m.prometheusValues(r) as {
            server: { global: object };
            serverFiles: { "prometheus.yml": { scrape_configs: Record<string, unknown>[] } };
        };
        // Debian's Prometheus is built without Kubernetes service discovery, so its promtool rejects
        // kubernetes_sd_configs; they are swapped for a static target here (their content is
        // asserted above) so that everything else (jobs, paths, relabel rules, regexes) is checked.
        const jobs = values.serverFiles["prometheus.yml"].scrape_configs.map((job) => {
            const { kubernetes_sd_configs: sd, ...rest } = job;
            return sd === undefined ? rest : { ...rest, static_configs: [{ targets: ["10.0.0.1:15090"] }] };
        });
        const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "promcfg-")), "prometheus.yml");
        fs.writeFileSync(file, stringify({ global: values.server.global, scrape_configs: jobs }));
        const check = spawnSync("promtool", ["check", "config", file], { encoding: "utf8" });
        assert.equal(check.status, 0, `${check.stdout}${check.stderr}`);
        assert.match(check.stdout, /SUCCESS/);
    });

    it("provisions Grafana with this Prometheus as data source and the canary dashboard for the app's service", async () => {
        const { component, grafana } = await create();
        const values = grafana.inputs.values;
        const source = values.datasources["datasources.yaml"].datasources[0];
        assert.equal(source.url, component.prometheusUrl);
        assert.equal(source.uid, "prometheus");
        const provider = values.dashboardProviders["dashboardproviders.yaml"].providers[0];
        assert.equal(provider.options.path, "/var/lib/grafana/dashboards/istio-canary");
        const dashboard = JSON.parse(values.dashboards["istio-canary"].canary.json) as {
            panels: { title: string; targets: { expr: string; legendFormat: string }[] }[];
        };
        assert.deepEqual(
            dashboard.panels.map((p) => p.title),
            [
                "Traffic split (share of requests per version)",
                "5xx ratio per version",
                "p99 latency per version",
                "Requests per second per version",
            ],
        );
        for (const panel of dashboard.panels) {
            const { expr, legendFormat } = panel.targets[0];
            assert.match(expr, /destination_service="myapp\.default\.svc\.cluster\.local"/, panel.title);
            assert.match(expr, /reporter="destination"/, panel.title);
            assert.match(expr, /by \(destination_version/, panel.title);
            assert.equal(legendFormat, "{{destination_version}}");
        }
        assert.match(dashboard.panels[1].targets[0].expr, /istio_requests_total\{[^}]*response_code=~"5\.\."/);
        assert.match(dashboard.panels[2].targets[0].expr, /^histogram_quantile\(0\.99, .*istio_request_duration_milliseconds_bucket/);
    });

    it("points Kiali at this Prometheus and Grafana, read-only", async () => {
        const { component, kiali } = await create({ namespace: "monitoring" });
        const values = kiali.inputs.values;
        assert.equal(values.external_services.prometheus.url, "http://prometheus.monitoring:9090");
        assert.equal(values.external_services.prometheus.url, component.prometheusUrl);
        assert.equal(values.external_services.grafana.internal_url, "http://grafana.monitoring:3000");
        assert.equal(values.external_services.tracing.enabled, false);
        assert.equal(values.deployment.view_only_mode, true);
        assert.equal(values.istio_namespace, "istio-system");
    });

    it("exports the Prometheus URL the rollout uses by default when installed in istio-system", async () => {
        const { component } = await create();
        assert.equal(component.prometheusUrl, DEFAULTS.rollout.prometheusUrl);
    });

    it("rejects bad arguments with a message naming each, before registering anything", () => {
        assert.throws(
            () => new m.Monitoring("bad", { ...config({ namespace: "Monitoring", grafanaChartVersion: "latest" }), serviceFqdn: 'x"}' }),
            (e: Error) =>
                e.message ===
                "Monitoring: invalid args (3 problems):\n" +
                    '  - serviceFqdn is "x\\"}"; it must be a service FQDN such as myapp.default.svc.cluster.local\n' +
                    "  - namespace is \"Monitoring\"; it must be a DNS label (lower-case letters, digits and '-', at most 63 characters)\n" +
                    '  - grafanaChartVersion is "latest"; it must be a chart version such as 1.28.0',
        );
        assert.equal(recorded.filter((r) => r.type === RELEASE).length, 0);
    });

    describe("the canary dashboard on a real Prometheus", function () {
        this.timeout(90_000);
        let exporter: import("../support/istio-exporter").RunningIstioExporter | undefined;
        let prom: import("../support/prometheus").RunningPrometheus | undefined;

        before(async function () {
            this.timeout(90_000);
            const { startIstioExporter } = await import("../support/istio-exporter");
            const { startPrometheus } = await import("../support/prometheus");
            exporter = await startIstioExporter({
                services: {
                    [FQDN]: { v1: { rps: 450, errorRate: 0.02, latencyMs: 20 }, v2: { rps: 50, errorRate: 0, latencyMs: 40 } },
                    "other.default.svc.cluster.local": { v1: { rps: 500, errorRate: 0.5, latencyMs: 20 } },
                },
            });
            prom = await startPrometheus({ targets: [exporter.target] });
            const p = prom;
            await p.waitFor(
                "6 s of scraped samples",
                async () => {
                    const r = await p.query(
                        `count_over_time(istio_requests_total{destination_service="${FQDN}",destination_version="v2"}[10s])`,
                    );
                    return r.length === 1 && r[0].value >= 6;
                },
                60_000,
            );
        });

        after(async function () {
            this.timeout(20_000);
            await prom?.stop();
            await exporter?.stop();
        });

        /** Evaluates one dashboard panel's query as Grafana would with a 5 s rate interval. */
        async function panel(title: string): Promise<Record<string, number>> {
            const q = m.canaryDashboardQueries(FQDN).find((x) => x.title.startsWith(title))!;
            const samples = await prom!.query(q.expr.replace(/\$__rate_interval/g, "5s"));
            return Object.fromEntries(samples.map((s) => [s.metric.destination_version, s.value]));
        }

        it("shows the traffic split per version of the app's service only", async () => {
            const split = await panel("Traffic split");
            assert.deepEqual(Object.keys(split).sort(), ["v1", "v2"]);
            assert.ok(Math.abs(split.v1 - 0.9) < 0.03 && Math.abs(split.v2 - 0.1) < 0.03, JSON.stringify(split));
        });

        it("shows each version's 5xx ratio, 0 for a version without errors", async () => {
            const ratio = await panel("5xx ratio");
            assert.ok(Math.abs(ratio.v1 - 0.02) < 0.01, JSON.stringify(ratio));
            assert.equal(ratio.v2, 0);
        });

        it("shows each version's p99 latency, the slower canary higher", async () => {
            const p99 = await panel("p99 latency");
            assert.ok(p99.v1 > 20 && p99.v1 < p99.v2, JSON.stringify(p99));
        });
    });

    describe("in the whole program", () => {
        for (const enabled of [true, false]) {
            it(`${enabled ? "installs" : "leaves out"} the three releases when monitoring.enabled is ${enabled}`, async () => {
                const { runStackOffline } = await import("../../offline/run");
                const dir = fs.mkdtempSync(path.join(os.tmpdir(), "monitoring-stack-"));
                const root = path.join(__dirname, "..", "..");
                fs.copyFileSync(path.join(root, "Pulumi.yaml"), path.join(dir, "Pulumi.yaml"));
                const dev = fs
                    .readFileSync(path.join(root, "Pulumi.dev.yaml"), "utf8")
                    .replace(/istio-canary:monitoring:\n(\s+enabled: )\w+/, `istio-canary:monitoring:\n$1${enabled}`);
                fs.writeFileSync(path.join(dir, "Pulumi.dev.yaml"), dev);
                const run = await runStackOffline("dev", { configDir: dir });
                const charts = run.resources.filter((r) => r.type === RELEASE).map((r) => r.inputs.chart as string);
                const monitoring = ["prometheus", "grafana", "kiali-server"].filter((c) => charts.includes(c));
                assert.deepEqual(monitoring, enabled ? ["prometheus", "grafana", "kiali-server"] : []);
                assert.equal(
                    run.resources.some((r) => r.type === "istio-canary:monitoring:Monitoring"),
                    enabled,
                );
                assert.equal(run.outputs.prometheusUrl, enabled ? "http://prometheus.istio-system:9090" : undefined);
            });
        }
    });
});
