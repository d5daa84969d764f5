// Scenarios 2, 4, 7 and 14 on the prod stack (raw): the pull-request preview of a replicas
// change, a canary rollout with a partition, a rolling update under traffic, and a PR-like change
// stopped by the policy pack.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import {
    ARTIFACTS_DIR, cleanupNamespace, clone, eventually, httpRequest, kubectl, loadShippedConfig, pods, previewSteps, PROJECT_DIR, readyPods,
    Stack, steadyTraffic, visitsOnDisk,
} from "./harness";
import { parsePolicyViolations, renderComment, summarizePreview } from "../../ci/preview-summary";

const NS = "e2e-prod";
const APP = "python-app";

/** The app version a pod serves (`GET /visits` on the pod itself, not through the Service). */
async function versionServedBy(pod: any): Promise<string> {
    const port = pod.spec.containers[0].ports[0].containerPort;
    const res = await httpRequest(`http://${pod.status.podIP}:${port}/visits`);
    return JSON.parse(res.body).version;
}

describe("prod stack (raw)", function () {
    const config = loadShippedConfig("prod");
    config["stateful-apps:namespace"] = NS;
    let stack: Stack;

    before(() => {
        stack = new Stack("prod-e2e", config);
        stack.up();
        stack.outputs(); // registers the generated tokens: no later output may contain them
    });
    after(() => {
        stack?.destroy();
        stack?.remove();
        cleanupNamespace(NS);
    });

    it("scenario 2: replicas 3→5 via `pulumi config set --path` previews as an in-place StatefulSet update plus size patches for the 2 new PVCs; no replace, no delete", () => {
        stack.setPath("apps.python-app.replicas", "5");
        const text = stack.preview([], "prod-preview-replicas-3-to-5").output;
        fs.writeFileSync(path.join(ARTIFACTS_DIR, "pr-preview-replicas-3-to-5.txt"), text);
        assert.match(text, /~ kubernetes:apps\/v1:StatefulSet: \(update\)\s*\n\s*\[id=e2e-prod\/python-app\]/);
        assert.match(text, /replicas\s*:\s*3 => 5/);

        const steps = previewSteps(stack, "prod-preview-replicas-json").filter((s) => s.op !== "same");
        const summary = steps.map((s) => `${s.op} ${s.type} ${s.name}`).sort();
        assert.deepStrictEqual(summary, [
            "create kubernetes:core/v1:PersistentVolumeClaimPatch data-python-app-3",
            "create kubernetes:core/v1:PersistentVolumeClaimPatch data-python-app-4",
            "update kubernetes:apps/v1:StatefulSet python-app",
        ]);
        assert.ok(!steps.some((s) => /replace|delete/.test(s.op)), "no replace, no delete");
        // What the PR comment's summary says about it.
        const comment = stack.previewSummary("prod-preview-replicas-summary")[APP];
        assert.strictEqual(comment.workload, "updated");
        assert.strictEqual(comment.podRestarts, "none");
        assert.deepStrictEqual([...comment.pvcs.created].sort(), ["data-python-app-3", "data-python-app-4"]);
        stack.writeConfig(config); // back to 3: the PR is only previewed
    });

    it("scenario 14: a PR-like change the policy pack forbids (PVC retention Delete in production) stops preview and up before anything changes; the PR comment shows the violation", () => {
        // The stack is named prod-e2e: the pack's production rules are told it is production.
        const policyConfig = path.join(ARTIFACTS_DIR, "policy-config.json");
        fs.writeFileSync(policyConfig, JSON.stringify({ "no-pvc-delete-in-production": { productionStacks: ["prod-e2e"] } }));
        const pack = ["--policy-pack", path.join(PROJECT_DIR, "policy"), "--policy-pack-config", policyConfig];
        const snapshot = () => kubectl(["get", "statefulset,service,pvc,secret,pdb", "-n", NS, "-o", "jsonpath={range .items[*]}{.metadata.name}={.metadata.resourceVersion} {end}"]);
        const before = snapshot();
        assert.strictEqual(stack.pulumi(["preview", ...pack], { log: "prod-policy-clean-preview" }).status, 0, "the shipped prod config passes the pack");

        const risky = clone(config);
        risky["stateful-apps:apps"][APP].pvcRetentionPolicy = { whenDeleted: "Retain", whenScaled: "Delete" };
        stack.writeConfig(risky);
        const preview = stack.pulumi(["preview", "--diff", ...pack], { allowFailure: true, log: "prod-policy-preview" });
        assert.notStrictEqual(preview.status, 0);
        assert.match(preview.output, /\[mandatory\]\s+no-pvc-delete-in-production/);
        const up = stack.pulumi(["up", "--yes", "--skip-preview", ...pack], { allowFailure: true, log: "prod-policy-up" });
        assert.notStrictEqual(up.status, 0);
        assert.match(up.output, /no-pvc-delete-in-production/);
        assert.strictEqual(snapshot(), before, "nothing changed in the cluster");
        const violations = parsePolicyViolations(preview.output);
        assert.ok(violations.some((v) => v.policy === "no-pvc-delete-in-production" && v.level === "mandatory"), JSON.stringify(violations));
        const comment = renderComment({ summary: summarizePreview(stack.pulumi(["preview", "--json"], { log: "prod-policy-preview-json" }).output), diff: preview.output, stack: "prod" });
        assert.match(comment, /no-pvc-delete-in-production/);
        fs.writeFileSync(path.join(ARTIFACTS_DIR, "pr-preview-policy-stop.md"), comment);
        stack.writeConfig(config);
    });

    it("scenario 4: a canary (partition = replicas-1) completes and updates only the highest ordinal", async () => {
        const oldImage = config["stateful-apps:apps"][APP].image;
        const newImage = oldImage.replace(/:[^:]+$/, ":0.2.0");
        config["stateful-apps:apps"][APP].updateStrategy = { type: "RollingUpdate", partition: 2 };
        stack.writeConfig(config);
        stack.up("prod-canary-partition");
        config["stateful-apps:apps"][APP].image = newImage;
        stack.writeConfig(config);
        assert.strictEqual(stack.previewSummary("prod-canary-summary")[APP].podRestarts, "partition>=2");
        const started = Date.now();
        stack.up("prod-canary-image");
        assert.ok(Date.now() - started < 5 * 60 * 1000, "pulumi up did not wait for a full rollout");
        const image = (p: any) => p.spec.containers[0].image;
        await eventually("the canary pod runs the new image", () =>
            readyPods(NS, APP).length === 3 && image(pods(NS, APP)[2]) === newImage);
        assert.deepStrictEqual(pods(NS, APP).map(image), [oldImage, oldImage, newImage]);
        // What the pods serve, asked of each pod directly: only the highest ordinal is new.
        assert.deepStrictEqual(await Promise.all(pods(NS, APP).map(versionServedBy)), ["0.1.0", "0.1.0", "0.2.0"]);
    });

    it("scenario 7: a rolling update under steady traffic loses no answered visit and fails < 1% of requests", async () => {
        const counts = () => pods(NS, APP).reduce((sum, p) => sum + visitsOnDisk(NS, p.metadata.name), 0);
        const before = counts();
        const traffic = steadyTraffic(NS, APP);
        config["stateful-apps:apps"][APP].updateStrategy = { type: "RollingUpdate", partition: 0 };
        stack.writeConfig(config);
        await stack.pulumiAsync(["up", "--yes", "--skip-preview"], { log: "prod-rolling-update-under-traffic" });
        // `pulumi up` returns only when the rollout is done (the StatefulSet's pulumi.com/waitFor),
        // not as soon as the controller has been told (the provider's own await did that).
        assert.deepStrictEqual(pods(NS, APP).map((p) => p.spec.containers[0].image), Array(3).fill(config["stateful-apps:apps"][APP].image), "every pod on the new image when up returns");
        assert.strictEqual(readyPods(NS, APP).length, 3, "every pod ready when up returns");
        const { ok, failed } = await traffic.stop();
        assert.ok(ok >= 100, `enough traffic to judge (${ok} answered)`);
        assert.strictEqual(counts() - before, ok, "every answered visit is counted in some pod's file");
        assert.ok(failed / (ok + failed) < 0.01, `${failed} of ${ok + failed} requests failed`);
        assert.deepStrictEqual(await Promise.all(pods(NS, APP).map(versionServedBy)), ["0.2.0", "0.2.0", "0.2.0"]);
    });
});
