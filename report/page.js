// The rollout report's charts, run in the browser from the page itself (report/html.ts inlines this
// file after Chart.js). It reads the report model from the JSON block #report-data and draws one
// Chart.js chart per canvas; every time chart shares the x axis (seconds since the rollout started)
// and the timeline's markers. Nothing here fetches anything: the page's Content-Security-Policy
// allows no connection at all.
/* global document, window, Chart */
(function () {
    "use strict";
    var data = JSON.parse(document.getElementById("report-data").textContent);
    var model = data.model;
    var BASELINE = "#1f77b4";
    var CANARY = "#e6550d";
    var LIMIT = "#6b6b6b";
    // One colour per kind of timeline event, the same as the legend above the charts.
    var MARKER_COLORS = data.markerColors;
    // An e-value's log10 is drawn within these bounds; beyond them (or infinite) it sits on the edge.
    var LOG_FLOOR = -12;
    var LOG_CEIL = 40;

    function clock(seconds) {
        var s = Math.round(seconds);
        var m = Math.floor(s / 60);
        var r = s % 60;
        return m + ":" + (r < 10 ? "0" : "") + r;
    }

    // Vertical lines for the timeline's markers, drawn on every time chart (holds dotted and unlabelled).
    var markerPlugin = {
        id: "rolloutMarkers",
        afterDatasetsDraw: function (chart) {
            var x = chart.scales.x;
            var area = chart.chartArea;
            var ctx = chart.ctx;
            ctx.save();
            ctx.font = "10px sans-serif";
            model.markers.forEach(function (m) {
                var px = x.getPixelForValue(m.t);
                if (px < area.left - 1 || px > area.right + 1) {
                    return;
                }
                ctx.strokeStyle = MARKER_COLORS[m.kind] || "#444444";
                ctx.lineWidth = m.kind === "hold" ? 1 : 1.5;
                ctx.setLineDash(m.kind === "hold" ? [2, 3] : []);
                ctx.beginPath();
                ctx.moveTo(px, area.top);
                ctx.lineTo(px, area.bottom);
                ctx.stroke();
            });
            ctx.restore();
        },
    };

    var xAxis = {
        type: "linear",
        min: 0,
        max: Math.max(model.durationSeconds, 1),
        title: { display: true, text: "time since the rollout started (m:ss)" },
        ticks: {
            callback: function (v) {
                return clock(v);
            },
        },
    };

    function chart(id, datasets, yAxis) {
        var canvas = document.getElementById(id);
        var options = {
            animation: false,
            responsive: true,
            maintainAspectRatio: false,
            parsing: false,
            interaction: { mode: "nearest", intersect: false },
            scales: { x: xAxis, y: yAxis },
            plugins: {
                legend: { position: "bottom" },
                tooltip: {
                    callbacks: {
                        title: function (items) {
                            return items.length > 0 ? clock(items[0].parsed.x) : "";
                        },
                    },
                },
            },
        };
        return new Chart(canvas, { type: "line", data: { datasets: datasets }, options: options, plugins: [markerPlugin] });
    }

    // Per-version series of the looks, with a gap between steps (counts restart at every shift).
    function lookSeries(pick) {
        var out = [];
        model.looks.forEach(function (look, i) {
            if (i > 0 && model.looks[i - 1].step !== look.step) {
                out.push({ x: (model.looks[i - 1].t + look.t) / 2, y: null });
            }
            out.push({ x: look.t, y: pick(look) });
        });
        return out;
    }

    function line(label, color, data, more) {
        var d = { label: label, data: data, borderColor: color, backgroundColor: color, pointRadius: 3, borderWidth: 2, spanGaps: false };
        Object.keys(more || {}).forEach(function (k) {
            d[k] = more[k];
        });
        return d;
    }

    function limitLine(label, value) {
        return line(
            label,
            LIMIT,
            [
                { x: 0, y: value },
                { x: Math.max(model.durationSeconds, 1), y: value },
            ],
            { borderDash: [6, 4], pointRadius: 0, borderWidth: 1 },
        );
    }

    // The traffic split: each confirmed apply, held until the next one (or the end).
    function splitSeries(pick) {
        var out = model.split.map(function (p) {
            return { x: p.t, y: pick(p) };
        });
        if (model.split.length > 0) {
            out.push({
                x: Math.max(model.durationSeconds, model.split[model.split.length - 1].t),
                y: pick(model.split[model.split.length - 1]),
            });
        }
        return out;
    }

    var b = model.baseline.name;
    var c = model.canary.name;
    function splitLine(label, color, key) {
        return line(
            label,
            color,
            splitSeries(function (p) {
                return p[key];
            }),
            { stepped: "before", pointRadius: 2 },
        );
    }
    chart("chart-split", [splitLine(c + " (canary)", CANARY, "canary"), splitLine(b + " (baseline)", BASELINE, "baseline")], {
        min: 0,
        max: 100,
        title: { display: true, text: "weight (%)" },
    });
    // One chart of both versions' numbers at every look, with the analysis's limit when it has one.
    function versionChart(id, pick, yTitle, limit) {
        var datasets = [
            line(
                b,
                BASELINE,
                lookSeries(function (l) {
                    return pick(l.baseline);
                }),
            ),
            line(
                c,
                CANARY,
                lookSeries(function (l) {
                    return pick(l.canary);
                }),
            ),
        ];
        if (limit !== undefined && limit.value !== undefined) {
            datasets.push(limitLine(limit.label, limit.value));
        }
        chart(id, datasets, { beginAtZero: true, title: { display: true, text: yTitle } });
    }

    versionChart(
        "chart-requests",
        function (v) {
            return v.requests;
        },
        "requests since the step's shift",
    );
    versionChart(
        "chart-errors",
        function (v) {
            return v.errorRate === null ? null : v.errorRate * 100;
        },
        "5xx ratio (%)",
        { label: "limit (maxErrorRate)", value: model.limits.maxErrorRate === undefined ? undefined : model.limits.maxErrorRate * 100 },
    );
    versionChart(
        "chart-p99",
        function (v) {
            return v.p99Ms;
        },
        "p99 latency (ms)",
        { label: "limit (maxP99Ms)", value: model.limits.maxP99Ms },
    );

    model.tests.forEach(function (test, i) {
        var evalues = test.points.map(function (p) {
            var y = p.log10E === null ? LOG_CEIL : Math.min(LOG_CEIL, Math.max(LOG_FLOOR, p.log10E));
            return { x: p.t, y: y };
        });
        var thresholds = test.points.map(function (p) {
            return { x: p.t, y: p.log10Threshold };
        });
        var rejectedStyle = test.points.map(function (p) {
            return p.rejected ? "rectRot" : "circle";
        });
        chart(
            "chart-test-" + i,
            [
                line("e-value (log10)", test.purpose === "pass" ? "#31a354" : test.purpose === "fail" ? "#cb181d" : "#8c6d31", evalues, {
                    pointStyle: rejectedStyle,
                    pointRadius: 4,
                }),
                line("threshold (log10)", LIMIT, thresholds, { borderDash: [6, 4], pointRadius: 0, borderWidth: 1 }),
            ],
            {
                suggestedMin: -2,
                suggestedMax: 4,
                title: { display: true, text: "log10 e-value" },
            },
        );
    });
    window.rolloutReportReady = true;
    document.body.setAttribute("data-charts", "ready");
})();
