// Drives the real Pulumi CLI and kubectl against the cluster in $KUBECONFIG. Each stack runs
// from a copy of the project in a temp dir (the committed Pulumi.<stack>.yaml files are never
// touched), with a local file backend and the passphrase secrets provider.
import * as assert from "assert";
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as yaml from "js-yaml";

export const PROJECT_DIR = path.resolve(__dirname, "..", "..");
/** Where previews and command logs are kept (the PR-comment diff among them). */
export const ARTIFACTS_DIR = process.env.E2E_ARTIFACTS_DIR ?? path.join(PROJECT_DIR, ".e2e-artifacts");
const WORK_DIR = fs.mkdtempSync(path.join(os.tmpdir(), "stateful-apps-e2e-"));
const BACKEND_DIR = path.join(WORK_DIR, "state");
/** Generated secrets must never show up in command output; every output is checked. */
const seenSecrets = new Set<string>();

const PROJECT_FILES = ["index.ts", "components", "charts", "Pulumi.yaml", "package.json", "tsconfig.json"];

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

function assertNoSecretIn(text: string, what: string) {
    for (const secret of seenSecrets) {
        assert.ok(!text.includes(secret), `a generated secret appeared in plain text in ${what}`);
    }
}

/** A Pulumi stack of this project, in its own working copy, named `name`. */
export class Stack {
    readonly dir: string;

    constructor(readonly name: string, config: Record<string, unknown>) {
        this.dir = path.join(WORK_DIR, name);
        fs.mkdirSync(this.dir, { recursive: true });
        for (const f of PROJECT_FILES) {
            fs.cpSync(path.join(PROJECT_DIR, f), path.join(this.dir, f), { recursive: true });
        }
        fs.symlinkSync(path.join(PROJECT_DIR, "node_modules"), path.join(this.dir, "node_modules"));
        fs.mkdirSync(BACKEND_DIR, { recursive: true });
        this.writeConfig(config);
        this.pulumi(["stack", "init", name, "--secrets-provider", "passphrase"]);
    }

    /** Replaces the stack's `stateful-apps:*` config (keeps the encryption salt). */
    writeConfig(config: Record<string, unknown>) {
        const file = path.join(this.dir, `Pulumi.${this.name}.yaml`);
        const existing = fs.existsSync(file) ? (yaml.load(fs.readFileSync(file, "utf8")) as any) : {};
        fs.writeFileSync(file, yaml.dump({ ...existing, config }));
    }

    /** Runs `pulumi <args> -s <stack>`; throws with the output unless `allowFailure`. */
    pulumi(args: string[], opts: { allowFailure?: boolean; log?: string } = {}): CommandResult {
        const full = args[0] === "stack" && args[1] === "init" ? args : [...args, "--stack", this.name];
        const started = Date.now();
        const res = spawnSync("pulumi", [...full, "--non-interactive"], {
            cwd: this.dir,
            env: pulumiEnv(),
            encoding: "utf8",
            maxBuffer: 64 * 1024 * 1024,
            timeout: 15 * 60 * 1000,
        });
        const output = `${res.stdout ?? ""}${res.stderr ?? ""}`;
        const file = record(opts.log ?? `${this.name}-${args.slice(0, 2).join("-")}`, `$ pulumi ${full.join(" ")}\n(${((Date.now() - started) / 1000).toFixed(1)}s, exit ${res.status})\n${output}`);
        assertNoSecretIn(output, file);
        const status = res.status ?? -1;
        if (status !== 0 && !opts.allowFailure) {
            throw new Error(`pulumi ${full.join(" ")} failed (exit ${status}); log: ${file}\n${output.slice(-4000)}`);
        }
        return { status, output };
    }

    up(log?: string) {
        return this.pulumi(["up", "--yes", "--skip-preview", "--diff"], { log: log ?? `${this.name}-up` });
    }

    preview(extra: string[] = [], log?: string) {
        return this.pulumi(["preview", "--diff", ...extra], { log: log ?? `${this.name}-preview` });
    }

    destroy() {
        return this.pulumi(["destroy", "--yes", "--skip-preview"], { log: `${this.name}-destroy` });
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

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

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

export function loadShippedConfig(stack: string): Record<string, any> {
    return clone((yaml.load(fs.readFileSync(path.join(PROJECT_DIR, `Pulumi.${stack}.yaml`), "utf8")) as any).config);
}

export const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v));

export function pods(ns: string, app: string): any[] {
    return kubectlJson(["get", "pods", "-n", ns, "-l", `app.kubernetes.io/instance=${app}`]).items
        .filter((p: any) => !p.metadata.deletionTimestamp)
        .sort((a: any, b: any) => a.metadata.name.localeCompare(b.metadata.name, "en", { numeric: true }));
}

export function pvcs(ns: string, app: string): any[] {
    return kubectlJson(["get", "pvc", "-n", ns]).items
        .filter((p: any) => p.metadata.name.startsWith(`data-${app}-`))
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

/** Deletes a namespace left by a scenario (retained by design) and frees its PVs for reuse. */
export function cleanupNamespace(ns: string) {
    kubectl(["delete", "namespace", ns, "--ignore-not-found", "--wait=true", "--timeout=180s"], { allowFailure: true });
    execFileSync("bash", [path.join(PROJECT_DIR, "e2e", "cluster.sh"), "recycle-pvs"], { stdio: "ignore" });
}

/** The steps of a `pulumi preview --json`: op per resource URN suffix (`type::name`). */
export function previewSteps(stack: Stack, log: string): { op: string; urn: string; type: string; name: string }[] {
    const out = stack.pulumi(["preview", "--json"], { log }).output;
    const json = JSON.parse(out.slice(out.indexOf("{"), out.lastIndexOf("}") + 1));
    return (json.steps ?? []).map((s: any) => {
        const parts = s.urn.split("::");
        return { op: s.op, urn: s.urn, type: parts[2].split("$").pop(), name: parts[3] };
    });
}

/** Asserts what a deployed app looks like in the cluster, given its settings in the stack config. */
export async function assertAppDeployed(ns: string, name: string, app: any, outputs: any) {
    const replicas = app.replicas ?? 1;
    const sts = kubectlJson(["get", "statefulset", name, "-n", ns]);
    assert.strictEqual(sts.spec.replicas, replicas);
    assert.strictEqual(sts.spec.podManagementPolicy, app.podManagementPolicy ?? "OrderedReady");
    assert.strictEqual(sts.spec.updateStrategy.type, app.updateStrategy?.type ?? "RollingUpdate");
    if (sts.spec.updateStrategy.type === "RollingUpdate") {
        assert.strictEqual(sts.spec.updateStrategy.rollingUpdate.partition, app.updateStrategy?.partition ?? 0);
    }
    assert.strictEqual(sts.spec.serviceName, `${name}-headless`);
    assert.strictEqual(sts.spec.volumeClaimTemplates[0].spec.resources.requests.storage, app.storageSize ?? "1Gi");
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
