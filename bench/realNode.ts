// `npm run bench -- --real-node`: rollout times with REAL pods, on an existing cluster with a
// real node (the local cluster of `npm start`/`npm run test:e2e`, or yours): KUBECONFIG must be
// set; nothing is created or torn down but the benchmark's own namespaces (bench-real-*), and the
// PV pool is recycled with `cluster/cluster.sh recycle-pvs` (PVs labelled stateful-apps.e2e/pool).
//
// For each podManagementPolicy (Parallel, OrderedReady) and replica count (1, 3, 5), interleaved:
//   Pulumi raw mode: up from empty (returns when every pod is Ready), image 0.1.0 → 0.2.0 (a
//   rolling update, returns when rolled out), destroy --run-program (returns when the pods are gone);
//   kubectl: apply --server-side of the same objects + `kubectl rollout status`, for the same two
//   steps: the cluster's own rollout time, without Pulumi.
// Besides each command's wall time, the rollout as the API server recorded it: from the
// StatefulSet's creation (or the update's start) to the last pod's Ready transition (1 s resolution).
//
// Env: BENCH_REPS (3), BENCH_REAL_REPLICAS (1,3,5), BENCH_REAL_POLICIES (Parallel,OrderedReady),
//      BENCH_REAL_IMAGES (local: the images cluster/images.sh built, imagePullPolicy Never — the
//      local cluster; "stack": the dev stack's own images, which your cluster must be able to pull),
//      BENCH_OUT (docs/bench/real-node).
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { LOCAL_IMAGES, withLocalImages } from "../cluster/workspace";
import { clone, loadStackFile, PROJECT_DIR } from "../tools/project";
import { Config, deleteNamespace, gitInfo, kubectl, KubectlTool, log, machine, median, must, PulumiTool, run, Run } from "./lib";

const REPS = Number(process.env.BENCH_REPS ?? 3);
const REPLICAS = (process.env.BENCH_REAL_REPLICAS ?? "1,3,5").split(",").map(Number);
const POLICIES = (process.env.BENCH_REAL_POLICIES ?? "Parallel,OrderedReady").split(",");
const LOCAL = (process.env.BENCH_REAL_IMAGES ?? "local") === "local";
const OUT_DIR = path.resolve(PROJECT_DIR, process.env.BENCH_OUT ?? "docs/bench/real-node");
const APP = "python-app";

interface Sample { rep: number; tool: string; policy: string; replicas: number; op: string; seconds: number; rolloutSeconds?: number; ok: boolean; load1: number; error?: string }

function config(ns: string, policy: string, replicas: number, tag: "from" | "to"): Config {
    const shipped = LOCAL ? withLocalImages(loadStackFile("dev")) : loadStackFile("dev");
    const app = clone(shipped["stateful-apps:apps"][APP]);
    app.replicas = replicas;
    app.podManagementPolicy = policy;
    if (tag === "to") {
        app.image = LOCAL ? LOCAL_IMAGES.of(APP, LOCAL_IMAGES.tags[1]) : app.image.replace(/:[^:/]+$/, ":0.2.0");
    }
    return { "stateful-apps:namespace": ns, "stateful-apps:deployMethod": "raw", "stateful-apps:apps": { [APP]: app } };
}

/** Seconds from `since` (ms) to the last Ready transition of the app's pods, as the API server recorded them. */
function rolloutSeconds(ns: string, since: number, replicas: number): number | undefined {
    const pods = JSON.parse(kubectl(["get", "pods", "-n", ns, "-l", `app.kubernetes.io/instance=${APP}`, "-o", "json"]).output).items as any[];
    const ready = pods.map((p) => p.status?.conditions?.find((c: any) => c.type === "Ready" && c.status === "True")?.lastTransitionTime).filter(Boolean);
    if (ready.length < replicas) {
        return undefined;
    }
    return Math.max(...ready.map((t: string) => Date.parse(t))) / 1000 - Math.floor(since / 1000);
}

/** `kubectl apply` of the same objects, then `kubectl rollout status` until every pod is updated and Ready. */
class KubectlRollout {
    readonly name = "kubectl+rollout-status";
    private inner = new KubectlTool();

    setup(dir: string) {
        this.inner.setup(dir);
    }

    apply(c: Config): Run {
        const t0 = process.hrtime.bigint();
        const a = this.inner.apply(c);
        const r = a.status === 0 ? run("kubectl", ["rollout", "status", `statefulset/${APP}`, "-n", c["stateful-apps:namespace"], "--timeout=10m"]) : a;
        return { status: r.status, output: `${a.output}\n${r.output}`, seconds: Number(process.hrtime.bigint() - t0) / 1e9 };
    }

    destroy(c: Config): Run {
        return this.inner.destroy();
    }

    reset() {
        this.inner.reset();
    }
}

function recyclePvs() {
    must("bash", [path.join(PROJECT_DIR, "cluster", "cluster.sh"), "recycle-pvs"], { env: { ...process.env, E2E_USE_EXISTING_CLUSTER: "1" } });
}

function main() {
    const started = new Date();
    const workDir = fs.mkdtempSync(path.join(os.tmpdir(), "stateful-apps-bench-real-"));
    const server = run("kubectl", ["version", "-o", "json"]).output.match(/"serverVersion"[\s\S]*?"gitVersion":\s*"([^"]+)"/)?.[1] ?? "?";
    const nodes = JSON.parse(kubectl(["get", "nodes", "-o", "json"]).output).items.map((n: any) => `${n.metadata.name} (${n.status.nodeInfo.containerRuntimeVersion})`);
    log(`real-node bench against ${process.env.KUBECONFIG} (${server}; nodes: ${nodes.join(", ")}); work dir ${workDir}`);
    const samples: Sample[] = [];
    const meta = { date: started.toISOString(), machine: machine(), git: gitInfo(), reps: REPS, server, nodes, images: LOCAL ? "local (cluster/images.sh)" : "the dev stack's", loadStart: os.loadavg(), loadEnd: [] as number[] };
    const save = () => {
        fs.mkdirSync(OUT_DIR, { recursive: true });
        fs.writeFileSync(path.join(OUT_DIR, "results.json"), `${JSON.stringify({ meta, samples }, null, 1)}\n`);
        fs.writeFileSync(path.join(OUT_DIR, "README.md"), report(meta, samples));
    };
    const pulumi = new PulumiTool("pulumi-raw");
    pulumi.setup(workDir);
    const kubectlTool = new KubectlRollout();
    kubectlTool.setup(workDir);
    const tools = [pulumi, kubectlTool];

    for (let rep = 1; rep <= REPS; rep++) {
        for (const policy of POLICIES) {
            for (const replicas of REPLICAS) {
                const order = rep % 2 ? tools : [...tools].reverse();
                for (const tool of order) {
                    const ns = `bench-real-${policy.toLowerCase()}-${replicas}-${tool === pulumi ? "pulumi" : "kubectl"}`;
                    const steps: [string, Config, (c: Config) => Run][] = [
                        ["up", config(ns, policy, replicas, "from"), (c) => tool.apply(c)],
                        ["image", config(ns, policy, replicas, "to"), (c) => tool.apply(c)],
                        ["destroy", config(ns, policy, replicas, "to"), (c) => tool.destroy(c)],
                    ];
                    try {
                        for (const [op, c, fn] of steps) {
                            const load1 = os.loadavg()[0];
                            const since = Date.now();
                            const r = fn(c);
                            const ok = r.status === 0;
                            const rollout = ok && op !== "destroy" ? rolloutSeconds(ns, since, replicas) : undefined;
                            samples.push({ rep, tool: tool.name, policy, replicas, op, seconds: r.seconds, rolloutSeconds: rollout, ok, load1, error: ok ? undefined : r.output.slice(-3000) });
                            log(`rep ${rep} ${policy} ${replicas} ${tool.name} ${op}: ${ok ? `${r.seconds.toFixed(2)}s${rollout !== undefined ? ` (rollout ${rollout.toFixed(0)}s)` : ""}` : `FAILED ${r.output.slice(-500)}`}`);
                            if (!ok) {
                                throw new Error(`${op} failed`);
                            }
                        }
                    } catch (e) {
                        log(`${tool.name} ${policy} ${replicas}: ${(e as Error).message}; resetting`);
                        tool.reset();
                    }
                    deleteNamespace(ns, true);
                    recyclePvs();
                    save();
                }
            }
        }
    }
    meta.loadEnd = os.loadavg();
    save();
    log(`results: ${path.relative(PROJECT_DIR, OUT_DIR)}/README.md (work dir ${workDir})`);
}

function report(meta: any, samples: Sample[]): string {
    const cell = (xs: number[]) => (xs.length ? `**${median(xs).toFixed(1)} s** (${Math.min(...xs).toFixed(1)}–${Math.max(...xs).toFixed(1)})` : "–");
    const out = [
        "# Real-node benchmark: rollout times with real pods",
        "",
        `Measured by \`npm run bench -- --real-node\` (bench/realNode.ts) on ${meta.date.slice(0, 16).replace("T", " ")} UTC against ${meta.server}, nodes ${meta.nodes.join(", ")}; images: ${meta.images}. ` +
            `Machine: ${meta.machine.nproc} CPUs, ${meta.machine.memoryGiB} GiB, kernel ${meta.machine.kernel}; commit \`${meta.git.commit.slice(0, 12)}\`; load average at start ${meta.loadStart[0].toFixed(2)}, end ${(meta.loadEnd[0] ?? NaN).toFixed(2)}. ${meta.reps} repetitions, median (min–max).`,
        "",
        "One app (the dev stack's python-app). `up`: from empty until every pod is Ready; `image`: 0.1.0 → 0.2.0, a rolling update (one pod at a time in both policies: podManagementPolicy only changes how pods are created and deleted when scaling); `destroy`: Pulumi returns when the pods are gone (its pod-cleanup hook), kubectl when the objects are. " +
            "Command = the tool's wall time; rollout = from the command's start to the last pod's Ready transition as the API server recorded it (1 s resolution).",
        "",
        "| policy | replicas | operation | Pulumi raw (command) | Pulumi raw (rollout) | kubectl apply + rollout status (command) | kubectl (rollout) |",
        "|---|---|---|---|---|---|---|",
    ];
    const pick = (tool: string, policy: string, replicas: number, op: string) => samples.filter((s) => s.ok && s.tool === tool && s.policy === policy && s.replicas === replicas && s.op === op);
    for (const policy of [...new Set(samples.map((s) => s.policy))]) {
        for (const replicas of [...new Set(samples.map((s) => s.replicas))]) {
            for (const op of ["up", "image", "destroy"]) {
                const p = pick("pulumi-raw", policy, replicas, op), k = pick("kubectl+rollout-status", policy, replicas, op);
                const ro = (ss: Sample[]) => ss.map((s) => s.rolloutSeconds).filter((x): x is number => x !== undefined);
                out.push(`| ${policy} | ${replicas} | ${op} | ${cell(p.map((s) => s.seconds))} | ${cell(ro(p))} | ${cell(k.map((s) => s.seconds))} | ${cell(ro(k))} |`);
            }
        }
    }
    const failed = samples.filter((s) => !s.ok);
    if (failed.length) {
        out.push("", `Failures: ${failed.map((s) => `rep ${s.rep} ${s.tool} ${s.policy} ${s.replicas} ${s.op}`).join("; ")} (details in results.json).`);
    }
    out.push("");
    return out.join("\n");
}

if (require.main === module) {
    main();
}
