// Safety on real pods: secret env values never in plain text; what each kind of change does to
// pods and volumes (as the PR summary says, and as the cluster shows); removing an app and
// `pulumi destroy` leave no pod running and keep the data; a Helm-mode replacement and the
// documented switch between deploy methods keep every volume and its count.
import * as assert from "assert";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
    BACKEND_DIR, cleanupNamespace, clone, eventually, execIn, kubectl, kubectlJson, loadShippedConfig, pods, previewSteps, PROJECT_DIR, pvcs,
    readyPods, serviceAccountKubeconfig, Stack, visitsOnDisk, visitThroughService,
} from "./harness";

const APP = "python-app";
const uids = (items: any[]) => Object.fromEntries(items.map((i) => [i.metadata.name, i.metadata.uid]));
const counts = (ns: string, app = APP) => Object.fromEntries(pods(ns, app).map((p) => [p.metadata.name, visitsOnDisk(ns, p.metadata.name)]));

/** Every file of every stack's state, for plain-text searches. */
function stateFiles(dir = BACKEND_DIR): string[] {
    return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
        e.isDirectory() ? stateFiles(path.join(dir, e.name)) : [path.join(dir, e.name)]);
}

/** ci/preview-account.yaml applied for `ns` as a cluster admin would; returns a kubeconfig file of that account. */
function previewAccountKubeconfig(ns: string): string {
    const manifest = fs.readFileSync(path.join(PROJECT_DIR, "ci", "preview-account.yaml"), "utf8").replace(/NAMESPACE/g, ns);
    kubectl(["apply", "-f", "-"], { input: manifest });
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "preview-account-")), "kubeconfig");
    fs.writeFileSync(file, serviceAccountKubeconfig(ns, "stateful-apps-preview"), { mode: 0o600 });
    return file;
}

/**
 * Scenario 16 (issue 20 item 11): a PR's preview with the account CI gives it. The preview of a
 * change (replicas 2 → 3) plans exactly the deployer's steps; `pulumi up` with it is refused and
 * the cluster is unchanged; drift.yml's refresh check passes with it.
 */
function assertPreviewAccountReadsOnly(stack: Stack, ns: string, config: Record<string, any>, writeConfig: (c: Record<string, unknown>) => void) {
    const kubeconfig = previewAccountKubeconfig(ns);
    const changed = clone(config);
    changed["stateful-apps:apps"][APP].replicas = 3;
    writeConfig(changed);
    try {
        const changes = (steps: { op: string; urn: string }[]) => steps.filter((s) => s.op !== "same").map((s) => `${s.op} ${s.urn}`);
        const asDeployer = changes(previewSteps(stack, `${stack.name}-preview-as-deployer`));
        assert.ok(asDeployer.length > 0, "the change is previewed as a change");
        const asPreviewAccount = changes(previewSteps(stack, `${stack.name}-preview-as-preview-account`, { KUBECONFIG: kubeconfig }));
        assert.deepStrictEqual(asPreviewAccount, asDeployer);
        const up = stack.pulumi(["up", "--yes", "--skip-preview"], { allowFailure: true, env: { KUBECONFIG: kubeconfig }, log: `${stack.name}-up-as-preview-account` });
        assert.notStrictEqual(up.status, 0, "the preview account cannot deploy");
        assert.match(up.output, /forbidden/i);
        assert.strictEqual(kubectlJson(["get", "statefulset", APP, "-n", ns]).spec.replicas, 2, "nothing changed in the cluster");
        // drift.yml's check with the same account: a refresh only reads.
        writeConfig(config);
        stack.pulumi(["preview", "--refresh", "--expect-no-changes"], { env: { KUBECONFIG: kubeconfig }, log: `${stack.name}-drift-check-as-preview-account` });
    } finally {
        writeConfig(config);
        fs.rmSync(path.dirname(kubeconfig), { recursive: true, force: true });
    }
}

describe("safety (raw, real pods): secrets, replacement, retention, removal, destroy", function () {
    const NS = "e2e-safety";
    const config = loadShippedConfig("dev");
    config["stateful-apps:namespace"] = NS;
    const secret = `pw-${crypto.randomBytes(12).toString("hex")}`;
    let stack: Stack;
    const SECRET_KEY = "stateful-apps:secretEnv.python-app.DB_PASSWORD";
    /** writeConfig replaces the whole config, so the secret is set again after it. */
    const writeConfig = (c: Record<string, unknown>) => {
        stack.writeConfig(c);
        stack.setSecret(SECRET_KEY, secret);
    };

    before(async () => {
        stack = new Stack("safety", config);
        stack.setSecret(SECRET_KEY, secret);
        stack.up("safety-up");
        stack.outputs();
        await eventually("2 ready python-app pods", () => readyPods(NS, APP).length === 2);
        await visitThroughService(NS, APP, 10);
    });
    after(() => {
        stack?.remove();
        cleanupNamespace(NS);
    });

    it("secretEnv: the value is in the app's Secret and the container's env (secretKeyRef), and in no output or state file in plain text", () => {
        const data = kubectlJson(["get", "secret", APP, "-n", NS]).data;
        assert.strictEqual(Buffer.from(data.DB_PASSWORD, "base64").toString(), secret);
        const env = kubectlJson(["get", "statefulset", APP, "-n", NS]).spec.template.spec.containers[0].env;
        assert.deepStrictEqual(env.find((e: any) => e.name === "DB_PASSWORD"), { name: "DB_PASSWORD", valueFrom: { secretKeyRef: { name: APP, key: "DB_PASSWORD" } } });
        assert.strictEqual(execIn(NS, `${APP}-0`, ["printenv", "DB_PASSWORD"]).trim() === secret, true, "the container sees the value");
        for (const file of stateFiles()) {
            assert.ok(!fs.readFileSync(file, "utf8").includes(secret), `plain-text secret in ${file}`);
        }
        assert.ok(!fs.readFileSync(path.join(stack.dir, "Pulumi.safety.yaml"), "utf8").includes(secret), "the stack file holds it encrypted");
        // Every pulumi command's output was already checked for it by the harness.
    });

    it("scenario 16 (raw): the preview account of ci/preview-account.yaml previews a change with the deployer's steps and cannot deploy it", () => {
        assertPreviewAccountReadsOnly(stack, NS, config, writeConfig);
    });

    it("podManagementPolicy change: previewed as a replacement restarting no pod; pods, PVCs and counts survive", async () => {
        const before = { pods: uids(pods(NS, APP)), pvcs: uids(pvcs(NS, APP)), counts: counts(NS) };
        const changed = clone(config);
        changed["stateful-apps:apps"][APP].podManagementPolicy = "OrderedReady";
        writeConfig(changed);
        const summary = stack.previewSummary("safety-pmp-preview")[APP];
        assert.strictEqual(summary.workload, "replaced");
        assert.strictEqual(summary.podRestarts, "none");
        stack.up("safety-pmp-up");
        const sts = kubectlJson(["get", "statefulset", APP, "-n", NS]);
        assert.strictEqual(sts.spec.podManagementPolicy, "OrderedReady");
        assert.deepStrictEqual(uids(pods(NS, APP)), before.pods, "the pods were kept and adopted");
        for (const pod of pods(NS, APP)) {
            assert.strictEqual(pod.metadata.ownerReferences?.[0]?.uid, sts.metadata.uid, `${pod.metadata.name} adopted`);
        }
        assert.deepStrictEqual(uids(pvcs(NS, APP)), before.pvcs);
        assert.deepStrictEqual(counts(NS), before.counts);
        Object.assign(config["stateful-apps:apps"][APP], changed["stateful-apps:apps"][APP]);
    });

    it("retention whenScaled: Delete: scaling 2 → 1 deletes exactly the PVC of the removed ordinal", async () => {
        config["stateful-apps:apps"][APP].pvcRetentionPolicy = { whenDeleted: "Retain", whenScaled: "Delete" };
        writeConfig(config);
        stack.up("safety-retention-policy");
        const kept = pvcs(NS, APP)[0].metadata.uid;
        config["stateful-apps:apps"][APP].replicas = 1;
        writeConfig(config);
        stack.up("safety-scale-down-delete");
        await eventually(`data-${APP}-1 deleted`, () => !pvcs(NS, APP).some((c) => c.metadata.name === `data-${APP}-1`));
        assert.deepStrictEqual(pvcs(NS, APP).map((c) => c.metadata.uid), [kept]);
    });

    it("removing an app from the config: previewed as deleted; its pods are gone when up returns; its PVC stays", () => {
        const claim = pvcs(NS, "js-app")[0].metadata.uid;
        delete config["stateful-apps:apps"]["js-app"];
        writeConfig(config);
        const summary = stack.previewSummary("safety-remove-app-preview")["js-app"];
        assert.strictEqual(summary.workload, "deleted");
        assert.strictEqual(summary.podRestarts, "deleted");
        stack.up("safety-remove-app");
        assert.deepStrictEqual(pods(NS, "js-app").map((p) => p.metadata.name), [], "no js-app pod left");
        assert.deepStrictEqual(pvcs(NS, "js-app").map((c) => c.metadata.uid), [claim]);
        assert.strictEqual(readyPods(NS, APP).length, 1, "the other app is untouched");
    });

    it("pulumi destroy --run-program: no pod left when it returns; PVCs and namespace stay; plain destroy refuses", () => {
        const plain = stack.pulumi(["destroy", "--yes", "--skip-preview"], { allowFailure: true, log: "safety-plain-destroy" });
        assert.notStrictEqual(plain.status, 0, "a plain destroy must not silently leak pods");
        assert.match(plain.output, /--run-program/);
        const claims = uids(pvcs(NS, APP));
        stack.destroy();
        assert.deepStrictEqual(kubectl(["get", "pods", "-n", NS, "-o", "name"]).trim(), "", "no pod left");
        assert.deepStrictEqual(uids(pvcs(NS, APP)), claims);
        assert.strictEqual(kubectlJson(["get", "namespace", NS]).status.phase, "Active");
    });
});

describe("Helm mode and switching deploy methods (real pods): volumes and counts survive", function () {
    const NS = "e2e-switch";
    const config = loadShippedConfig("dev");
    config["stateful-apps:namespace"] = NS;
    config["stateful-apps:deployMethod"] = "helm";
    let stack: Stack;

    before(async () => {
        stack = new Stack("switch", config);
        stack.up("switch-helm-up");
        stack.outputs();
        await eventually("2 ready python-app pods", () => readyPods(NS, APP).length === 2);
        await visitThroughService(NS, APP, 10);
    });
    after(() => {
        stack?.destroy();
        stack?.remove();
        cleanupNamespace(NS);
    });

    it("scenario 16 (helm): the preview account of ci/preview-account.yaml previews a change with the deployer's steps and cannot deploy it", () => {
        assertPreviewAccountReadsOnly(stack, NS, config, (c) => stack.writeConfig(c));
    });

    it("Helm mode with pvcRetentionPolicy.whenDeleted Delete and a replacing change (a release replacement would delete every PVC): preview and up --skip-preview are refused naming the key; release, PVCs and counts untouched", () => {
        const helmRevisions = () => kubectl(["get", "secrets", "-n", NS, "-l", `owner=helm,name=${APP}`, "-o", "name"]).trim().split("\n").sort();
        const before = { pvcs: uids(pvcs(NS, APP)), counts: counts(NS), revisions: helmRevisions(), pods: uids(pods(NS, APP)) };
        const risky = clone(config);
        risky["stateful-apps:apps"][APP].pvcRetentionPolicy = { whenDeleted: "Delete", whenScaled: "Retain" };
        risky["stateful-apps:apps"][APP].storageSize = "128Mi";
        stack.writeConfig(risky);
        try {
            for (const args of [["preview"], ["up", "--yes", "--skip-preview"]]) {
                const res = stack.pulumi(args, { allowFailure: true, log: `switch-helm-retention-delete-${args[0]}` });
                assert.notStrictEqual(res.status, 0, `pulumi ${args[0]} refused`);
                assert.match(res.output, /apps\.python-app\.pvcRetentionPolicy\.whenDeleted: got "Delete"; expected Retain with deployMethod helm/);
            }
        } finally {
            stack.writeConfig(config);
        }
        assert.deepStrictEqual({ pvcs: uids(pvcs(NS, APP)), counts: counts(NS), revisions: helmRevisions(), pods: uids(pods(NS, APP)) }, before);
    });

    it("Helm mode storage resize: previewed as a release replacement restarting all pods; same PVCs at the new size, counts kept", async () => {
        const before = { pvcs: uids(pvcs(NS, APP)), counts: counts(NS) };
        config["stateful-apps:apps"][APP].storageSize = "128Mi";
        stack.writeConfig(config);
        const summary = stack.previewSummary("switch-helm-resize-preview")[APP];
        assert.strictEqual(summary.workload, "replaced");
        assert.deepStrictEqual(summary.pvcs.deleted, []);
        stack.up("switch-helm-resize-up");
        await eventually("2 ready pods", () => readyPods(NS, APP).length === 2);
        assert.deepStrictEqual(uids(pvcs(NS, APP)), before.pvcs, "the same PVCs");
        for (const claim of pvcs(NS, APP)) {
            assert.strictEqual(claim.spec.resources.requests.storage, "128Mi", claim.metadata.name);
        }
        assert.deepStrictEqual(counts(NS), before.counts);
    });

    it("switching helm → raw as documented (destroy --run-program, then up): the new StatefulSet re-attaches the same PVCs with their counts", async () => {
        const before = { pvcs: uids(pvcs(NS, APP)), counts: counts(NS) };
        stack.destroy();
        assert.strictEqual(kubectl(["get", "pods", "-n", NS, "-o", "name"]).trim(), "", "no pod left between the steps");
        config["stateful-apps:deployMethod"] = "raw";
        stack.writeConfig(config);
        stack.up("switch-raw-up");
        await eventually("2 ready pods", () => readyPods(NS, APP).length === 2);
        assert.deepStrictEqual(uids(pvcs(NS, APP)), before.pvcs);
        assert.deepStrictEqual(counts(NS), before.counts);
        assert.strictEqual(JSON.parse(kubectl(["get", "statefulset", APP, "-n", NS, "-o", "json"])).metadata.labels["app.kubernetes.io/managed-by"], "pulumi");
    });
});
