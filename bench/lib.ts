// Shared pieces of the benchmark (bench/bench.ts, bench/realNode.ts): timed commands, the
// cluster helpers (namespaces, the benchmark's own PV pool, API-server request counters), the
// Pulumi/Helm/kubectl "tools" driven the same way, and the statistics.
import { spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as yaml from "js-yaml";
import { prepareWorkspace, writeStackConfig } from "../cluster/workspace";
import { CHART_DIR, PROJECT_DIR } from "../tools/project";

export function log(msg: string) {
    process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
}

export interface Run {
    status: number;
    output: string;
    seconds: number;
}

/** Runs a command (never through a shell), returns its status, combined output and wall time. */
export function run(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number } = {}): Run {
    const t0 = process.hrtime.bigint();
    const res = spawnSync(cmd, args, {
        cwd: opts.cwd,
        env: opts.env ?? process.env,
        input: opts.input,
        encoding: "utf8",
        maxBuffer: 256 * 1024 * 1024,
        timeout: opts.timeoutMs ?? 20 * 60 * 1000,
    });
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    return { status: res.status ?? -1, output: `${res.stdout ?? ""}${res.stderr ?? ""}${res.error ? `\n${res.error}` : ""}`, seconds };
}

/** Like run, but throws with the output's tail unless the status is one of `ok`. */
export function must(cmd: string, args: string[], opts: Parameters<typeof run>[2] & { ok?: number[] } = {}): Run {
    const r = run(cmd, args, opts);
    if (!(opts.ok ?? [0]).includes(r.status)) {
        throw new Error(`${cmd} ${args.join(" ")} failed (exit ${r.status}):\n${r.output.slice(-3000)}`);
    }
    return r;
}

export const kubectl = (args: string[], opts: Parameters<typeof must>[2] = {}) => must("kubectl", args, opts);

const sleep = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

/** Polls `check` (synchronously) until true; throws after `timeoutMs`. */
export function waitFor(what: string, check: () => boolean, timeoutMs = 300000, everyMs = 500) {
    const deadline = Date.now() + timeoutMs;
    while (!check()) {
        if (Date.now() > deadline) {
            throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${what}`);
        }
        sleep(everyMs);
    }
}

// ---------------------------------------------------------------------------------------------
// The cluster

/** Deletes a namespace (and with it every release, object and PVC in it). */
export function deleteNamespace(ns: string, wait = false) {
    kubectl(["delete", "namespace", ns, "--ignore-not-found", `--wait=${wait}`, "--timeout=300s"]);
}

/**
 * After a destroy only the PVCs (retained by every tool, as by the program) and the namespace
 * are left: the PVCs are deleted, and the empty namespace is left alone (deleting a namespace
 * takes the namespace controller seconds of requests, which would overlap the next measurement;
 * the cluster is thrown away after the run).
 */
export function emptyNamespace(ns: string) {
    kubectl(["delete", "statefulsets,pods,persistentvolumeclaims", "--all", "-n", ns, "--wait=true", "--timeout=300s"]);
}

export const POOL_LABEL = "stateful-apps.bench/pool";
let pvGeneration = 0;

/**
 * The benchmark's own PersistentVolumes on the kwok-only cluster (cluster.sh up runs with
 * E2E_PV_COUNT=0): nothing mounts them, they only let the StatefulSets' PVCs bind so that pods
 * are scheduled and become Ready. Instead of recycling a Released PV (one patch each, then waiting
 * for it), it is deleted without waiting and fresh ones are created under new names, in one request.
 */
export function ensurePvPool(available: number) {
    const pvs = JSON.parse(kubectl(["get", "pv", "-l", `${POOL_LABEL}=true`, "-o", "json"]).output).items as any[];
    const released = pvs.filter((pv) => ["Released", "Failed"].includes(pv.status?.phase) && !pv.metadata.deletionTimestamp).map((pv) => pv.metadata.name);
    if (released.length > 0) {
        kubectl(["delete", "pv", ...released, "--wait=false"]);
    }
    const free = pvs.filter((pv) => !pv.spec.claimRef && !pv.metadata.deletionTimestamp).length;
    const docs: any[] = [];
    pvGeneration++;
    for (let i = free; i < available; i++) {
        const name = `bench-pv-${process.pid}-${pvGeneration}-${i}`;
        docs.push({
            apiVersion: "v1",
            kind: "PersistentVolume",
            metadata: { name, labels: { [POOL_LABEL]: "true" } },
            spec: {
                storageClassName: "standard",
                capacity: { storage: "10Gi" },
                accessModes: ["ReadWriteOnce"],
                persistentVolumeReclaimPolicy: "Retain",
                hostPath: { path: `/nonexistent/bench/${name}`, type: "DirectoryOrCreate" },
            },
        });
    }
    if (docs.length > 0) {
        kubectl(["create", "-f", "-"], { input: docs.map((d) => yaml.dump(d)).join("---\n") });
    }
}

/** Total of the API server's apiserver_request_total counters (every client, every verb). */
export function apiRequests(): { total: number; byKey: Record<string, number> } {
    const text = kubectl(["get", "--raw", "/metrics"]).output;
    const byKey: Record<string, number> = {};
    let total = 0;
    for (const line of text.split("\n")) {
        if (!line.startsWith("apiserver_request_total{")) {
            continue;
        }
        const labels = line.slice(line.indexOf("{") + 1, line.lastIndexOf("}"));
        const value = Number(line.slice(line.lastIndexOf(" ") + 1));
        const get = (k: string) => labels.match(new RegExp(`(?:^|,)${k}="([^"]*)"`))?.[1] ?? "";
        const key = `${get("verb")} ${get("resource") || "(non-resource)"}${get("subresource") ? `/${get("subresource")}` : ""}`;
        byKey[key] = (byKey[key] ?? 0) + value;
        total += value;
    }
    return { total, byKey };
}

export function diffCounts(after: Record<string, number>, before: Record<string, number>): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [k, v] of Object.entries(after)) {
        const d = v - (before[k] ?? 0);
        if (d > 0) {
            out[k] = d;
        }
    }
    return out;
}

// ---------------------------------------------------------------------------------------------
// The tools. Each deploys a stack config (`stateful-apps:*` keys) into its own namespace.

export type Config = Record<string, any>;

export interface Tool {
    readonly name: string;
    /** Once per workload, untimed: workspace, stack, rendered files. */
    setup(workDir: string): void;
    /** Timed: makes the cluster match `config` (up from empty, or an update). */
    apply(config: Config): Run;
    /** Timed: a no-change check of `config` against the cluster (must report no change). */
    noChange(config: Config): Run;
    /** Timed: removes what `config` deployed (the namespace and PVCs stay, as in Pulumi). */
    destroy(config: Config): Run;
    /** Untimed: back to empty after a failure (the caller deletes the namespace). */
    reset(): void;
}

/** The apps of a config, and the Helm values each would get (helmApp.ts's helmValues). */
function chartValues(config: Config): { app: string; values: Record<string, unknown> }[] {
    return Object.entries<any>(config["stateful-apps:apps"]).map(([app, settings]) => ({
        app,
        // Helm deep-merges these over the chart's values.yaml, as the program's config loader does.
        values: { ...settings, adminTokenSecret: app },
    }));
}

/** Combines several runs of one operation into one (statuses, outputs, summed wall time). */
function combine(runs: Run[]): Run {
    const bad = runs.find((r) => r.status !== 0);
    return { status: bad ? bad.status : 0, output: runs.map((r) => r.output).join("\n"), seconds: runs.reduce((s, r) => s + r.seconds, 0) };
}

function timed(fn: () => Run[]): Run {
    const t0 = process.hrtime.bigint();
    const runs = fn();
    const r = combine(runs);
    return { ...r, seconds: Number(process.hrtime.bigint() - t0) / 1e9 };
}

/** The namespace and the per-app admin-token Secrets Pulumi would create (Pulumi-managed in both modes). */
function namespaceAndSecrets(config: Config, tokens: Map<string, string>) {
    const ns = config["stateful-apps:namespace"];
    const docs: any[] = [{
        apiVersion: "v1",
        kind: "Namespace",
        metadata: {
            name: ns,
            labels: {
                "app.kubernetes.io/part-of": "stateful-apps",
                "pod-security.kubernetes.io/enforce": "restricted",
                "pod-security.kubernetes.io/enforce-version": "latest",
                "pod-security.kubernetes.io/warn": "restricted",
                "pod-security.kubernetes.io/audit": "restricted",
            },
        },
    }];
    for (const { app } of chartValues(config)) {
        if (!tokens.has(app)) {
            tokens.set(app, crypto.randomBytes(24).toString("base64url").slice(0, 32));
        }
        docs.push({
            apiVersion: "v1",
            kind: "Secret",
            metadata: { name: app, namespace: ns, labels: { "app.kubernetes.io/name": app, "app.kubernetes.io/instance": app } },
            type: "Opaque",
            stringData: { ADMIN_TOKEN: tokens.get(app) },
        });
    }
    return docs;
}

/** A tool without Pulumi: its files in a directory of its own, the admin tokens it generated. */
abstract class PlainTool implements Tool {
    abstract readonly name: string;
    protected dir = "";
    protected tokens = new Map<string, string>();

    setup(workDir: string) {
        this.dir = path.join(workDir, this.name);
        fs.mkdirSync(this.dir, { recursive: true });
    }

    reset() {
        this.tokens.clear();
    }

    abstract apply(config: Config): Run;
    abstract noChange(config: Config): Run;
    abstract destroy(config: Config): Run;
}

/** `helm upgrade --install --wait` of the project's chart, one release per app (sequential, as a script would). */
export class HelmTool extends PlainTool {
    readonly name = "helm";

    private writeFiles(config: Config) {
        fs.writeFileSync(path.join(this.dir, "base.yaml"), namespaceAndSecrets(config, this.tokens).map((d) => yaml.dump(d)).join("---\n"));
        for (const { app, values } of chartValues(config)) {
            fs.writeFileSync(path.join(this.dir, `${app}.values.json`), JSON.stringify(values));
        }
    }

    private upgrades(config: Config): Run[] {
        const ns = config["stateful-apps:namespace"];
        return chartValues(config).map(({ app }) =>
            run("helm", ["upgrade", "--install", app, CHART_DIR, "-n", ns, "-f", path.join(this.dir, `${app}.values.json`), "--wait", "--timeout", "10m", "--history-max", "10"]));
    }

    apply(config: Config): Run {
        this.writeFiles(config);
        return timed(() => [run("kubectl", ["apply", "--server-side", "-f", path.join(this.dir, "base.yaml")]), ...this.upgrades(config)]);
    }

    noChange(config: Config): Run {
        this.writeFiles(config);
        return timed(() => this.upgrades(config));
    }

    destroy(config: Config): Run {
        const ns = config["stateful-apps:namespace"];
        const apps = chartValues(config).map((a) => a.app);
        return timed(() => [
            ...apps.map((app) => run("helm", ["uninstall", app, "-n", ns, "--wait", "--timeout", "10m"])),
            run("kubectl", ["delete", "secret", "-n", ns, ...apps, "--wait=true"]),
        ]);
    }
}

/** `kubectl apply --server-side` of the same objects (the chart rendered by `helm template`); no waiting. */
export class KubectlTool extends PlainTool {
    readonly name = "kubectl";

    /** Renders (untimed: these are the files a kubectl user keeps) all.yaml (with the namespace) and objects.yaml. */
    private render(config: Config) {
        const ns = config["stateful-apps:namespace"];
        const [nsDoc, ...secrets] = namespaceAndSecrets(config, this.tokens);
        const rendered: string[] = [];
        for (const { app, values } of chartValues(config)) {
            const file = path.join(this.dir, `${app}.values.json`);
            fs.writeFileSync(file, JSON.stringify(values));
            rendered.push(must("helm", ["template", app, CHART_DIR, "-n", ns, "-f", file]).output);
        }
        const objects = [...secrets.map((d) => yaml.dump(d)), ...rendered].join("\n---\n");
        fs.writeFileSync(path.join(this.dir, "objects.yaml"), objects);
        fs.writeFileSync(path.join(this.dir, "all.yaml"), `${yaml.dump(nsDoc)}\n---\n${objects}`);
    }

    apply(config: Config): Run {
        this.render(config);
        return run("kubectl", ["apply", "--server-side", "-f", path.join(this.dir, "all.yaml")]);
    }

    noChange(config: Config): Run {
        this.render(config);
        const r = run("kubectl", ["diff", "--server-side", "-f", path.join(this.dir, "all.yaml")]);
        // kubectl diff exits 1 when there are differences: here that is a failure.
        return r;
    }

    destroy(): Run {
        return run("kubectl", ["delete", "-f", path.join(this.dir, "objects.yaml"), "--wait=true"]);
    }
}

export interface PulumiVariant {
    /** Extra environment for every Pulumi command (e.g. PULUMI_NODEJS_TRANSPILE_ONLY=false). */
    env?: Record<string, string>;
    /** Compile the program to JS in the workspace (tsc, in place) and point Pulumi.yaml's main at it. */
    precompiled?: boolean;
    /** `up`/`destroy` with --skip-preview (one program run instead of two). */
    skipPreview?: boolean;
}

/** The program itself, in a workspace of its own (cluster/workspace.ts), file backend. */
export class PulumiTool implements Tool {
    dir = "";
    private stack = "bench";
    private backend = "";

    constructor(readonly name: string, private variant: PulumiVariant = {}) {}

    env(): NodeJS.ProcessEnv {
        return {
            ...process.env,
            PULUMI_BACKEND_URL: `file://${this.backend}`,
            PULUMI_CONFIG_PASSPHRASE: "bench-passphrase",
            PULUMI_SKIP_UPDATE_CHECK: "true",
            PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
            NO_COLOR: "1",
            ...(this.variant.env ?? {}),
        };
    }

    setup(workDir: string) {
        this.dir = path.join(workDir, this.name);
        this.backend = path.join(workDir, `${this.name}-state`);
        fs.mkdirSync(this.backend, { recursive: true });
        prepareWorkspace(this.dir, "copy");
        if (this.variant.precompiled) {
            precompile(this.dir);
        }
        this.init();
    }

    private init() {
        must("pulumi", ["stack", "init", this.stack, "--secrets-provider", "passphrase", "--non-interactive"], { cwd: this.dir, env: this.env() });
    }

    pulumi(args: string[]): Run {
        return run("pulumi", [...args, "--stack", this.stack, "--non-interactive"], { cwd: this.dir, env: this.env() });
    }

    apply(config: Config): Run {
        writeStackConfig(this.dir, this.stack, config);
        return this.pulumi(["up", "--yes", ...(this.variant.skipPreview ? ["--skip-preview"] : [])]);
    }

    noChange(config: Config): Run {
        writeStackConfig(this.dir, this.stack, config);
        return this.pulumi(["preview", "--expect-no-changes"]);
    }

    /**
     * The same preview started as a background job of a non-interactive bash (`pulumi ... &`),
     * which starts it with SIGINT ignored, optionally with SIGINT reset first (`trap - INT`).
     */
    noChangeBackgrounded(config: Config, resetSigint: boolean): Run {
        writeStackConfig(this.dir, this.stack, config);
        // The simple command itself is the background job (no `cd && ...`: an asynchronous *list*
        // runs in a subshell, whose children do not inherit the ignored SIGINT).
        const cmd = "pulumi preview --expect-no-changes --stack bench --non-interactive";
        return run("bash", ["-c", `${resetSigint ? `(trap - INT; exec ${cmd})` : cmd} & wait $!`], { cwd: this.dir, env: this.env() });
    }

    destroy(): Run {
        return this.pulumi(["destroy", "--yes", "--run-program", ...(this.variant.skipPreview ? ["--skip-preview"] : [])]);
    }

    reset() {
        run("pulumi", ["stack", "rm", "--yes", "--force", "--stack", this.stack, "--non-interactive"], { cwd: this.dir, env: this.env() });
        this.init();
    }
}

/**
 * The program compiled to JS beside its sources (so `__dirname`-relative paths such as the chart
 * directory stay right) and Pulumi.yaml's `main` pointing at index.js: the language host then
 * loads plain JS; ts-node is still registered by the host, but has nothing to compile.
 */
export function precompile(dir: string) {
    // The project's compiler options; emitted beside the sources (outDir "."), from the entry point.
    fs.writeFileSync(path.join(dir, "tsconfig.build.json"), JSON.stringify({
        extends: "./tsconfig.json",
        compilerOptions: { outDir: ".", sourceMap: false },
        files: ["index.ts"],
        include: [],
    }));
    must(path.join(PROJECT_DIR, "node_modules", ".bin", "tsc"), ["-p", "tsconfig.build.json"], { cwd: dir });
    const file = path.join(dir, "Pulumi.yaml");
    const project = yaml.load(fs.readFileSync(file, "utf8")) as any;
    project.main = "index.js";
    fs.writeFileSync(file, yaml.dump(project));
}

/** A Pulumi project with an empty program (same SDK, same TypeScript setup): the CLI's own floor. */
export class EmptyProgram {
    readonly tool: PulumiTool;

    constructor(workDir: string, variant: PulumiVariant = {}, name = "pulumi-empty") {
        const dir = path.join(workDir, name);
        fs.mkdirSync(dir, { recursive: true });
        fs.writeFileSync(path.join(dir, "Pulumi.yaml"), "name: bench-empty\nruntime:\n  name: nodejs\n  options:\n    typescript: true\n");
        fs.writeFileSync(path.join(dir, "index.ts"), "// An empty Pulumi program.\nexport {};\n");
        fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify({ name: "bench-empty", main: "index.ts" }));
        fs.copyFileSync(path.join(PROJECT_DIR, "tsconfig.json"), path.join(dir, "tsconfig.json"));
        fs.rmSync(path.join(dir, "node_modules"), { force: true });
        fs.symlinkSync(path.join(PROJECT_DIR, "node_modules"), path.join(dir, "node_modules"));
        this.tool = new PulumiTool(name, variant);
        // PulumiTool.setup would copy the project; set its paths by hand instead.
        Object.assign(this.tool, { dir, backend: path.join(workDir, `${name}-state`) });
        fs.mkdirSync(path.join(workDir, `${name}-state`), { recursive: true });
        must("pulumi", ["stack", "init", "bench", "--secrets-provider", "passphrase", "--non-interactive"], { cwd: dir, env: this.tool.env() });
    }

    preview(): Run {
        return this.tool.pulumi(["preview"]);
    }
}

// ---------------------------------------------------------------------------------------------
// Statistics

export function median(xs: number[]): number {
    const s = [...xs].sort((a, b) => a - b);
    const m = Math.floor(s.length / 2);
    return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Least-squares slope of y over x. */
export function slope(points: [number, number][]): number {
    const n = points.length;
    const mx = points.reduce((s, p) => s + p[0], 0) / n;
    const my = points.reduce((s, p) => s + p[1], 0) / n;
    const num = points.reduce((s, p) => s + (p[0] - mx) * (p[1] - my), 0);
    const den = points.reduce((s, p) => s + (p[0] - mx) ** 2, 0);
    return den === 0 ? NaN : num / den;
}

export function machine() {
    const cpus = os.cpus();
    return {
        nproc: cpus.length,
        cpu: cpus[0]?.model ?? "",
        memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
        kernel: os.release(),
        node: process.version,
    };
}

export function gitInfo() {
    const g = (args: string[]) => run("git", args, { cwd: PROJECT_DIR }).output.trim();
    const dirty = g(["status", "--porcelain", "--", "index.ts", "components", "charts", "Pulumi.yaml", "package.json", "tsconfig.json"]);
    return { commit: g(["rev-parse", "HEAD"]), subject: g(["log", "-1", "--format=%s"]), programFilesDirty: dirty ? dirty.split("\n") : [] };
}
