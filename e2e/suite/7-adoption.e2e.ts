// Moving an existing `helm install` of the chart over to the program (README: Moving an existing
// helm install): the release is imported with `pulumi import`, the stack config repeats its
// values, and the first `pulumi up` is one helm upgrade of the same release: the same PVCs, every
// visit kept, and traffic answered throughout.
import * as assert from "assert";
import { execFileSync } from "child_process";
import { randomBytes } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as yaml from "js-yaml";
import {
    cleanupNamespace, eventually, kubectl, kubectlJson, loadShippedConfig, pods, previewSteps, PROJECT_DIR, pvcs, readyPods,
    registerSecret, Stack, steadyTraffic, visitsOnDisk, visitThroughService,
} from "./harness";

const APP = "python-app";
const NS = "e2e-adopt";
const REPLICAS = 3;
/** Not the program's `<app>` Secret: the program creates that one, and would find it taken. */
const LEGACY_SECRET = `${APP}-legacy-token`;
/** The claim template name the helm install was made with, which must be kept (new name: new, empty volumes). */
const CLAIM = "python-pvc";

const helm = (args: string[]) => execFileSync("helm", args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
const countsOf = (): Record<string, number> => Object.fromEntries(pods(NS, APP).map((p) => [p.metadata.name, visitsOnDisk(NS, p.metadata.name)]));
const total = (counts: Record<string, number>) => Object.values(counts).reduce((a, b) => a + b, 0);
const claimUids = () => pvcs(NS, APP, CLAIM).map((c) => `${c.metadata.name}=${c.metadata.uid}`);

describe("adopting an existing helm install of the chart: pulumi import, then pulumi up", function () {
    const config = loadShippedConfig("dev");
    const shipped = config["stateful-apps:apps"][APP];
    // The seed's install: 3 replicas of 100Mi, Parallel, PVCs python-pvc-python-app-N.
    const settings = { ...shipped, replicas: REPLICAS, storageSize: "100Mi", podManagementPolicy: "Parallel", volumeClaimName: CLAIM };
    config["stateful-apps:namespace"] = NS;
    config["stateful-apps:deployMethod"] = "helm";
    config["stateful-apps:apps"] = { [APP]: settings };
    let stack: Stack;

    before(async () => {
        // What a team has before the program: a namespace, a Secret of their own, a helm install.
        kubectl(["create", "namespace", NS]);
        const token = randomBytes(16).toString("hex");
        registerSecret(token);
        kubectl(["create", "secret", "generic", LEGACY_SECRET, "-n", NS, `--from-literal=ADMIN_TOKEN=${token}`]);
        const values = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "adopt-")), "values.yaml");
        fs.writeFileSync(values, yaml.dump({ ...settings, adminTokenSecret: LEGACY_SECRET }));
        helm(["install", APP, path.join(PROJECT_DIR, "charts", "stateful-app"), "-n", NS, "-f", values, "--wait", "--timeout", "5m"]);
        await eventually(`${REPLICAS} ready pods of the helm install`, () => readyPods(NS, APP).length === REPLICAS);
        stack = new Stack("adopt", config);
    });
    after(() => {
        stack?.destroy();
        stack?.remove();
        cleanupNamespace(NS);
    });

    it("scenario 1: the imported release's first update is an upgrade in place: same PVCs, no visit lost, traffic served, then no diff", async () => {
        await visitThroughService(NS, APP, 30);
        const before = countsOf();
        const claims = claimUids();
        assert.strictEqual(claims.length, REPLICAS, `the helm install's PVCs are named ${CLAIM}-${APP}-N`);

        stack.pulumi(["import", `kubernetes:helm.sh/v3:Release`, APP, `${NS}/${APP}`, "--yes", "--protect=false", "--generate-code=false"], { log: "adopt-import" });
        // The plan a reviewer sees: the release updated (not replaced), nothing deleted.
        const steps = previewSteps(stack, "adopt-preview");
        const release = steps.filter((s) => s.type === "kubernetes:helm.sh/v3:Release");
        assert.deepStrictEqual(release.map((s) => s.op), ["update"], JSON.stringify(steps));
        assert.deepStrictEqual(steps.filter((s) => !["create", "update", "same"].includes(s.op)), [], "nothing replaced or deleted");

        // A first up that forgot the claim name: the preview cannot tell (the imported release's
        // values are not the program's to read), but the API server refuses the StatefulSet's new
        // claim template, so helm upgrade fails and nothing is lost.
        const forgot = { ...config, "stateful-apps:apps": { [APP]: { ...settings, volumeClaimName: undefined } } };
        stack.writeConfig(JSON.parse(JSON.stringify(forgot)));
        const refused = stack.pulumi(["up", "--yes", "--skip-preview"], { allowFailure: true, log: "adopt-up-forgot-claim-name" });
        assert.notStrictEqual(refused.status, 0, "an up with another claim name must fail");
        assert.match(refused.output, /Forbidden: updates to statefulset spec for fields other than/);
        assert.deepStrictEqual(claimUids(), claims, "the same PVCs after the refused up");
        assert.deepStrictEqual(countsOf(), before, "every count intact after the refused up");
        stack.writeConfig(config);

        const traffic = steadyTraffic(NS, APP);
        await stack.pulumiAsync(["up", "--yes", "--skip-preview"], { log: "adopt-up" });
        await eventually(`${REPLICAS} ready pods after the upgrade`, () => readyPods(NS, APP).length === REPLICAS);
        const { ok, failed } = await traffic.stop();

        assert.deepStrictEqual(claimUids(), claims, "the same PVCs, bound again");
        const after = countsOf();
        for (const pod of Object.keys(before)) {
            assert.ok(after[pod] >= before[pod], `${pod}: ${after[pod]} visits now, ${before[pod]} before`);
        }
        assert.ok(ok >= 20, `enough traffic to judge (${ok} answered)`);
        assert.strictEqual(total(after) - total(before), ok, "every visit answered during the update is counted in some pod's file");
        assert.ok(failed / (ok + failed) < 0.01, `${failed} of ${ok + failed} requests failed`);

        // The same release, upgraded (revision 2: the refused upgrade), its pods now reading the program's Secret.
        const history = JSON.parse(helm(["history", APP, "-n", NS, "-o", "json"]));
        assert.deepStrictEqual(history.map((h: any) => [h.revision, h.status]), [[1, "superseded"], [2, "failed"], [3, "deployed"]]);
        const env = pods(NS, APP)[0].spec.containers[0].env.find((e: any) => e.name === "ADMIN_TOKEN");
        assert.strictEqual(env.valueFrom.secretKeyRef.name, APP);
        assert.strictEqual(kubectlJson(["get", "statefulset", APP, "-n", NS]).spec.volumeClaimTemplates[0].metadata.name, CLAIM);
        // One rolling update (the Secret's name is in the pod template), no more: two revisions.
        const revisions = kubectlJson(["get", "controllerrevisions", "-n", NS, "-l", `app.kubernetes.io/instance=${APP}`]).items;
        assert.strictEqual(revisions.length, 2, "the install's pod template and the program's");

        stack.preview(["--expect-no-changes"], "adopt-preview-after");
    });
});
