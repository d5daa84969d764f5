// Drives the real Pulumi CLI and kubectl against the cluster in $KUBECONFIG. Each stack runs
// from a copy of the project in a temp dir (the committed Pulumi.<stack>.yaml files are never
// touched), with a local file backend and the passphrase secrets provider.
import * as assert from "assert";
import { execFileSync, spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as os from "os";
import * as path from "path";
import * as yaml from "js-yaml";
import { AppSummary, summaryByApp } from "../../ci/preview-summary";
import { chartDefaults, deepMerge } from "../../components/config";
import { Json } from "../../components/problems";
import { LOCAL_IMAGES, prepareWorkspace, withLocalImages, writeStackConfig } from "../../cluster/workspace";
import { clone, loadStackFile, PROJECT_DIR } from "../../tools/project";

export { clone, LOCAL_IMAGES, PROJECT_DIR };
/** On the local cluster the apps run the locally built images; on your own cluster, the config's. */
const LOCAL_CLUSTER = process.env.E2E_USE_EXISTING_CLUSTER !== "1";
/** Where previews and command logs are kept (the PR-comment diff among them). */
export const ARTIFACTS_DIR = process.env.E2E_ARTIFACTS_DIR ?? path.join(PROJECT_DIR, ".e2e-artifacts");
const WORK_DIR = fs.mkdtempSync(path.join(os.tmpdir(), "stateful-apps-e2e-"));
/** The file backend of every stack of the suite (its state files are checked for secrets). */
export const BACKEND_DIR = path.join(WORK_DIR, "state");
/** Generated secrets must never show up in command output; every output is checked. */
const seenSecrets = new Set<string>();

export interface CommandResult {
    status: number;
    output: string;
}

function pulumiEnv(): NodeJS.ProcessEnv {
    return {
        ...process.env,
        PULUMI_BACKEND_URL: `file://${BACKEND_DIR}`,
        PULUMI_CONFIG_PASSPHRASE: process.env.PULUMI_CONFIG_PASSPHRASE ?? "e2e-passphrase",
        PULUMI_SKIP_UPDATE_CHECK: "true",
        PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
        PULUMI_HOME: process.env.PULUMI_HOME,
        NO_COLOR: "1",
    };
}

let logCounter = 0;
function record(name: string, text: string) {
    fs.mkdirSync(ARTIFACTS_DIR, { recursive: true });
    const file = path.join(ARTIFACTS_DIR, `${String(++logCounter).padStart(3, "0")}-${name.replace(/[^a-zA-Z0-9.-]+/g, "_")}.log`);
    fs.writeFileSync(file, text);
    return file;
}

/** A value that must never appear in plain text in any command output from now on. */
export function registerSecret(value: string) {
    seenSecrets.add(value);
}

function assertNoSecretIn(text: string, what: string) {
    for (const secret of seenSecrets) {
        assert.ok(!text.includes(secret), `a generated secret appeared in plain text in ${what}`);
    }
}

/** A Pulumi stack of this project, in its own working copy, named `name`. */
export class Stack {
    readonly dir: string;
    /** The stack's namespace, as last written to its config. */
    private namespace?: string;

    constructor(readonly name: string, config: Record<string, unknown>) {
        this.dir = path.join(WORK_DIR, name);
        prepareWorkspace(this.dir, "copy");
        fs.mkdirSync(BACKEND_DIR, { recursive: true });
        this.writeConfig(config);
        this.pulumi(["stack", "init", name, "--secrets-provider", "passphrase"]);
    }

    /** Replaces the stack's `stateful-apps:*` config (keeps the encryption salt). */
    writeConfig(config: Record<string, unknown>) {
        this.namespace = config["stateful-apps:namespace"] as string | undefined;
        writeStackConfig(this.dir, this.name, config);
    }

    /** Runs `pulumi <args> -s <stack>`; throws with the output unless `allowFailure`; `env` is added to the environment. */
    pulumi(args: string[], opts: { allowFailure?: boolean; log?: string; env?: NodeJS.ProcessEnv } = {}): CommandResult {
        const { full, started } = this.command(args);
        const res = spawnSync("pulumi", [...full, "--non-interactive"], {
            cwd: this.dir, env: { ...pulumiEnv(), ...opts.env }, encoding: "utf8", maxBuffer: 64 * 1024 * 1024, timeout: 15 * 60 * 1000,
        });
        return this.result(args, full, started, res.status ?? -1, `${res.stdout ?? ""}${res.stderr ?? ""}`, opts);
    }

    /** As `pulumi`, without blocking the event loop (e.g. while the test sends traffic). */
    pulumiAsync(args: string[], opts: { allowFailure?: boolean; log?: string } = {}): Promise<CommandResult> {
        const { full, started } = this.command(args);
        return new Promise((resolve, reject) => {
            const child = spawn("pulumi", [...full, "--non-interactive"], { cwd: this.dir, env: pulumiEnv() });
            let output = "";
            child.stdout.on("data", (d) => (output += d));
            child.stderr.on("data", (d) => (output += d));
            child.on("error", reject);
            child.on("close", (code) => {
                try {
                    resolve(this.result(args, full, started, code ?? -1, output, opts));
                } catch (e) {
                    reject(e);
                }
            });
        });
    }

    private command(args: string[]) {
        const full = args[0] === "stack" && args[1] === "init" ? args : [...args, "--stack", this.name];
        return { full, started: Date.now() };
    }

    private result(args: string[], full: string[], started: number, status: number, output: string, opts: { allowFailure?: boolean; log?: string }): CommandResult {
        const file = record(opts.log ?? `${this.name}-${args.slice(0, 2).join("-")}`, `$ pulumi ${full.join(" ")}\n(${secs(started)}s, exit ${status})\n${output}`);
        assertNoSecretIn(output, file);
        if (status !== 0 && !opts.allowFailure) {
            throw new Error(`pulumi ${full.join(" ")} failed (exit ${status}); log: ${file}\n${output.slice(-4000)}\n${clusterSnapshot(this.namespace)}`);
        }
        return { status, output };
    }

    up(log?: string) {
        return this.pulumi(["up", "--yes", "--skip-preview", "--diff"], { log: log ?? `${this.name}-up` });
    }

    preview(extra: string[] = [], log?: string) {
        return this.pulumi(["preview", "--diff", ...extra], { log: log ?? `${this.name}-preview` });
    }

    /** As users must run it: the program's after-delete hook removes each app's pods. */
    destroy() {
        return this.pulumi(["destroy", "--yes", "--skip-preview", "--run-program"], { log: `${this.name}-destroy` });
    }

    /** `pulumi config set --secret --path`; the value may then never appear in any output. */
    setSecret(key: string, value: string) {
        registerSecret(value);
        this.pulumi(["config", "set", "--secret", "--path", key, value]);
    }

    /** The preview's per-app summary, as the PR comment states it (ci/preview-summary). */
    previewSummary(log: string): Record<string, AppSummary> {
        return summaryByApp(this.pulumi(["preview", "--json"], { log }).output);
    }

    /** `npm run drift -- --stack <this>` in this stack's workspace (ci/drift.ts). */
    drift(log: string): CommandResult {
        const started = Date.now();
        const res = spawnSync("npx", ["ts-node", "--transpile-only", path.join(PROJECT_DIR, "ci", "drift.ts"), "--stack", this.name, "--cwd", this.dir], {
            cwd: PROJECT_DIR, env: pulumiEnv(), encoding: "utf8", maxBuffer: 64 * 1024 * 1024, timeout: 15 * 60 * 1000,
        });
        return this.result(["drift"], ["drift", "--stack", this.name], started, res.status ?? -1, `${res.stdout ?? ""}${res.stderr ?? ""}`, { allowFailure: true, log });
    }

    setPath(key: string, value: string) {
        this.pulumi(["config", "set", "--path", key, value]);
    }

    outputs(): any {
        const out = this.pulumi(["stack", "output", "--json", "--show-secrets"], { log: `${this.name}-outputs` }).output;
        const parsed = JSON.parse(out.slice(out.indexOf("{")));
        for (const app of Object.values<any>(parsed.apps ?? {})) {
            if (app.adminToken) {
                seenSecrets.add(app.adminToken);
            }
        }
        return parsed;
    }

    /** Stack removal; the namespace and PVCs are left for the caller's assertions. */
    remove() {
        this.pulumi(["stack", "rm", "--yes", "--force"], { allowFailure: true, log: `${this.name}-stack-rm` });
    }
}

/** kubectl with JSON output parsed. */
export function kubectlJson(args: string[]): any {
    return JSON.parse(kubectl([...args, "-o", "json"]));
}

export function kubectl(args: string[], opts: { allowFailure?: boolean; input?: string } = {}): string {
    try {
        return execFileSync("kubectl", args, { encoding: "utf8", stdio: ["pipe", "pipe", "pipe"], input: opts.input, timeout: 120000 });
    } catch (e: any) {
        if (opts.allowFailure) {
            return `${e.stdout ?? ""}${e.stderr ?? ""}`;
        }
        throw new Error(`kubectl ${args.join(" ")} failed: ${e.stderr ?? e.message}`);
    }
}

/**
 * What the cluster looked like when a command failed, for the error a CI log keeps: the nodes, the
 * namespace's pods with their conditions, and its latest events (the artifacts directory is gone
 * with the CI machine's checkout).
 */
function clusterSnapshot(ns?: string): string {
    const section = (title: string, args: string[]) =>
        [`── ${title}`, ...kubectl(args, { allowFailure: true }).trim().split("\n").slice(-24)].join("\n");
    const sections = [section("nodes", ["get", "nodes", "-o", "wide"])];
    if (ns) {
        sections.push(
            section(`pods in ${ns}`, ["get", "pods", "-n", ns, "-o",
                "custom-columns=NAME:.metadata.name,NODE:.spec.nodeName,PHASE:.status.phase,CONDITIONS:.status.conditions[*].type,STATUS:.status.conditions[*].status"]),
            section(`latest events in ${ns}`, ["get", "events", "-n", ns, "--sort-by=.lastTimestamp"]),
        );
    }
    return sections.join("\n");
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `check` until it returns a truthy value or the timeout passes. */
export async function eventually<T>(what: string, check: () => T | undefined | false, timeoutMs = 120000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    let last: unknown;
    for (;;) {
        try {
            const v = check();
            if (v) {
                return v;
            }
        } catch (e) {
            last = e;
        }
        if (Date.now() > deadline) {
            throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${what}${last ? `: ${last}` : ""}`);
        }
        await sleep(1000);
    }
}

/**
 * A committed stack's config as the scenarios run it: on the local cluster each app runs its
 * locally built image (first tag, never pulled; `LOCAL_IMAGES.of(app, tag)` names the others).
 */
export function loadShippedConfig(stack: string): Record<string, any> {
    return LOCAL_CLUSTER ? withLocalImages(loadStackFile(stack)) : loadStackFile(stack);
}

export function pods(ns: string, app: string): any[] {
    return kubectlJson(["get", "pods", "-n", ns, "-l", `app.kubernetes.io/instance=${app}`]).items
        .filter((p: any) => !p.metadata.deletionTimestamp)
        .sort((a: any, b: any) => a.metadata.name.localeCompare(b.metadata.name, "en", { numeric: true }));
}

/** The app's PVCs, of its claim template `claim` (the volumeClaimName setting). */
export function pvcs(ns: string, app: string, claim = chartDefaults().volumeClaimName): any[] {
    return kubectlJson(["get", "pvc", "-n", ns]).items
        .filter((p: any) => p.metadata.name.startsWith(`${claim}-${app}-`))
        .sort((a: any, b: any) => a.metadata.name.localeCompare(b.metadata.name, "en", { numeric: true }));
}

/**
 * Deletes a pod and returns once the StatefulSet has re-created it (new UID) and it is ready.
 * Not `kubectl delete --wait`: kwok deletes and the controller re-creates a pod within
 * milliseconds, and kubectl 1.32's wait then never sees the deletion.
 */
export async function deletePodAndAwaitReplacement(ns: string, app: string, name: string): Promise<any> {
    const old = kubectlJson(["get", "pod", name, "-n", ns]);
    kubectl(["delete", "pod", name, "-n", ns, "--wait=false"]);
    return eventually(`${name} re-created and ready`, () =>
        readyPods(ns, app).find((p) => p.metadata.name === name && p.metadata.uid !== old.metadata.uid));
}

export const readyPods = (ns: string, app: string) =>
    pods(ns, app).filter((p) => p.status?.conditions?.some((c: any) => c.type === "Ready" && c.status === "True"));

/**
 * A kubeconfig (contents) for a ServiceAccount of `namespace`, with a short-lived token: what a
 * CI environment is given for an account the cluster admin created.
 */
export function serviceAccountKubeconfig(namespace: string, account: string): string {
    const token = kubectl(["create", "token", account, "-n", namespace, "--duration=10m"]).trim();
    const server = kubectlJson(["config", "view", "--minify"]).clusters[0].cluster.server;
    return yaml.dump({
        apiVersion: "v1", kind: "Config", "current-context": account,
        clusters: [{ name: account, cluster: { server, "insecure-skip-tls-verify": true } }],
        users: [{ name: account, user: { token } }],
        contexts: [{ name: account, context: { cluster: account, user: account } }],
    });
}

/** Deletes a namespace left by a scenario (retained by design) and frees its PVs for reuse. */
export function cleanupNamespace(ns: string) {
    kubectl(["delete", "namespace", ns, "--ignore-not-found", "--wait=true", "--timeout=180s"], { allowFailure: true });
    execFileSync("bash", [path.join(PROJECT_DIR, "cluster", "cluster.sh"), "recycle-pvs"], { stdio: "ignore" });
}

/** The steps of a `pulumi preview --json`: op per resource URN suffix (`type::name`). */
/**
 * The steps of a `pulumi preview --json`, without the program's read of its own stack outputs
 * (a StackReference, op "read" on every run: it reads, it changes nothing).
 */
export function previewSteps(stack: Stack, log: string, env?: NodeJS.ProcessEnv): { op: string; urn: string; type: string; name: string }[] {
    const out = stack.pulumi(["preview", "--json"], { log, env }).output;
    const json = JSON.parse(out.slice(out.indexOf("{"), out.lastIndexOf("}") + 1));
    return (json.steps ?? []).filter((s: any) => s.op !== "read").map((s: any) => {
        const parts = s.urn.split("::");
        return { op: s.op, urn: s.urn, type: parts[2].split("$").pop(), name: parts[3] };
    });
}

/** Asserts what a deployed app looks like in the cluster, given its settings in the stack config. */
export async function assertAppDeployed(ns: string, name: string, userApp: any, outputs: any) {
    // The settings in the stack config over the defaults in values.yaml, as the program merges them.
    const app = deepMerge(chartDefaults() as Json, userApp) as any;
    const replicas = app.replicas;
    const sts = kubectlJson(["get", "statefulset", name, "-n", ns]);
    assert.strictEqual(sts.spec.replicas, replicas);
    assert.strictEqual(sts.spec.podManagementPolicy, app.podManagementPolicy);
    assert.strictEqual(sts.spec.updateStrategy.type, app.updateStrategy.type);
    if (sts.spec.updateStrategy.type === "RollingUpdate") {
        assert.strictEqual(sts.spec.updateStrategy.rollingUpdate.partition, app.updateStrategy.partition);
    }
    assert.strictEqual(sts.spec.serviceName, `${name}-headless`);
    assert.strictEqual(sts.spec.volumeClaimTemplates[0].spec.resources.requests.storage, app.storageSize);
    assert.strictEqual(kubectlJson(["get", "service", `${name}-headless`, "-n", ns]).spec.clusterIP, "None");
    assert.notStrictEqual(kubectlJson(["get", "service", name, "-n", ns]).spec.clusterIP, "None");

    await eventually(`${replicas} ready ${name} pods`, () => readyPods(ns, name).length === replicas && pods(ns, name).length === replicas);
    const claims = await eventually(`${replicas} bound PVCs of ${name}`, () => {
        const bound = pvcs(ns, name).filter((p) => p.status.phase === "Bound");
        return bound.length >= replicas && bound;
    });
    assert.deepStrictEqual(
        claims.slice(0, replicas).map((p: any) => p.metadata.name),
        Array.from({ length: replicas }, (_, i) => `data-${name}-${i}`),
    );
    for (const pod of pods(ns, name)) {
        const ordinal = pod.metadata.name.slice(name.length + 1);
        const volume = pod.spec.volumes.find((v: any) => v.name === "data");
        assert.strictEqual(volume.persistentVolumeClaim.claimName, `data-${name}-${ordinal}`);
    }
    assert.deepStrictEqual(
        outputs.apps[name].podDnsNames,
        pods(ns, name).map((p) => `${p.metadata.name}.${name}-headless.${ns}.svc.cluster.local`),
    );
    assert.strictEqual(outputs.apps[name].replicas, replicas);
}

// ── Real pods: HTTP from this machine, files and DNS from inside the pods ────────────────────

export interface HttpResult {
    status: number;
    body: string;
}

/**
 * One HTTP request on a fresh connection (no keep-alive, so kube-proxy balances every request),
 * from this machine: Service ClusterIPs and pod IPs are routed onto the local node's bridge.
 */
export function httpRequest(url: string, opts: { method?: string; headers?: Record<string, string>; timeoutMs?: number } = {}): Promise<HttpResult> {
    return new Promise((resolve, reject) => {
        const req = http.request(url, { method: opts.method ?? "GET", headers: opts.headers, agent: false, timeout: opts.timeoutMs ?? 10000 }, (res) => {
            let body = "";
            res.setEncoding("utf8");
            res.on("data", (chunk) => (body += chunk));
            res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
        });
        req.on("timeout", () => req.destroy(new Error(`timeout: ${url}`)));
        req.on("error", reject);
        req.end();
    });
}

/** The app's client Service, as this machine reaches it. */
export function serviceUrl(ns: string, app: string): string {
    const svc = kubectlJson(["get", "service", app, "-n", ns]);
    return `http://${svc.spec.clusterIP}:${svc.spec.ports[0].port}`;
}

/** `kubectl exec` in the pod's app container; throws with the output on failure. */
export function execIn(ns: string, pod: string, command: string[], opts: { allowFailure?: boolean } = {}): string {
    return kubectl(["exec", "-n", ns, pod, "-c", "app", "--", ...command], opts);
}

/** The pod's own count, read from the file on its PVC (no file yet: no visit yet, as the apps say). */
export function visitsOnDisk(ns: string, pod: string): number {
    const text = execIn(ns, pod, ["sh", "-c", "if [ -e /data/visits ]; then cat /data/visits; else echo 0; fi"]).trim();
    assert.match(text, /^\d+$/, `${pod}: /data/visits holds "${text}"`);
    return Number(text);
}

/** Each pod of the app and the count in its visits file. */
export const countsOf = (ns: string, app: string): Record<string, number> =>
    Object.fromEntries(pods(ns, app).map((p) => [p.metadata.name, visitsOnDisk(ns, p.metadata.name)]));

/** Pod IPs the app's client Service sends traffic to: ready endpoints of its EndpointSlices. */
export const readyEndpointIps = (ns: string, app: string): string[] =>
    kubectlJson(["get", "endpointslices", "-n", ns, "-l", `kubernetes.io/service-name=${app}`]).items
        .flatMap((s: any) => s.endpoints ?? [])
        .filter((e: any) => e.conditions?.ready)
        .flatMap((e: any) => e.addresses)
        .sort();

/** Which pod answered a visit: the page names it. */
export function podOfPage(app: string, body: string): string {
    const m = body.match(new RegExp(`\\b(${app}-\\d+)\\b`));
    assert.ok(m, `no ${app} pod named in the page: ${body.slice(0, 300)}`);
    return m[1];
}

/**
 * Waits until the Service answers /readyz (which counts no visit). Pods can be Ready before
 * kube-proxy has synced their endpoints into its rules; until then a ClusterIP is rejected
 * (ECONNREFUSED), which is kube-proxy's lag, not the app's fault (seen once in CI).
 */
export async function serviceServing(ns: string, app: string, timeoutMs = 60000): Promise<string> {
    const url = serviceUrl(ns, app);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
        let last: string;
        try {
            const res = await httpRequest(`${url}/readyz`, { timeoutMs: 5000 });
            if (res.status === 200) {
                return url;
            }
            last = `status ${res.status}`;
        } catch (e) {
            last = String(e);
        }
        if (Date.now() > deadline) {
            throw new Error(`${ns}/${app}: the Service did not answer /readyz within ${timeoutMs / 1000}s: ${last}`);
        }
        await sleep(500);
    }
}

/** `count` visits through the client Service, sequentially; returns how many each pod answered. */
export async function visitThroughService(ns: string, app: string, count: number): Promise<Record<string, number>> {
    const url = await serviceServing(ns, app);
    const answered: Record<string, number> = {};
    for (let i = 0; i < count; i++) {
        const res = await httpRequest(`${url}/`);
        assert.strictEqual(res.status, 200, `visit ${i}: ${res.status} ${res.body.slice(0, 200)}`);
        const pod = podOfPage(app, res.body);
        answered[pod] = (answered[pod] ?? 0) + 1;
    }
    return answered;
}

/** Steady traffic until `stop()`: every answer is recorded (status, which pod), as are errors. */
export function steadyTraffic(ns: string, app: string, intervalMs = 50) {
    const url = serviceUrl(ns, app);
    const answered: Record<string, number> = {};
    let ok = 0;
    let failed = 0;
    let running = true;
    const loop = (async () => {
        while (running) {
            try {
                const res = await httpRequest(`${url}/`, { timeoutMs: 5000 });
                if (res.status === 200) {
                    ok++;
                    const pod = podOfPage(app, res.body);
                    answered[pod] = (answered[pod] ?? 0) + 1;
                } else {
                    failed++;
                }
            } catch {
                failed++;
            }
            await sleep(intervalMs);
        }
    })();
    return {
        async stop() {
            running = false;
            await loop;
            return { ok, failed, answered };
        },
    };
}

/** Resolves `name` inside the pod (the pod's resolv.conf: cluster DNS). */
export function resolveInPod(ns: string, pod: string, name: string): string {
    return execIn(ns, pod, ["python", "-c", "import socket, sys; print(socket.gethostbyname(sys.argv[1]))", name]).trim();
}

/** The local cluster's real nodes (cluster/network.env): the first runs CoreDNS and the NetworkPolicy engine. */
export const NODE0 = "stateful-apps-node";
export const NODE1 = "stateful-apps-node-1";
/** Seconds since `since` (a Date.now()), for the figures the scenarios print. */
export const secs = (since: number) => ((Date.now() - since) / 1000).toFixed(1);

/** The pod of that name now, whichever incarnation (undefined if there is none). */
export function podNamed(ns: string, name: string): any {
    const out = kubectl(["get", "pod", name, "-n", ns, "-o", "json", "--ignore-not-found"]);
    return out.trim() ? JSON.parse(out) : undefined;
}
/** A pod's PodScheduled condition: status False with the scheduler's reason while it waits. */
export const scheduled = (pod: any) => pod?.status?.conditions?.find((c: any) => c.type === "PodScheduled");
/** Visits to one pod directly (POST /visits counts one), each answered 200, so that every pod has a count to keep. */
export async function visitPod(pod: any, n: number) {
    for (let i = 0; i < n; i++) {
        const res = await httpRequest(`http://${pod.status.podIP}:${pod.spec.containers[0].ports[0].containerPort}/visits`, { method: "POST" });
        assert.strictEqual(res.status, 200, `${pod.metadata.name}: ${res.body.slice(0, 200)}`);
    }
}
/** The nodes a PV may be used on (its kubernetes.io/hostname nodeAffinity). */
export const pvNodes = (pv: any): string[] => (pv.spec.nodeAffinity?.required?.nodeSelectorTerms ?? [])
    .flatMap((t: any) => t.matchExpressions ?? []).filter((e: any) => e.key === "kubernetes.io/hostname").flatMap((e: any) => e.values);
