// `npm run bench` (via bench/bench.sh): Pulumi raw mode, Pulumi Helm mode, Helm and kubectl side
// by side on a kwok-only cluster, in interleaved repetitions; writes docs/bench/results.json, and
// bench/report.ts turns it into docs/bench/README.md and docs/bench/bench.svg.
//
// Env: BENCH_REPS (5), BENCH_WORKLOADS ("dev,1,5,20": the dev stack's apps, or N copies of dev's
//      python-app with 1 replica), BENCH_TOOLS (all), BENCH_LEVERS (1: also the §2 levers on the
//      dev workload), BENCH_OUT (docs/bench), KUBECONFIG (set by bench.sh).
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { clone, loadStackFile, PROJECT_DIR } from "../tools/project";
import {
    apiRequests, Config, deleteNamespace, diffCounts, emptyNamespace, EmptyProgram, ensurePvPool, gitInfo, HelmTool, kubectl, KubectlTool,
    log, machine, PulumiTool, run, Run, Tool,
} from "./lib";
import { writeReport } from "./report";

export const OPS = ["up", "preview", "replicas", "image", "destroy"] as const;
export type Op = (typeof OPS)[number];

export interface Sample {
    rep: number;
    workload: string;
    tool: string;
    op: string;
    seconds: number;
    ok: boolean;
    /** API-server requests served during the operation (all clients), idle rate subtracted. */
    requests?: number;
    load1: number;
    error?: string;
}

const REPS = Number(process.env.BENCH_REPS ?? 5);
const WORKLOADS = (process.env.BENCH_WORKLOADS ?? "dev,1,5,20").split(",").map((s) => s.trim()).filter(Boolean);
/** Fewer repetitions for some workloads, e.g. "20=3" (the others get BENCH_REPS). */
const REPS_BY_WORKLOAD: Record<string, number> = Object.fromEntries(
    (process.env.BENCH_REPS_BY_WORKLOAD ?? "").split(",").filter((s) => s.includes("=")).map((s) => s.split("=").map((x) => x.trim())).map(([w, n]) => [w, Number(n)]),
);
const repsOf = (w: string) => REPS_BY_WORKLOAD[w] ?? REPS;
const LEVERS = (process.env.BENCH_LEVERS ?? "1") === "1";
const OUT_DIR = path.resolve(PROJECT_DIR, process.env.BENCH_OUT ?? "docs/bench");
const TO_IMAGE_TAG = "0.2.0";
const SCALED_REPLICAS = 3;

/** The main tools, and the lever variants of Pulumi raw mode (run on the dev workload only). */
function makeTools(): { tool: Tool; method: "raw" | "helm"; leverOnly: boolean }[] {
    const all = [
        { tool: new PulumiTool("pulumi-raw"), method: "raw" as const, leverOnly: false },
        { tool: new PulumiTool("pulumi-helm"), method: "helm" as const, leverOnly: false },
        { tool: new HelmTool(), method: "raw" as const, leverOnly: false },
        { tool: new KubectlTool(), method: "raw" as const, leverOnly: false },
        // The shipped program skips type-checking at run time (tsconfig noCheck); this is it with.
        { tool: new PulumiTool("pulumi-raw+typecheck", { env: { PULUMI_NODEJS_TRANSPILE_ONLY: "false" } }), method: "raw" as const, leverOnly: true },
        { tool: new PulumiTool("pulumi-raw+js", { precompiled: true }), method: "raw" as const, leverOnly: true },
        { tool: new PulumiTool("pulumi-raw+js+skip-preview", { precompiled: true, skipPreview: true }), method: "raw" as const, leverOnly: true },
    ];
    // Another language host to compare with (e.g. the one built from sdk v3.68.0): a directory
    // holding a pulumi-language-nodejs, put first on PATH (the CLI takes the host from PATH first).
    const otherHost = process.env.BENCH_COMPARE_HOST_DIR;
    if (otherHost) {
        const label = process.env.BENCH_COMPARE_HOST_LABEL ?? "other-host";
        all.push({ tool: new PulumiTool(`pulumi-raw+${label}`, { env: { PATH: `${otherHost}:${process.env.PATH}` } }), method: "raw" as const, leverOnly: true });
    }
    const wanted = process.env.BENCH_TOOLS?.split(",").map((s) => s.trim());
    return all.filter((t) => (wanted ? wanted.includes(t.tool.name) : LEVERS || !t.leverOnly));
}

/** The apps of a workload: the dev stack's own, or N copies of dev's python-app at 1 replica. */
function workloadApps(workload: string): Record<string, any> {
    const dev = loadStackFile("dev")["stateful-apps:apps"];
    if (workload === "dev") {
        return clone(dev);
    }
    const n = Number(workload);
    if (!Number.isInteger(n) || n < 1) {
        throw new Error(`BENCH_WORKLOADS: '${workload}' is neither dev nor a positive integer`);
    }
    const base = { ...clone(dev["python-app"]), replicas: 1 };
    return Object.fromEntries(Array.from({ length: n }, (_, i) => [`app-${i + 1}`, clone(base)]));
}

function configFor(workload: string, toolName: string, method: string, stage: "base" | "replicas" | "image", rep: number): Config {
    const apps = workloadApps(workload);
    for (const app of Object.values<any>(apps)) {
        if (stage !== "base") {
            app.replicas = SCALED_REPLICAS;
        }
        if (stage === "image") {
            app.image = app.image.replace(/:[^:/]+$/, `:${TO_IMAGE_TAG}`);
        }
    }
    return {
        // A namespace per sequence (each starts from empty; the empty namespaces are left behind).
        "stateful-apps:namespace": `b${rep}-w${workload}-${toolName.replace(/[^a-z0-9]+/g, "-")}`.slice(0, 63).replace(/-$/, ""),
        "stateful-apps:deployMethod": method,
        "stateful-apps:apps": apps,
    };
}

/** Untimed check that an apply did what it should: every StatefulSet at the wanted replicas and image. */
function verify(config: Config, op: string) {
    const ns = config["stateful-apps:namespace"];
    const items = JSON.parse(kubectl(["get", "statefulsets", "-n", ns, "-o", "json"]).output).items as any[];
    const apps = config["stateful-apps:apps"];
    const problems: string[] = [];
    for (const [name, app] of Object.entries<any>(apps)) {
        const sts = items.find((s) => s.metadata.name === name);
        if (!sts) {
            problems.push(`${name}: no StatefulSet`);
        } else if (sts.spec.replicas !== (app.replicas ?? 1) || sts.spec.template.spec.containers[0].image !== app.image) {
            problems.push(`${name}: replicas ${sts.spec.replicas}, image ${sts.spec.template.spec.containers[0].image}`);
        }
    }
    if (op === "destroy" ? items.length !== 0 : problems.length > 0) {
        throw new Error(`after ${op} in ${ns}: ${op === "destroy" ? `${items.length} StatefulSets left` : problems.join("; ")}`);
    }
}

let idleRequestsPerSecond = 0;

/** Runs one timed operation, with the API-server request count around it. */
function measure(fn: () => Run): { r: Run; requests: number; load1: number } {
    const load1 = os.loadavg()[0];
    const before = apiRequests();
    const r = fn();
    const after = apiRequests();
    lastBreakdown = diffCounts(after.byKey, before.byKey);
    return { r, requests: Math.max(0, Math.round(after.total - before.total - idleRequestsPerSecond * r.seconds)), load1 };
}
let lastBreakdown: Record<string, number> = {};

function main() {
    const started = new Date();
    const workDir = fs.mkdtempSync(path.join(os.tmpdir(), "stateful-apps-bench-"));
    log(`work dir ${workDir}; reps ${REPS}; workloads ${WORKLOADS.join(",")}; levers ${LEVERS}`);
    const maxApps = Math.max(...WORKLOADS.map((w) => Object.keys(workloadApps(w)).length));
    const pvcsPerSequence = maxApps * SCALED_REPLICAS;
    ensurePvPool(pvcsPerSequence);

    // The idle request rate of the control plane (leases, kwok heartbeats), subtracted per operation.
    const idle0 = apiRequests().total;
    const t0 = Date.now();
    run("sleep", ["10"]);
    idleRequestsPerSecond = (apiRequests().total - idle0 - 1) / ((Date.now() - t0) / 1000);
    log(`idle API requests: ${idleRequestsPerSecond.toFixed(2)}/s`);

    const samples: Sample[] = [];
    const breakdowns: Record<string, Record<string, number>> = {};
    const git = gitInfo();
    const meta = {
        date: started.toISOString(),
        machine: machine(),
        git,
        reps: REPS,
        repsByWorkload: Object.fromEntries(WORKLOADS.map((w) => [w, repsOf(w)])),
        workloads: WORKLOADS,
        scaledReplicas: SCALED_REPLICAS,
        toImageTag: TO_IMAGE_TAG,
        idleRequestsPerSecond,
        versions: {
            pulumi: run("pulumi", ["version"]).output.trim(),
            helm: run("helm", ["version", "--short"]).output.trim(),
            kubectl: run("kubectl", ["version", "--client", "-o", "json"]).output.match(/"gitVersion":\s*"([^"]+)"/)?.[1] ?? "",
            server: run("kubectl", ["version", "-o", "json"]).output.match(/"serverVersion"[\s\S]*?"gitVersion":\s*"([^"]+)"/)?.[1] ?? "",
        },
        /** How the backgrounded previews are started (bench/lib.ts noChangeBackgrounded). */
        backgroundedForm: "simple-command",
        ops: process.env.BENCH_OPS ?? "all",
        languageHost: hostIdentity(),
        compareHost: process.env.BENCH_COMPARE_HOST_DIR ? { label: process.env.BENCH_COMPARE_HOST_LABEL ?? "other-host", ...hostIdentity(path.join(process.env.BENCH_COMPARE_HOST_DIR, "pulumi-language-nodejs")) } : undefined,
        languageHostEnd: undefined as ReturnType<typeof hostIdentity> | undefined,
        loadStart: os.loadavg(),
        loadEnd: [] as number[],
        finished: "",
    };

    const save = () => {
        fs.mkdirSync(OUT_DIR, { recursive: true });
        fs.writeFileSync(path.join(OUT_DIR, "results.json"), `${JSON.stringify({ meta, samples, breakdowns }, null, 1)}\n`);
    };

    // Per workload, each tool has its own workspace (set up once, untimed).
    const toolSets = new Map<string, ReturnType<typeof makeTools>>();
    for (const w of WORKLOADS) {
        // The levers run on the dev workload only, unless BENCH_TOOLS names them.
        const set = makeTools().filter((t) => w === "dev" || !t.leverOnly || process.env.BENCH_TOOLS);
        for (const t of set) {
            t.tool.setup(path.join(workDir, `w-${w}`));
        }
        toolSets.set(w, set);
    }
    // The CLI's own floor: an empty program's preview (with the same TypeScript setup).
    const empty = new EmptyProgram(workDir);
    const emptyTypecheck = LEVERS ? new EmptyProgram(workDir, { env: { PULUMI_NODEJS_TRANSPILE_ONLY: "false" } }, "pulumi-empty+typecheck") : undefined;

    const record = (s: Sample) => {
        samples.push(s);
        log(`rep ${s.rep} ${s.workload.padStart(3)} ${s.tool.padEnd(28)} ${s.op.padEnd(9)} ${s.ok ? `${s.seconds.toFixed(2)}s` : `FAILED ${s.error?.split("\n")[0]}`}${s.requests !== undefined ? ` ${s.requests} req` : ""} (load ${s.load1.toFixed(1)})`);
    };

    for (let rep = 1; rep <= Math.max(...WORKLOADS.map(repsOf)); rep++) {
        // The floor, each way of starting it.
        const floors: [string, () => Run][] = [
            ["pulumi-empty", () => empty.preview()],
            ...(emptyTypecheck ? [["pulumi-empty+typecheck", () => emptyTypecheck.preview()] as [string, () => Run]] : []),
        ];
        for (const [name, fn] of floors) {
            const load1 = os.loadavg()[0];
            const r = fn();
            record({ rep, workload: "-", tool: name, op: "preview", seconds: r.seconds, ok: r.status === 0, load1, error: r.status === 0 ? undefined : r.output.slice(-2000) });
        }
        for (const w of WORKLOADS) {
            if (rep > repsOf(w)) {
                continue;
            }
            const set = toolSets.get(w)!;
            // Interleaved: every tool once per repetition, the order rotated each repetition.
            const order = set.map((_, i) => set[(i + rep - 1) % set.length]);
            for (const { tool, method } of order) {
                const stages: [string, Config, (c: Config) => Run][] = [
                    ["up", configFor(w, tool.name, method, "base", rep), (c) => tool.apply(c)],
                    ["preview", configFor(w, tool.name, method, "base", rep), (c) => tool.noChange(c)],
                    // The ~5 s exit wait: the same preview started as `pulumi ... &` from bash.
                    ...(LEVERS && w === "dev" && (tool.name === "pulumi-raw" || tool.name === `pulumi-raw+${process.env.BENCH_COMPARE_HOST_LABEL ?? "other-host"}`) ? [
                        ["preview (bash &)", configFor(w, tool.name, method, "base", rep), (c: Config) => (tool as PulumiTool).noChangeBackgrounded(c, false)],
                        ["preview (bash &, trap - INT)", configFor(w, tool.name, method, "base", rep), (c: Config) => (tool as PulumiTool).noChangeBackgrounded(c, true)],
                    ] as [string, Config, (c: Config) => Run][] : []),
                    ["replicas", configFor(w, tool.name, method, "replicas", rep), (c) => tool.apply(c)],
                    ["image", configFor(w, tool.name, method, "image", rep), (c) => tool.apply(c)],
                    ["destroy", configFor(w, tool.name, method, "image", rep), (c) => tool.destroy(c)],
                ];
                // BENCH_OPS: only these operations (up and destroy always run: each sequence starts from empty and ends empty).
                const only = process.env.BENCH_OPS?.split(",").map((x) => x.trim());
                if (only) {
                    stages.splice(0, stages.length, ...stages.filter(([op]) => op === "up" || op === "destroy" || only.includes(op)));
                }
                const ns = stages[0][1]["stateful-apps:namespace"];
                try {
                    for (const [op, config, fn] of stages) {
                        const { r, requests, load1 } = measure(() => fn(config));
                        const ok = r.status === 0;
                        record({ rep, workload: w, tool: tool.name, op, seconds: r.seconds, ok, requests, load1, error: ok ? undefined : r.output.slice(-3000) });
                        if (!ok) {
                            throw new Error(`${tool.name} ${op} failed`);
                        }
                        if (rep === 1) {
                            breakdowns[`${w} ${tool.name} ${op}`] = lastBreakdown;
                        }
                        verify(config, op);
                    }
                    // Back to empty, untimed: the PVCs (kept by every tool, as by the program) are deleted.
                    const t = Date.now();
                    emptyNamespace(ns);
                    ensurePvPool(pvcsPerSequence);
                    log(`cleanup of ${ns}: ${((Date.now() - t) / 1000).toFixed(1)}s`);
                } catch (e) {
                    log(`${tool.name} on ${w}: ${(e as Error).message.split("\n").slice(0, 3).join(" | ")}; resetting`);
                    tool.reset();
                    deleteNamespace(ns, true);
                    ensurePvPool(pvcsPerSequence);
                }
            }
            save();
        }
    }
    meta.loadEnd = os.loadavg();
    meta.languageHostEnd = hostIdentity();
    meta.finished = new Date().toISOString();
    save();
    writeReport(OUT_DIR);
    log(`results: ${path.relative(PROJECT_DIR, OUT_DIR)}/README.md, results.json, bench.svg (work dir ${workDir})`);
}

/** Which language host the CLI runs (the first pulumi-language-nodejs on PATH): path, sha256, mtime. */
function hostIdentity(file?: string) {
    const p = file ?? run("bash", ["-c", "command -v pulumi-language-nodejs"]).output.trim();
    try {
        const st = fs.statSync(p);
        return { path: p, sha256: crypto.createHash("sha256").update(fs.readFileSync(p)).digest("hex").slice(0, 16), mtime: st.mtime.toISOString() };
    } catch {
        return { path: p, sha256: "", mtime: "" };
    }
}

if (require.main === module) {
    main();
}
