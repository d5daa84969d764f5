// Renders docs/bench/results.json (written by bench/bench.ts) as docs/bench/README.md (tables,
// ratios, the issue's goals) and docs/bench/bench.svg (a plot, generated here: no dependencies).
//
//   npx ts-node --transpile-only bench/report.ts [DIR]      # re-render without re-measuring
import * as fs from "fs";
import * as path from "path";
import { PROJECT_DIR } from "../tools/project";
import { median, slope } from "./lib";

const MAIN_TOOLS = ["pulumi-raw", "pulumi-helm", "helm", "kubectl"];
const TOOL_LABEL: Record<string, string> = {
    "pulumi-raw": "Pulumi raw",
    "pulumi-helm": "Pulumi Helm mode",
    helm: "Helm",
    kubectl: "kubectl",
};
const OP_LABEL: Record<string, string> = {
    up: "up from empty",
    preview: "no-change preview (Helm: no-change upgrade; kubectl: diff --server-side)",
    replicas: "replicas 1→3 (dev: every app → 3)",
    image: "image 0.1.0→0.2.0",
    destroy: "destroy",
};
const OP_SHORT: Record<string, string> = { up: "up from empty", preview: "no-change preview", replicas: "replicas → 3", image: "image change", destroy: "destroy" };
const OPS = ["up", "preview", "replicas", "image", "destroy"];
const COLORS: Record<string, string> = { "pulumi-raw": "#6f42c1", "pulumi-helm": "#b392f0", helm: "#0f7ac4", kubectl: "#2da44e" };

interface Sample { rep: number; workload: string; tool: string; op: string; seconds: number; ok: boolean; requests?: number; load1: number }
interface Stat { median: number; min: number; max: number; n: number; failed: number; requests?: number }

export function writeReport(dir: string) {
    const { meta, samples, breakdowns } = JSON.parse(fs.readFileSync(path.join(dir, "results.json"), "utf8"));
    const S: Sample[] = samples;
    const stat = (workload: string, tool: string, op: string): Stat | undefined => {
        const all = S.filter((s) => s.workload === workload && s.tool === tool && s.op === op);
        const ok = all.filter((s) => s.ok);
        if (ok.length === 0) {
            return all.length ? { median: NaN, min: NaN, max: NaN, n: 0, failed: all.length } : undefined;
        }
        const xs = ok.map((s) => s.seconds);
        const reqs = ok.map((s) => s.requests).filter((r): r is number => r !== undefined);
        return { median: median(xs), min: Math.min(...xs), max: Math.max(...xs), n: ok.length, failed: all.length - ok.length, requests: reqs.length ? median(reqs) : undefined };
    };
    const secs = (x: number) => (x < 10 ? x.toFixed(2) : x.toFixed(1));
    const cell = (s?: Stat) => (!s ? "–" : s.n === 0 ? `failed ×${s.failed}` : `**${secs(s.median)} s** (${secs(s.min)}–${secs(s.max)})${s.failed ? ` ⚠ ${s.failed} failed` : ""}`);
    const ratio = (a?: Stat, b?: Stat) => (a && b && a.n && b.n ? `${(a.median / b.median).toFixed(a.median / b.median < 10 ? 2 : 1)}×` : "–");
    const workloads: string[] = meta.workloads;
    const numeric = workloads.filter((w) => /^\d+$/.test(w));
    const loads = S.map((s) => s.load1);
    const out: string[] = [];

    out.push("# Benchmark: Pulumi (raw and Helm mode) vs Helm vs kubectl");
    out.push("");
    out.push(`Measured by \`npm run bench\` (bench/) on ${meta.date.slice(0, 16).replace("T", " ")} UTC, finished ${String(meta.finished).slice(11, 16) || "–"}. ` +
        `Machine: ${meta.machine.nproc} CPUs (${meta.machine.cpu}), ${meta.machine.memoryGiB} GiB memory, kernel ${meta.machine.kernel}, Node ${meta.machine.node}. ` +
        `Commit \`${meta.git.commit.slice(0, 12)}\` (${meta.git.subject})${meta.git.programFilesDirty.length ? `; the working tree had uncommitted changes in program files (measured as they were): ${meta.git.programFilesDirty.map((l: string) => `\`${l.trim()}\``).join(", ")}` : ""}.`);
    out.push("");
    out.push(`Load average (1 min) during the run: start ${meta.loadStart[0].toFixed(2)}, at each operation median ${median(loads).toFixed(2)} (min ${Math.min(...loads).toFixed(2)}, max ${Math.max(...loads).toFixed(2)}), end ${meta.loadEnd?.length ? meta.loadEnd[0].toFixed(2) : "–"}. ` +
        "The machine is shared with builds and end-to-end runs: absolute times vary with the load; the ratios, measured in the same interleaved repetitions, much less.");
    out.push("");
    out.push(`Tools: Pulumi CLI ${meta.versions.pulumi} (language host: below), ${meta.versions.helm}, kubectl ${meta.versions.kubectl}; cluster ${meta.versions.server}, ` +
        `kwok-only (simulated nodes: pods become Ready without containers — this measures the tools, not the pods). ${meta.reps} interleaved repetitions (every tool once per repetition, order rotated); **median** (min–max).`);
    out.push("");
    if (meta.languageHost) {
        const end = meta.languageHostEnd;
        out.push(`Language host on PATH: \`${meta.languageHost.path}\` (sha256 ${meta.languageHost.sha256}…, built ${meta.languageHost.mtime.slice(0, 16).replace("T", " ")})${!end ? " (not re-checked: the run was stopped)" : end.sha256 !== meta.languageHost.sha256 ? ` — **replaced during the run** (at the end: sha256 ${end.sha256}…, built ${end.mtime.slice(0, 16).replace("T", " ")})` : ", the same at the end of the run"}.`);
        out.push("");
    }
    // Repetitions actually measured (a run stopped early has fewer than planned).
    const done = Object.fromEntries(workloads.map((w) => [w, Math.max(0, ...S.filter((x) => x.workload === w).map((x) => x.rep))]));
    if (Object.values(done).some((n) => n !== meta.reps) || !meta.finished) {
        out.push(`Repetitions measured per workload: ${Object.entries(done).map(([w, n]) => `${w}: ${n}`).join(", ")}` +
            `${meta.finished ? "" : ` (planned: ${Object.entries(meta.repsByWorkload ?? {}).map(([w, n]) => `${w}: ${n}`).join(", ") || meta.reps}; the run was stopped after the last complete workload to fit its time window)`}.`);
        out.push("");
    }
    out.push("![median seconds per operation, log scale](bench.svg)");
    out.push("");
    out.push("What each tool does (same objects: the chart's rendering is what the program declares, `npm run test:chart`):");
    out.push("");
    out.push("- **Pulumi raw / Helm mode**: the program in a workspace of its own (cluster/workspace.ts), file backend; `pulumi up --yes` (preview + update: the program runs twice), `pulumi preview --expect-no-changes`, `pulumi destroy --yes --run-program` (preview + destroy; the pod-cleanup hook waits until the pods are gone).");
    out.push("- **Helm**: `kubectl apply --server-side` of the namespace and the admin-token Secrets (Pulumi-managed in both modes), then `helm upgrade --install --wait` of charts/stateful-app per app, **sequentially** (a script's loop), values = the app's stack settings + `adminTokenSecret`; no-change = the same upgrades; destroy = `helm uninstall --wait` per app + `kubectl delete secret`.");
    out.push("- **kubectl**: `kubectl apply --server-side` of the same objects (`helm template` output + namespace + Secrets, rendered untimed); **no waiting** for readiness; no-change = `kubectl diff --server-side`; destroy = `kubectl delete -f` (waits for the objects, not the pods).");
    out.push(`- Workloads: \`dev\` = the dev stack's two apps (python-app 2 replicas, js-app 1); \`N\` = N copies of dev's python-app at 1 replica. Replicas → ${meta.scaledReplicas} for every app; image tag → ${meta.toImageTag}. Every sequence (up, no-change, replicas, image, destroy) of every tool deploys into a fresh namespace; after it the PVCs (kept by every tool, as by the program) are deleted, untimed.`);
    out.push("");

    out.push("## Headline: ratios (median over median)");
    out.push("");
    out.push(`| workload | operation | Pulumi raw / Helm | Pulumi raw / kubectl | Pulumi Helm mode / Helm |`);
    out.push("|---|---|---|---|---|");
    for (const w of workloads) {
        for (const op of OPS) {
            const [pr, ph, h, k] = MAIN_TOOLS.map((t) => stat(w, t, op));
            out.push(`| ${w} | ${OP_SHORT[op]} | ${ratio(pr, h)} | ${ratio(pr, k)} | ${ratio(ph, h)} |`);
        }
    }
    out.push("");

    out.push("## Seconds per operation");
    for (const w of workloads) {
        out.push("");
        out.push(`### ${w === "dev" ? "dev stack (2 apps, 3 pods)" : `N = ${w} app${w === "1" ? "" : "s"}`}`);
        out.push("");
        // Lever variants measured on this workload too (BENCH_TOOLS), in columns after the main tools.
        const extra = w === "dev" ? [] : [...new Set(S.filter((x) => x.workload === w && !MAIN_TOOLS.includes(x.tool)).map((x) => x.tool))];
        out.push(`| operation | ${[...MAIN_TOOLS.map((t) => TOOL_LABEL[t]), ...extra.map((t) => `\`${t}\``)].join(" | ")} | Pulumi raw / Helm | Pulumi raw / kubectl |`);
        out.push(`|---|${[...MAIN_TOOLS, ...extra].map(() => "---").join("|")}|---|---|`);
        for (const op of OPS) {
            const st = MAIN_TOOLS.map((t) => stat(w, t, op));
            out.push(`| ${OP_LABEL[op]} | ${[...st, ...extra.map((t) => stat(w, t, op))].map(cell).join(" | ")} | ${ratio(st[0], st[2])} | ${ratio(st[0], st[3])} |`);
        }
    }
    out.push("");

    if (numeric.length >= 2) {
        out.push(`## Growth per app (least-squares slope of the medians over N = ${numeric.join(", ")})`);
        out.push("");
        const growthTools = [...MAIN_TOOLS, ...[...new Set(S.filter((x) => numeric.includes(x.workload) && !MAIN_TOOLS.includes(x.tool)).map((x) => x.tool))]];
        out.push(`| operation | ${growthTools.map((t) => TOOL_LABEL[t] ?? `\`${t}\``).join(" | ")} | Pulumi raw / Helm |`);
        out.push(`|---|${growthTools.map(() => "---").join("|")}|---|`);
        for (const op of OPS) {
            const slopes = growthTools.map((t) => {
                const pts = numeric.map((w) => [Number(w), stat(w, t, op)?.median ?? NaN] as [number, number]).filter((p) => !Number.isNaN(p[1]));
                return pts.length >= 2 ? slope(pts) : NaN;
            });
            out.push(`| ${OP_SHORT[op]} | ${slopes.map((s) => (Number.isNaN(s) ? "–" : `${s.toFixed(3)} s/app`)).join(" | ")} | ${Number.isNaN(slopes[0] / slopes[2]) ? "–" : `${(slopes[0] / slopes[2]).toFixed(1)}×`} |`);
        }
        out.push("");
    }

    // The CLI's floor and the levers.
    const floors = [...new Set(S.filter((s) => s.workload === "-").map((s) => s.tool))];
    if (floors.length) {
        out.push("## The CLI's floor: preview of an empty Pulumi program");
        out.push("");
        out.push("Same CLI, SDK, plugins and TypeScript setup, a program that declares nothing (`export {}`).");
        out.push("");
        out.push("| how it is run | preview |");
        out.push("|---|---|");
        for (const f of floors) {
            out.push(`| \`${f}\` | ${cell(stat("-", f, "preview"))} |`);
        }
        out.push("");
    }
    const levers = [...new Set(S.filter((s) => s.workload === "dev" && s.tool.startsWith("pulumi-raw+")).map((s) => s.tool))];
    if (levers.length) {
        out.push("## Levers (issue #11 §2), dev stack, same run");
        out.push("");
        out.push("- Pulumi raw as shipped: no type-checking when the program runs (tsconfig.json `noCheck`, which @pulumi/pulumi's run script turns into ts-node's transpile-only; `npm run build` type-checks in the tests), background deletion of every object but the StatefulSet, `pulumi up --yes` (preview + update).");
        out.push("- `+typecheck`: `PULUMI_NODEJS_TRANSPILE_ONLY=false` in the environment: ts-node type-checks the program on every run (the program before tsconfig `noCheck`).");
        out.push("- `+js`: the program compiled to JS with `tsc` beside its sources in the workspace and `main: index.js` in Pulumi.yaml (the host still registers ts-node, which has nothing to compile).");
        out.push("- `+js+skip-preview`: as `+js`, and `pulumi up`/`destroy` with `--skip-preview` (the program runs once instead of twice).");
        // A variant of the recorded runs (docs/bench/results.json), no longer run: see docs/bench/notes.md.
        if (levers.includes("pulumi-raw+fg-delete")) {
            out.push("- `+fg-delete`: the program changed (in the benchmark's workspace copy only) back to the provider's default deletion, foreground, for every object (components/manifests.ts `metadata()` without the background annotation): the provider then waits, per object, until the garbage collector has finished it.");
        }
        if (meta.compareHost) {
            out.push(`- \`+${meta.compareHost.label}\`: the CLI with another language host first on PATH (${meta.compareHost.path}, sha256 ${meta.compareHost.sha256}…; see bench/build-host-v3.68.sh).`);
        }
        out.push("");
        out.push(`| operation | Pulumi raw | ${levers.map((l) => `\`${l.replace("pulumi-raw", "")}\``).join(" | ")} | Helm |`);
        out.push(`|---|---|${levers.map(() => "---").join("|")}|---|`);
        for (const op of OPS) {
            const base = stat("dev", "pulumi-raw", op);
            const h = stat("dev", "helm", op);
            out.push(`| ${OP_SHORT[op]} | ${cell(base)} | ${levers.map((l) => {
                const s = stat("dev", l, op);
                return s && base && s.n && base.n ? `${cell(s)}, ${(s.median - base.median >= 0 ? "+" : "")}${(s.median - base.median).toFixed(2)} s, ${ratio(s, h)} Helm` : cell(s);
            }).join(" | ")} | ${cell(h)} |`);
        }
        // Runs before the fix of bench/lib.ts's noChangeBackgrounded started `cd DIR && pulumi ... &`,
        // an asynchronous list: its subshell's children do not inherit the ignored SIGINT, so
        // those rows did not measure the exit wait.
        const validBackgrounded = meta.backgroundedForm === "simple-command";
        if (!validBackgrounded && S.some((x) => x.op.startsWith("preview (bash &"))) {
            out.push(`| (backgrounded previews of this run left out: they were started as \`cd DIR && pulumi preview &\`, whose subshell does not pass the ignored SIGINT on; see exit-wait.md) | ${["pulumi-raw", ...levers].map(() => "").join(" | ")} | |`);
        }
        for (const op of validBackgrounded ? ["preview (bash &)", "preview (bash &, trap - INT)"] : []) {
            const row = ["pulumi-raw", ...levers].map((t) => {
                const b = stat("dev", t, op);
                const base = stat("dev", t, "preview");
                return b ? `${cell(b)}${b.n && base?.n ? `, ${(b.median - base.median >= 0 ? "+" : "")}${(b.median - base.median).toFixed(2)} s vs started directly` : ""}` : "";
            });
            if (row.some((c) => c)) {
                out.push(`| no-change preview started as \`${op === "preview (bash &)" ? "pulumi preview &" : "(trap - INT; exec pulumi preview) &"}\` from a non-interactive bash | ${row.join(" | ")} | |`);
            }
        }
        out.push("");
    }

    // The issue's goals.
    out.push("## Issue #11 §2 goals, as measured in this run");
    out.push("");
    out.push("| goal | variant | measured | met |");
    out.push("|---|---|---|---|");
    const variants = ["pulumi-raw", ...levers];
    const goal = (label: string, v: string, value: number, limit: number) =>
        out.push(`| ${label} | \`${v}\` | ${Number.isNaN(value) ? "–" : `${value.toFixed(2)}×`} | ${Number.isNaN(value) ? "–" : value <= limit ? "yes" : "**no**"} |`);
    const m = (w: string, t: string, op: string) => stat(w, t, op)?.median ?? NaN;
    const floor = m("-", "pulumi-empty", "preview");
    for (const v of variants) {
        goal("dev no-change preview ≤ 3× Helm's no-change upgrade", v, m("dev", v, "preview") / m("dev", "helm", "preview"), 3);
        // The floor run the same way: type-checked for +typecheck, otherwise as shipped (no
        // type-checking: for the precompiled levers the lowest floor measured, so the stricter ratio).
        const typecheckFloor = v.endsWith("+typecheck") && floors.includes("pulumi-empty+typecheck");
        goal(`dev no-change preview ≤ 1.3× empty program's preview (${typecheckFloor ? "type-checked" : "not type-checked"} empty program)`, v, m("dev", v, "preview") / (typecheckFloor ? m("-", "pulumi-empty+typecheck", "preview") : floor), 1.3);
        goal("dev up from empty ≤ 1.0× Helm", v, m("dev", v, "up") / m("dev", "helm", "up"), 1.0);
    }
    if (workloads.includes("20")) {
        goal("N = 20 up from empty ≤ 0.4× Helm", "pulumi-raw", m("20", "pulumi-raw", "up") / m("20", "helm", "up"), 0.4);
    }
    if (numeric.length >= 2) {
        const sl = (t: string) => slope(numeric.map((w) => [Number(w), m(w, t, "destroy")] as [number, number]));
        for (const v of variants.filter((t) => numeric.every((w) => stat(w, t, "destroy")?.n))) {
            goal("destroy growth per app ≤ 2× Helm's", v, sl(v) / sl("helm"), 2);
        }
    }
    out.push("");

    // API requests.
    out.push("## API-server requests per operation (median; all clients, the control plane's idle rate subtracted)");
    out.push("");
    out.push(`Counted from \`apiserver_request_total\` before and after each operation; idle rate ${meta.idleRequestsPerSecond.toFixed(2)}/s. Includes what the controllers do in response (pods created, bound, deleted).`);
    out.push("");
    out.push(`| workload | operation | ${MAIN_TOOLS.map((t) => TOOL_LABEL[t]).join(" | ")} |`);
    out.push(`|---|---|${MAIN_TOOLS.map(() => "---").join("|")}|`);
    for (const w of workloads) {
        for (const op of OPS) {
            out.push(`| ${w} | ${OP_SHORT[op]} | ${MAIN_TOOLS.map((t) => stat(w, t, op)?.requests ?? "–").join(" | ")} |`);
        }
    }
    out.push("");
    const bw = workloads.includes("dev") ? "dev" : workloads[0];
    const bd = (t: string) => breakdowns[`${bw} ${t} destroy`] as Record<string, number> | undefined;
    if (bd("pulumi-raw") && bd("helm")) {
        out.push(`Destroy of \`${bw}\`, repetition 1, by verb and resource (raw counts, idle not subtracted):`);
        out.push("");
        out.push("| verb resource | Pulumi raw | Pulumi Helm mode | Helm | kubectl |");
        out.push("|---|---|---|---|---|");
        const keys = [...new Set(MAIN_TOOLS.flatMap((t) => Object.keys(bd(t) ?? {})))]
            .sort((a, b) => (bd("pulumi-raw")?.[b] ?? 0) - (bd("pulumi-raw")?.[a] ?? 0));
        for (const k of keys) {
            out.push(`| ${k} | ${MAIN_TOOLS.map((t) => bd(t)?.[k] ?? 0).join(" | ")} |`);
        }
        out.push("");
    }
    // Notes written by whoever ran it (what else ran on the machine, why it was stopped).
    if (fs.existsSync(path.join(dir, "notes.md"))) {
        out.push("## Notes on this run", "", fs.readFileSync(path.join(dir, "notes.md"), "utf8").trim(), "");
    }
    out.push("Re-run: `npm run bench` (BENCH_REPS, BENCH_WORKLOADS, BENCH_LEVERS, BENCH_TOOLS: see bench/bench.sh); raw data: [results.json](results.json).");
    out.push("");
    fs.writeFileSync(path.join(dir, "README.md"), out.join("\n"));
    fs.writeFileSync(path.join(dir, "bench.svg"), svg(workloads, stat, meta));
}

/** One panel per operation: grouped bars (median) per workload and tool, min–max whiskers, log scale. */
function svg(workloads: string[], stat: (w: string, t: string, op: string) => Stat | undefined, meta: any): string {
    const panelW = 300, panelH = 260, top = 50, left = 50, gap = 20;
    const W = left + OPS.length * (panelW + gap), H = top + panelH + 90;
    const all = workloads.flatMap((w) => MAIN_TOOLS.flatMap((t) => OPS.map((op) => stat(w, t, op)))).filter((s): s is Stat => !!s && s.n > 0);
    const lo = Math.pow(10, Math.floor(Math.log10(Math.min(...all.map((s) => s.min))))), hi = Math.pow(10, Math.ceil(Math.log10(Math.max(...all.map((s) => s.max)))));
    const y = (v: number) => top + panelH - ((Math.log10(v) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))) * panelH;
    const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;");
    const parts: string[] = [];
    parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">`);
    parts.push(`<rect width="${W}" height="${H}" fill="white"/>`);
    parts.push(`<text x="${left}" y="20" font-size="14" font-weight="bold">${esc(`Median seconds (log scale; whiskers min–max), ${meta.reps} interleaved repetitions, kwok-only cluster — ${meta.date.slice(0, 10)}, ${meta.machine.nproc} CPUs, commit ${meta.git.commit.slice(0, 12)}`)}</text>`);
    OPS.forEach((op, pi) => {
        const x0 = left + pi * (panelW + gap);
        parts.push(`<text x="${x0 + panelW / 2}" y="${top - 8}" text-anchor="middle" font-weight="bold">${esc(OP_SHORT[op])}</text>`);
        parts.push(`<rect x="${x0}" y="${top}" width="${panelW}" height="${panelH}" fill="none" stroke="#999"/>`);
        for (let d = lo; d <= hi * 1.0001; d *= 10) {
            for (const mult of [1, 2, 5]) {
                const v = d * mult;
                if (v > hi * 1.0001) continue;
                parts.push(`<line x1="${x0}" x2="${x0 + panelW}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="${mult === 1 ? "#ccc" : "#eee"}"/>`);
                if (pi === 0 || mult === 1) {
                    parts.push(`<text x="${x0 - 4}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end" fill="#555">${v >= 1 ? v : v.toFixed(v >= 0.1 ? 1 : 2)}</text>`);
                }
            }
        }
        const groupW = panelW / workloads.length, barW = (groupW - 12) / MAIN_TOOLS.length;
        workloads.forEach((w, wi) => {
            const gx = x0 + wi * groupW + 6;
            parts.push(`<text x="${gx + (groupW - 12) / 2}" y="${top + panelH + 14}" text-anchor="middle">${w === "dev" ? "dev" : `N=${w}`}</text>`);
            MAIN_TOOLS.forEach((t, ti) => {
                const s = stat(w, t, op);
                if (!s || s.n === 0) return;
                const bx = gx + ti * barW, yb = y(s.median);
                parts.push(`<rect x="${bx.toFixed(1)}" y="${yb.toFixed(1)}" width="${(barW - 1).toFixed(1)}" height="${(top + panelH - yb).toFixed(1)}" fill="${COLORS[t]}"><title>${esc(`${w} ${TOOL_LABEL[t]} ${op}: ${s.median.toFixed(2)} s (${s.min.toFixed(2)}–${s.max.toFixed(2)})`)}</title></rect>`);
                const cx = bx + (barW - 1) / 2;
                parts.push(`<line x1="${cx.toFixed(1)}" x2="${cx.toFixed(1)}" y1="${y(s.min).toFixed(1)}" y2="${y(s.max).toFixed(1)}" stroke="#222"/>`);
            });
        });
    });
    MAIN_TOOLS.forEach((t, i) => {
        const lx = left + i * 170, ly = top + panelH + 40;
        parts.push(`<rect x="${lx}" y="${ly}" width="14" height="14" fill="${COLORS[t]}"/><text x="${lx + 20}" y="${ly + 11}">${esc(TOOL_LABEL[t])}</text>`);
    });
    parts.push(`<text x="${left}" y="${top + panelH + 75}" fill="#555">${esc("seconds; kubectl does not wait for readiness; Helm runs one release per app, sequentially; Pulumi up/destroy include their preview")}</text>`);
    parts.push("</svg>");
    return parts.join("\n") + "\n";
}

if (require.main === module) {
    writeReport(path.resolve(PROJECT_DIR, process.argv[2] ?? "docs/bench"));
}
