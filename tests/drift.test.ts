// npm run drift's report (ci/drift.ts): from a `pulumi preview --refresh --expect-no-changes
// --json`, per app, in the words of the PR summary.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { driftReport } from "../ci/drift";

const fixture = (name: string) => fs.readFileSync(path.join(__dirname, "fixtures", "previews", `${name}.json`), "utf8");

describe("drift report", () => {
    it("no change and exit 0: no drift", () => {
        const r = driftReport("prod", fixture("prod-no-change"), 0);
        assert.deepStrictEqual(r, { drifted: false, text: "✓ prod: no drift: the cluster is as the stack says" });
    });

    it("replicas edited by hand: drift, saying what pulumi up would do to the app", () => {
        // The stack says 5 and the cluster has 3: the preview scales back, as the PR summary words it.
        const r = driftReport("prod", fixture("prod-replicas-3-to-5"), 255);
        assert.strictEqual(r.drifted, true);
        assert.match(r.text, /^✗ prod: drift: the cluster differs from the stack\./);
        assert.match(r.text, /`pulumi up --refresh --stack prod` would:/);
        assert.match(r.text, /\| \*\*python-app\*\* \| StatefulSet updated in place \| no restart; scale 3 → 5 \|/);
    });

    it("a PVC the cluster lost (its resize patch created again) is named as data pulumi up cannot restore; a scale-up is not", () => {
        assert.doesNotMatch(driftReport("prod", fixture("prod-replicas-3-to-5"), 255).text, /is gone from the cluster/);
        const digest = JSON.parse(fixture("prod-no-change"));
        const sts = "urn:pulumi:prod::stateful-apps::stateful-apps:index:StatefulApp$kubernetes:apps/v1:StatefulSet::python-app";
        digest.steps.push({ op: "same", urn: sts, oldState: { inputs: { spec: { replicas: 3 } } }, newState: { inputs: { spec: { replicas: 3 } } } });
        digest.steps.push({ op: "create", urn: "urn:pulumi:prod::stateful-apps::stateful-apps:index:StatefulApp$kubernetes:core/v1:PersistentVolumeClaimPatch::data-python-app-1" });
        digest.changeSummary = { same: 31, create: 1 };
        const r = driftReport("prod", JSON.stringify(digest), 255);
        assert.strictEqual(r.drifted, true);
        assert.match(r.text, /⚠ PVC data-python-app-1 is gone from the cluster, and its data with it; `pulumi up` cannot restore the data/);
    });

    it("pulumi's own verdict counts: exit non-zero with changes it reports only in counts is drift", () => {
        const digest = JSON.parse(fixture("prod-no-change"));
        digest.changeSummary = { same: 30, update: 1 };
        assert.strictEqual(driftReport("prod", JSON.stringify(digest), 255).drifted, true);
    });

    it("names each drifted field with its value in the cluster and in the stack, per app", () => {
        const digest = JSON.parse(fixture("prod-no-change"));
        const parent = "urn:pulumi:prod::stateful-apps::stateful-apps:index:StatefulApp::python-app";
        digest.steps.push({
            op: "update", urn: "urn:pulumi:prod::stateful-apps::stateful-apps:index:StatefulApp$kubernetes:apps/v1:StatefulSet::python-app",
            oldState: { type: "kubernetes:apps/v1:StatefulSet", parent, inputs: { spec: { replicas: 3 } }, outputs: { spec: { replicas: 4, template: { spec: { containers: [{ image: "x:2" }] } } } } },
            newState: { type: "kubernetes:apps/v1:StatefulSet", parent, inputs: { spec: { replicas: 3, template: { spec: { containers: [{ image: "x:1" }] } } } } },
            detailedDiff: { "spec.replicas": { kind: "update" }, "spec.template.spec.containers[0].image": { kind: "update" } },
        }, {
            op: "update", urn: "urn:pulumi:prod::stateful-apps::stateful-apps:index:StatefulApp$kubernetes:core/v1:Service::python-app",
            oldState: { type: "kubernetes:core/v1:Service", parent, outputs: { metadata: { labels: {} } } },
            newState: { type: "kubernetes:core/v1:Service", parent, inputs: { metadata: { labels: { "app.kubernetes.io/part-of": "stateful-apps" } } } },
            detailedDiff: { 'metadata.labels["app.kubernetes.io/part-of"]': { kind: "add" } },
        });
        digest.changeSummary = { same: 31, update: 2 };
        const r = driftReport("prod", JSON.stringify(digest), 255);
        assert.strictEqual(r.drifted, true);
        assert.ok(r.text.includes("- python-app: StatefulSet python-app: spec.replicas is 4 in the cluster, 3 in the stack"), r.text);
        assert.ok(r.text.includes('- python-app: StatefulSet python-app: spec.template.spec.containers[0].image is "x:2" in the cluster, "x:1" in the stack'), r.text);
        assert.ok(r.text.includes('- python-app: Service python-app: metadata.labels["app.kubernetes.io/part-of"] is absent in the cluster, "stateful-apps" in the stack'), r.text);
    });

    it("a failed refresh preview is reported as such, not as no drift", () => {
        assert.match(driftReport("dev", "error: no stack named dev", 255).text, /^✗ dev: the refresh preview failed \(exit 255\) and printed no readable JSON/);
        const failed = JSON.stringify({ steps: [], diagnostics: [{ severity: "error", message: "configured Kubernetes cluster is unreachable" }] });
        assert.match(driftReport("dev", failed, 255).text, /^✗ dev: the refresh preview failed:\n  - configured Kubernetes cluster is unreachable/);
    });
});
