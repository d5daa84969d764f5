// Scenarios 3, 3b, 5, 6, 7, 8, 9 and 15 on one running dev stack (raw mode): pod deletion, Pod
// Security enforcement, bad config, storage resize, scale to 0 and back, OnDelete updates.
import * as assert from "assert";
import { clone, deletePodAndAwaitReplacement, eventually, kubectl, kubectlJson, loadShippedConfig, LOCAL_IMAGES, pods, previewSteps, pvcs, readyPods, Stack, cleanupNamespace, visitPod, visitsOnDisk } from "./harness";

const NS = "e2e-lifecycle";
const APP = "python-app";
const uidsByName = (items: any[]) => Object.fromEntries(items.map((i) => [i.metadata.name, i.metadata.uid]));

describe("running dev stack (raw)", function () {
    const config = loadShippedConfig("dev");
    config["stateful-apps:namespace"] = NS;
    config["stateful-apps:apps"][APP].replicas = 2;
    let stack: Stack;

    before(() => {
        stack = new Stack("lifecycle", config);
        stack.up();
    });
    after(() => {
        stack?.destroy();
        stack?.remove();
        cleanupNamespace(NS);
    });

    it("scenario 6: a deleted pod comes back with the same name and the same PVC", async () => {
        await eventually("2 ready pods", () => readyPods(NS, APP).length === 2);
        const before = uidsByName(pvcs(NS, APP));
        const newPod = await deletePodAndAwaitReplacement(NS, APP, `${APP}-1`);
        assert.strictEqual(newPod.spec.volumes.find((v: any) => v.name === "data").persistentVolumeClaim.claimName, `data-${APP}-1`);
        assert.deepStrictEqual(uidsByName(pvcs(NS, APP)), before);
    });

    it("scenario 7: the namespace enforces Pod Security restricted; the apps' pods are admitted, a privileged pod is not", () => {
        const labels = kubectlJson(["get", "namespace", NS]).metadata.labels;
        assert.strictEqual(labels["pod-security.kubernetes.io/enforce"], "restricted");
        assert.strictEqual(pods(NS, APP).length, 2);
        assert.strictEqual(pods(NS, "js-app").length, 1);
        const rejected = kubectl(["run", "not-compliant", "-n", NS, "--image=busybox:1.36", "--restart=Never",
            "--overrides", JSON.stringify({ spec: { containers: [{ name: "c", image: "busybox:1.36", securityContext: { privileged: true } }] } })],
            { allowFailure: true });
        assert.match(rejected, /violates PodSecurity "restricted/);
        assert.match(kubectl(["get", "pods", "-n", NS, "-o", "name"]), /^(?!.*not-compliant)/s);
    });

    it("scenario 8: invalid config, and a namespace change of deployed apps, fail preview and up with the program's message, and the cluster is unchanged", () => {
        const snapshot = () => kubectl(["get", "statefulset,service,pvc,secret", "-n", NS, "-o", "jsonpath={range .items[*]}{.metadata.name}={.metadata.resourceVersion} {end}"]);
        const before = snapshot();
        const cases: [Record<string, unknown>, RegExp][] = [
            [{ replicas: -1 }, /stateful-apps:apps\.python-app\.replicas: got -1; expected an integer from 0 to 1000/],
            [{ storageSize: "lots" }, /stateful-apps:apps\.python-app\.storageSize: got "lots"/],
            [{ updateStrategy: { type: "OnDelete", partition: 1 } }, /updateStrategy\.partition: got 1; expected no partition with updateStrategy\.type OnDelete/],
            [{ replica: 3 }, /stateful-apps:apps\.python-app\.replica: unknown key/],
        ];
        for (const [bad, message] of cases) {
            const broken = clone(config);
            Object.assign(broken["stateful-apps:apps"][APP], bad);
            stack.writeConfig(broken);
            for (const cmd of [["preview"], ["up", "--yes"]]) {
                const res = stack.pulumi(cmd, { allowFailure: true, log: `lifecycle-bad-config-${cmd[0]}` });
                assert.notStrictEqual(res.status, 0);
                assert.match(res.output, message);
            }
        }
        // Moving deployed apps to another namespace would give them new, empty volumes (issue 20.2).
        const moved = `${NS}-moved`;
        stack.writeConfig({ ...clone(config), "stateful-apps:namespace": moved });
        for (const cmd of [["preview"], ["up", "--yes"]]) {
            const res = stack.pulumi(cmd, { allowFailure: true, log: `lifecycle-namespace-change-${cmd[0]}` });
            assert.notStrictEqual(res.status, 0);
            assert.match(res.output, new RegExp(`stateful-apps:namespace: got "${moved}"; expected "${NS}", where js-app, python-app are deployed with their volumes`));
        }
        assert.match(kubectl(["get", "namespace", moved], { allowFailure: true }), /NotFound/);
        stack.writeConfig(config);
        assert.strictEqual(snapshot(), before);
    });

    it("scenario 3: resizing storage keeps every PVC (same UID, new size) and every pod", async () => {
        const pvcsBefore = uidsByName(pvcs(NS, APP));
        const podsBefore = uidsByName(pods(NS, APP));
        const stsBefore = kubectlJson(["get", "statefulset", APP, "-n", NS]).metadata.uid;
        const resized = clone(config);
        resized["stateful-apps:apps"][APP].storageSize = "128Mi";
        stack.writeConfig(resized);
        const steps = previewSteps(stack, "lifecycle-resize-preview").filter((s) => s.op !== "same");
        assert.deepStrictEqual(steps.map((s) => `${s.op} ${s.type} ${s.name}`).sort(), [
            "replace kubernetes:apps/v1:StatefulSet python-app",
            "replace random:index/randomId:RandomId python-app-replacement",
            "update kubernetes:core/v1:PersistentVolumeClaimPatch data-python-app-0",
            "update kubernetes:core/v1:PersistentVolumeClaimPatch data-python-app-1",
        ]);
        const summary = stack.previewSummary("lifecycle-resize-summary")[APP];
        assert.strictEqual(summary.workload, "replaced");
        assert.strictEqual(summary.podRestarts, "none");
        assert.deepStrictEqual(summary.pvcs.resized.map((r) => r.name).sort(), [`data-${APP}-0`, `data-${APP}-1`]);
        stack.up("lifecycle-resize-up");

        const live = kubectlJson(["get", "statefulset", APP, "-n", NS]);
        assert.notStrictEqual(live.metadata.uid, stsBefore, "the StatefulSet was replaced");
        assert.strictEqual(live.spec.volumeClaimTemplates[0].spec.resources.requests.storage, "128Mi");
        assert.deepStrictEqual(uidsByName(pvcs(NS, APP)), pvcsBefore, "same PVCs");
        for (const claim of pvcs(NS, APP)) {
            assert.strictEqual(claim.spec.resources.requests.storage, "128Mi", claim.metadata.name);
        }
        assert.deepStrictEqual(uidsByName(pods(NS, APP)), podsBefore, "pods were orphaned and re-adopted, not deleted");
        for (const pod of pods(NS, APP)) {
            assert.strictEqual(pod.metadata.ownerReferences?.[0]?.uid, live.metadata.uid, `${pod.metadata.name} adopted`);
        }
        config["stateful-apps:apps"][APP].storageSize = "128Mi";
        assert.deepStrictEqual(previewSteps(stack, "lifecycle-resize-preview-again").filter((s) => s.op !== "same"), []);
    });

    it("scenario 3b: under --skip-preview a refused resize or a shrink fails before the StatefulSet is replaced", () => {
        const stsBefore = kubectlJson(["get", "statefulset", APP, "-n", NS]).metadata.uid;
        const pvcsBefore = uidsByName(pvcs(NS, APP));
        const unchanged = (what: string) => {
            const live = kubectlJson(["get", "statefulset", APP, "-n", NS]);
            assert.strictEqual(live.metadata.uid, stsBefore, `${what}: the StatefulSet was not replaced`);
            assert.strictEqual(live.spec.volumeClaimTemplates[0].spec.resources.requests.storage, "128Mi", what);
            assert.deepStrictEqual(uidsByName(pvcs(NS, APP)), pvcsBefore, what);
            for (const claim of pvcs(NS, APP)) {
                assert.strictEqual(claim.spec.resources.requests.storage, "128Mi", `${what}: ${claim.metadata.name}`);
            }
        };
        // The API server refuses the PVC patch (PersistentVolumeClaimResize admission) once the
        // StorageClass no longer allows expansion; the patches of existing PVCs come first.
        const grown = clone(config);
        grown["stateful-apps:apps"][APP].storageSize = "256Mi";
        stack.writeConfig(grown);
        kubectl(["patch", "storageclass", "standard", "--type=merge", "-p", '{"allowVolumeExpansion":false}']);
        try {
            const res = stack.pulumi(["up", "--yes", "--skip-preview"], { allowFailure: true, log: "lifecycle-resize-refused-up" });
            assert.notStrictEqual(res.status, 0);
            assert.match(res.output, /must support resize|can be resized/);
        } finally {
            kubectl(["patch", "storageclass", "standard", "--type=merge", "-p", '{"allowVolumeExpansion":true}']);
        }
        unchanged("refused expansion");
        // A shrink is refused by the program itself, against the size the stack deployed.
        const shrunk = clone(config);
        shrunk["stateful-apps:apps"][APP].storageSize = "64Mi";
        stack.writeConfig(shrunk);
        const res = stack.pulumi(["up", "--yes", "--skip-preview"], { allowFailure: true, log: "lifecycle-shrink-up" });
        assert.notStrictEqual(res.status, 0);
        assert.match(res.output, /stateful-apps:apps\.python-app\.storageSize: got "64Mi"; expected at least "128Mi", the size deployed/);
        unchanged("shrink");
        stack.writeConfig(config);
        stack.up("lifecycle-after-refused-resize");
        assert.strictEqual(kubectlJson(["get", "statefulset", APP, "-n", NS]).metadata.uid, stsBefore);
    });

    it("scenario 9: scale to 0 keeps the PVCs; scaling back re-attaches the same PVCs", async () => {
        const pvcsBefore = uidsByName(pvcs(NS, APP));
        config["stateful-apps:apps"][APP].replicas = 0;
        stack.writeConfig(config);
        stack.up("lifecycle-scale-0");
        await eventually("no pods", () => pods(NS, APP).length === 0);
        assert.deepStrictEqual(uidsByName(pvcs(NS, APP)), pvcsBefore);
        assert.deepStrictEqual(stack.outputs().apps[APP].podDnsNames, []);

        config["stateful-apps:apps"][APP].replicas = 2;
        stack.writeConfig(config);
        stack.up("lifecycle-scale-2");
        await eventually("2 ready pods", () => readyPods(NS, APP).length === 2);
        assert.deepStrictEqual(uidsByName(pvcs(NS, APP)), pvcsBefore);
        for (const pod of pods(NS, APP)) {
            const claim = pod.spec.volumes.find((v: any) => v.name === "data").persistentVolumeClaim.claimName;
            assert.strictEqual(claim, `data-${pod.metadata.name}`);
        }
    });

    it("scenario 5: OnDelete: up completes, pods keep the old image until deleted, then come back new on the same PVC", async () => {
        config["stateful-apps:apps"][APP].updateStrategy = { type: "OnDelete" };
        stack.writeConfig(config);
        stack.up("lifecycle-ondelete-strategy");
        const oldImage = config["stateful-apps:apps"][APP].image;
        const newImage = oldImage.replace(/:[^:]+$/, ":0.2.0");
        config["stateful-apps:apps"][APP].image = newImage;
        stack.writeConfig(config);
        stack.up("lifecycle-ondelete-image");
        const image = (p: any) => p.spec.containers[0].image;
        assert.deepStrictEqual(pods(NS, APP).map(image), [oldImage, oldImage]);

        const claimUid = pvcs(NS, APP)[0].metadata.uid;
        const back = await deletePodAndAwaitReplacement(NS, APP, `${APP}-0`);
        assert.strictEqual(image(back), newImage);
        assert.strictEqual(image(pods(NS, APP)[1]), oldImage);
        assert.strictEqual(pvcs(NS, APP)[0].metadata.uid, claimUid);
        assert.strictEqual(back.spec.volumes.find((v: any) => v.name === "data").persistentVolumeClaim.claimName, `data-${APP}-0`);
    });
    it("scenario 15: drift made with kubectl (replicas scaled by hand, an image set, a label removed) fails npm run drift naming each; pulumi up --refresh corrects it; the next check passes", () => {
        assert.strictEqual(stack.drift("lifecycle-drift-clean").status, 0, "no drift before");
        kubectl(["scale", "statefulset", APP, "-n", NS, "--replicas=3"]);
        kubectl(["set", "image", "statefulset/js-app", "-n", NS, `app=${LOCAL_IMAGES.of("js-app", LOCAL_IMAGES.tags[1])}`]);
        kubectl(["label", "service", APP, "-n", NS, "app.kubernetes.io/part-of-"]);
        const drift = stack.drift("lifecycle-drift");
        assert.strictEqual(drift.status, 1, drift.output);
        // Each drift by field, as the cluster has it and as the stack says (kept in .e2e-artifacts).
        assert.match(drift.output, /^✗ lifecycle: drift: the cluster differs from the stack\./m);
        assert.match(drift.output, /python-app: StatefulSet python-app: spec\.replicas is 3 in the cluster, 2 in the stack/);
        assert.match(drift.output, /js-app: StatefulSet js-app: \S*image is "[^"]*:0\.2\.0" in the cluster, "[^"]*:0\.1\.0" in the stack/);
        assert.match(drift.output, /python-app: Service python-app: metadata\.labels\S*part-of\S* is absent in the cluster, "stateful-apps" in the stack/);
        // --refresh: a plain up compares with the state, which the kubectl edits did not touch.
        stack.pulumi(["up", "--yes", "--skip-preview", "--refresh"], { log: "lifecycle-drift-corrected" });
        assert.strictEqual(kubectlJson(["get", "statefulset", APP, "-n", NS]).spec.replicas, 2);
        assert.strictEqual(kubectlJson(["get", "statefulset", "js-app", "-n", NS]).spec.template.spec.containers[0].image, LOCAL_IMAGES.of("js-app"));
        assert.strictEqual(kubectlJson(["get", "service", APP, "-n", NS]).metadata.labels["app.kubernetes.io/part-of"], "stateful-apps");
        const again = stack.drift("lifecycle-drift-after-up");
        assert.strictEqual(again.status, 0, again.output);
        assert.match(again.output, /✓ lifecycle: no drift/);
    });
    it("scenario 29: a PVC deleted behind Pulumi's back (its pod scaled away by hand first): npm run drift names it and says its data cannot be restored; pulumi up --refresh brings the replica back on a new, empty claim, the other pod's count intact; the next check passes", async () => {
        await eventually("2 ready pods", () => readyPods(NS, APP).length === 2);
        for (const pod of readyPods(NS, APP)) {
            await visitPod(pod, 3);
        }
        const lost = `${APP}-1`;
        const claim = `data-${lost}`;
        const oldUid = pvcs(NS, APP).find((p) => p.metadata.name === claim)?.metadata.uid;
        const kept = visitsOnDisk(NS, `${APP}-0`);
        assert.ok(oldUid && kept >= 3 && visitsOnDisk(NS, lost) >= 3, "both pods have visits on their claims");
        // A claim in use is only marked for deletion (pvc-protection): the pod goes first, as a user would do it.
        kubectl(["scale", "statefulset", APP, "-n", NS, "--replicas=1"]);
        await eventually(`${lost} gone`, () => !pods(NS, APP).some((p) => p.metadata.name === lost));
        kubectl(["delete", "pvc", claim, "-n", NS, "--wait=true", "--timeout=60s"]);

        const drift = stack.drift("lifecycle-drift-pvc");
        assert.strictEqual(drift.status, 1, drift.output);
        assert.ok(drift.output.includes(`PVC ${claim} is gone from the cluster, and its data with it; \`pulumi up\` cannot restore the data`), drift.output);
        assert.match(drift.output, /python-app: StatefulSet python-app: spec\.replicas is 1 in the cluster, 2 in the stack/);

        // Its resize patch now waits for the StatefulSet (components/lostClaims.ts): before, it ran
        // first, tried to create the claim, and the API server refused the whole update.
        const up = stack.pulumi(["up", "--yes", "--skip-preview", "--refresh"], { log: "lifecycle-drift-pvc-corrected" });
        assert.ok(up.output.includes(`${APP}: PVC ${claim} is gone from the cluster, and its data with it; pulumi up cannot restore the data`), up.output);
        await eventually("2 ready pods again", () => readyPods(NS, APP).length === 2);
        const renewed = pvcs(NS, APP).find((p) => p.metadata.name === claim);
        assert.ok(renewed && renewed.metadata.uid !== oldUid, `${claim} is a new claim (uid ${renewed?.metadata.uid}, was ${oldUid})`);
        assert.strictEqual(visitsOnDisk(NS, lost), 0, `${lost} starts empty: its visits went with its claim`);
        assert.strictEqual(visitsOnDisk(NS, `${APP}-0`), kept, `${APP}-0's count intact`);
        const again = stack.drift("lifecycle-drift-pvc-after-up");
        assert.strictEqual(again.status, 0, again.output);
    });
});
