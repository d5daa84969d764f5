// The PR comment's summary (ci/preview-summary) on recorded previews (tests/fixtures/previews)
// and on variants of them: what happens to each app's workload, pods and PVCs.
import * as assert from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
    AppSummary, parsePreviewJson, PreviewDigest, PreviewStep, renderComment, renderSummaryMarkdown,
    summarizePreview, summaryByApp, UNKNOWN_VALUE,
} from "../ci/preview-summary";
import { parseQuantity } from "../components/quantity";
import { clone, PROJECT_DIR } from "../tools/project";

const FIXTURES = path.join(__dirname, "fixtures", "previews");

/** Every recorded preview, by file name without `.json`. */
const fixtureNames = () => fs.readdirSync(FIXTURES).filter((f) => f.endsWith(".json") && !f.endsWith(".expected.json")).map((f) => f.slice(0, -".json".length)).sort();
const load = (name: string): PreviewDigest => JSON.parse(fs.readFileSync(path.join(FIXTURES, `${name}.json`), "utf8"));

/** The step whose URN ends with `type::name`. */
function step(digest: PreviewDigest, type: string, name: string): PreviewStep {
    const found = (digest.steps ?? []).filter((s) => s.urn.endsWith(`${type}::${name}`));
    assert.strictEqual(found.length, 1, `one step for ${type}::${name}`);
    return found[0];
}
const STS = "kubernetes:apps/v1:StatefulSet";
const RELEASE = "kubernetes:helm.sh/v3:Release";

/** Asserts that `actual` has every key of `expected` with the same value (deeply, arrays exactly). */
function assertSubset(actual: any, expected: any, at: string) {
    if (expected && typeof expected === "object" && !Array.isArray(expected)) {
        assert.ok(actual && typeof actual === "object", `${at}: expected an object, got ${JSON.stringify(actual)}`);
        for (const [k, v] of Object.entries(expected)) {
            assertSubset(actual[k], v, `${at}.${k}`);
        }
        return;
    }
    assert.deepStrictEqual(actual, expected, at);
}

describe("preview summary: recorded previews", () => {
    it("there are recorded previews", () => {
        assert.ok(fixtureNames().length >= 7, fixtureNames().join(", "));
    });

    for (const name of fixtureNames()) {
        it(`${name}: summarized and rendered${fs.existsSync(path.join(FIXTURES, `${name}.expected.json`)) ? " as expected" : ""}`, () => {
            const text = fs.readFileSync(path.join(FIXTURES, `${name}.json`), "utf8");
            const summary = summarizePreview(text);
            const expectedFile = path.join(FIXTURES, `${name}.expected.json`);
            if (fs.existsSync(expectedFile)) {
                const expected = JSON.parse(fs.readFileSync(expectedFile, "utf8"));
                const { apps, ...rest } = expected;
                assertSubset(summary, rest, name);
                const byApp = Object.fromEntries(summary.apps.map((a) => [a.app, a]));
                for (const [app, fields] of Object.entries(apps ?? {})) {
                    assertSubset(byApp[app], fields, `${name}: ${app}`);
                }
            }
            const md = renderSummaryMarkdown(summary, { stack: "s" });
            assert.match(md, /^### /);
            assert.ok(!md.includes(UNKNOWN_VALUE), "no unknown-value placeholder in the text");
        });
    }
});

describe("preview summary: what the reviewer reads", () => {
    it("replicas 3→5: in place, no restart, two new PVCs named", () => {
        const md = renderSummaryMarkdown(summarizePreview(load("prod-replicas-3-to-5")), { stack: "prod" });
        assert.match(md, /^### Preview `prod`: 2 to create, 1 to update/);
        assert.match(md, /\| \*\*python-app\*\* \| StatefulSet updated in place \| no restart; scale 3 → 5 \| 2 created \(`data-python-app-3`, `data-python-app-4`\) \| – \|/);
        assert.match(md, /Unchanged: \*\*js-app\*\*/);
        assert.doesNotMatch(md, /⚠️/);
    });

    it("storage resize: replaced with pods kept, PVCs resized, nothing deleted", () => {
        const md = renderSummaryMarkdown(summarizePreview(load("dev-storage-resize")));
        assert.match(md, /StatefulSet \*\*replaced\*\* \(pods kept\) \| no restart \| 2 resized 64Mi → 128Mi \| – \|/);
        assert.match(md, /orphan propagation: its pods keep running and the new StatefulSet adopts them/);
        assert.doesNotMatch(md, /⚠️/);
    });

    it("canary: only the ordinals at or above the partition", () => {
        const md = renderSummaryMarkdown(summarizePreview(load("prod-image-canary-partition-2")));
        assert.match(md, /canary: only ordinals ≥ 2 restart/);
        assert.match(md, /Pod template changes: containers\[0\]\.image\./);
    });

    it("OnDelete: none until deleted", () => {
        assert.match(renderSummaryMarkdown(summarizePreview(load("prod-image-ondelete"))), /none until deleted \(OnDelete\)/);
    });

    it("app removal: the StatefulSet and the app's objects deleted, pods left running is a warning, PVCs kept", () => {
        const md = renderSummaryMarkdown(summarizePreview(load("prod-remove-js-app")));
        assert.match(md, /\| \*\*js-app\*\* \| ⚠️ StatefulSet \*\*deleted\*\* \| ⚠️ \*\*left running\*\* \(orphaned\) \| kept \| `Secret js-app`, /);
        assert.match(md, /- ⚠️ \*\*js-app\*\*: The StatefulSet is deleted with orphan propagation/);
        assert.match(md, /dropped from Pulumi, kept in the cluster: PersistentVolumeClaimPatch data-js-app-2/);
    });

    it("Helm value change: release upgraded in place, rolling restart, changed values named", () => {
        const md = renderSummaryMarkdown(summarizePreview(load("staging-helm-image")));
        assert.match(md, /Helm release upgraded in place \| \*\*rolling restart\*\*, one by one \| untouched \|/);
        assert.match(md, /Changed values: image\./);
    });

    it("a changed secret value (only the Secret's data hash in the template) says: rolling restart: secret changed, in both modes", () => {
        const helm = load("staging-helm-image");
        const release = helm.steps!.find((st) => st.op === "update")!;
        release.newState!.inputs!.values.image = release.oldState!.inputs!.values.image;
        release.oldState!.inputs!.values.secretChecksum = "aaaa";
        release.newState!.inputs!.values.secretChecksum = "bbbb";
        release.detailedDiff = { "values.secretChecksum": { kind: "update" } } as any;
        const helmMd = renderSummaryMarkdown(summarizePreview(helm));
        assert.match(helmMd, /\*\*rolling restart\*\*/);
        assert.match(helmMd, /Rolling restart: secret changed/);

        const raw = load("prod-image-ondelete");
        const sts = raw.steps!.find((st) => st.op === "update")!;
        const annotations = (st: any) => ((st.inputs.spec.template.metadata ??= {}).annotations ??= {});
        sts.newState!.inputs!.spec.template.spec.containers[0].image = sts.oldState!.inputs!.spec.template.spec.containers[0].image;
        annotations(sts.oldState)["stateful-apps.dev/secret-checksum"] = "aaaa";
        annotations(sts.newState)["stateful-apps.dev/secret-checksum"] = "bbbb";
        sts.detailedDiff = { 'spec.template.metadata.annotations["stateful-apps.dev/secret-checksum"]': { kind: "update" } } as any;
        assert.match(renderSummaryMarkdown(summarizePreview(raw)), /Rolling restart: secret changed/);
        // An image change alone says nothing about secrets.
        assert.doesNotMatch(renderSummaryMarkdown(summarizePreview(load("staging-helm-image"))), /secret changed/);
    });

    it("no change: one line", () => {
        assert.strictEqual(renderSummaryMarkdown(summarizePreview(load("prod-no-change")), { stack: "prod" }), "### Preview `prod`: no changes\n");
    });

    it("no change: the program's read of its own stack outputs is not a change", () => {
        const digest = load("prod-no-change");
        digest.steps!.push({ op: "read", urn: "urn:pulumi:prod::stateful-apps::pulumi:pulumi:StackReference::organization/stateful-apps/prod" } as any);
        digest.changeSummary = { ...digest.changeSummary, read: 1 };
        assert.strictEqual(renderSummaryMarkdown(summarizePreview(digest), { stack: "prod" }), "### Preview `prod`: no changes\n");
    });
});

describe("preview summary: pods", () => {
    it("a replacement without the orphan annotation restarts all pods at once; whenDeleted Delete also loses the PVCs", () => {
        const digest = load("dev-storage-resize");
        const sts = step(digest, STS, "python-app");
        delete sts.oldState!.inputs!.metadata.annotations["pulumi.com/deletionPropagationPolicy"];
        delete sts.oldState!.outputs!.metadata.annotations["pulumi.com/deletionPropagationPolicy"];
        let app = summaryByApp(digest)["python-app"];
        assert.strictEqual(app.podRestarts, "all-at-once");
        assert.deepStrictEqual(app.pvcs.deleted, []);
        assert.match(app.warnings.join(" "), /all its pods are deleted at once/);

        sts.oldState!.inputs!.spec.persistentVolumeClaimRetentionPolicy.whenDeleted = "Delete";
        app = summaryByApp(digest)["python-app"];
        assert.deepStrictEqual(app.pvcs.deleted, ["data-python-app-0", "data-python-app-1"]);
        assert.match(renderSummaryMarkdown(summarizePreview(digest)), /⚠️ \*\*2 deleted\*\*/);
    });

    it("a replacement that also changes the pod template keeps the pods, then rolls them", () => {
        const digest = load("dev-storage-resize");
        step(digest, STS, "python-app").newState!.inputs!.spec.template.spec.containers[0].image = "ghcr.io/stateful-apps/python-app:0.2.0";
        const app = summaryByApp(digest)["python-app"];
        assert.strictEqual(app.workload, "replaced");
        assert.strictEqual(app.podRestarts, "rolling");
    });

    it("the split replacement steps of --show-replacement-steps give the same summary", () => {
        const digest = load("dev-storage-resize");
        const split: PreviewStep[] = [];
        for (const s of digest.steps!) {
            if (s.op === "replace") {
                split.push({ ...clone(s), op: "delete-replaced", newState: undefined }, s, { ...clone(s), op: "create-replacement", oldState: undefined });
            } else {
                split.push(s);
            }
        }
        assert.deepStrictEqual(summarizePreview({ ...digest, steps: split }).apps, summarizePreview(load("dev-storage-resize")).apps);
    });

    it("a replacement where only the halves are listed still counts as one", () => {
        const digest = load("dev-storage-resize");
        digest.steps = digest.steps!.flatMap((s) => s.op === "replace"
            ? [{ ...clone(s), op: "delete-replaced", newState: undefined }, { ...clone(s), op: "create-replacement", oldState: undefined }]
            : [s]);
        const app = summaryByApp(digest)["python-app"];
        assert.strictEqual(app.workload, "replaced");
        assert.strictEqual(app.podRestarts, "none");
    });

    it("a partition at or above replicas updates no pod", () => {
        const digest = load("prod-image-canary-partition-2");
        for (const s of [step(digest, STS, "python-app").oldState!, step(digest, STS, "python-app").newState!]) {
            s.inputs!.spec.updateStrategy.rollingUpdate.partition = 3;
        }
        const app = summaryByApp(digest)["python-app"];
        assert.strictEqual(app.podRestarts, "none");
        assert.match(app.notes.join(" "), /partition 3 ≥ replicas 3/);
    });

    it("lowering the partition rolls the pods still on the old revision, and nothing when none is", () => {
        const digest = load("prod-replicas-3-to-5");
        const sts = step(digest, STS, "python-app");
        sts.newState!.inputs!.spec.replicas = 3;
        sts.oldState!.inputs!.spec.updateStrategy.rollingUpdate.partition = 2;
        sts.oldState!.outputs!.status.currentRevision = "python-app-5f7d9c8b6d"; // a canary left pods behind
        digest.steps = digest.steps!.filter((s) => s.op !== "create");
        assert.strictEqual(summaryByApp(digest)["python-app"].podRestarts, "rolling");

        sts.oldState!.outputs!.status.currentRevision = sts.oldState!.outputs!.status.updateRevision;
        assert.strictEqual(summaryByApp(digest)["python-app"].podRestarts, "none");
    });

    it("replicas, strategy, retention or annotations alone restart no pod", () => {
        const digest = load("prod-replicas-3-to-5");
        const spec = step(digest, STS, "python-app").newState!.inputs!.spec;
        spec.persistentVolumeClaimRetentionPolicy.whenScaled = "Delete";
        spec.updateStrategy.rollingUpdate.partition = 1;
        step(digest, STS, "python-app").newState!.inputs!.metadata.annotations["pulumi.com/waitFor"] = "jsonpath={.status.readyReplicas}=5";
        assert.strictEqual(summaryByApp(digest)["python-app"].podRestarts, "none");
    });

    it("an unknown value in the new pod template is taken as a change", () => {
        const digest = load("prod-image-canary-partition-2");
        const sts = step(digest, STS, "python-app");
        sts.oldState!.inputs!.spec.updateStrategy.rollingUpdate.partition = 0;
        sts.newState!.inputs!.spec.updateStrategy.rollingUpdate.partition = 0;
        sts.newState!.inputs!.spec.template.spec.containers[0].image = UNKNOWN_VALUE;
        const app = summaryByApp(digest)["python-app"];
        assert.strictEqual(app.podRestarts, "rolling");
        assert.match(app.notes.join(" "), /cannot tell whether the pod template changes/);
    });

    it("without states, the detailed diff decides", () => {
        const digest = load("prod-image-canary-partition-2");
        const sts = step(digest, STS, "python-app");
        delete sts.oldState!.inputs;
        delete sts.newState!.inputs;
        let app = summaryByApp(digest)["python-app"];
        assert.strictEqual(app.workload, "updated");
        assert.strictEqual(app.podRestarts, "rolling", "a template change, no strategy: assume a restart");

        sts.detailedDiff = { "spec.replicas": { kind: "update", inputDiff: false } };
        app = summaryByApp(digest)["python-app"];
        assert.strictEqual(app.podRestarts, "none");
    });

    it("app removal: an after-delete hook on the component deletes the pods", () => {
        const digest = load("prod-remove-js-app");
        step(digest, "stateful-apps:index:StatefulApp", "js-app").oldState!.resourceHooks = { AfterDelete: ["js-app-delete-pods"] };
        const app = summaryByApp(digest)["js-app"];
        assert.strictEqual(app.podRestarts, "deleted");
        assert.deepStrictEqual(app.warnings, []);
        assert.match(app.notes.join(" "), /after-delete hook \(js-app-delete-pods\)/);
    });

    it("app removal: the hook also deletes the PVCs when the component's outputs say deletePvcs", () => {
        const digest = load("prod-remove-js-app");
        const component = step(digest, "stateful-apps:index:StatefulApp", "js-app").oldState!;
        component.resourceHooks = { AfterDelete: ["stateful-apps-delete-app-pods"] };
        component.outputs = { namespace: "stateful-apps-prod", podSelector: { "app.kubernetes.io/instance": "js-app" }, deletePvcs: true };
        const app = summaryByApp(digest)["js-app"];
        assert.strictEqual(app.podRestarts, "deleted");
        assert.deepStrictEqual(app.pvcs.deleted, ["data-js-app-0", "data-js-app-1", "data-js-app-2"]);
        assert.match(app.warnings.join(" "), /the hook also deletes the app's PVCs/);

        component.outputs.deletePvcs = false;
        assert.deepStrictEqual(summaryByApp(digest)["js-app"].pvcs.deleted, []);
    });

    it("app removal without orphan propagation deletes the pods, and the PVCs with whenDeleted Delete", () => {
        const digest = load("prod-remove-js-app");
        const sts = step(digest, STS, "js-app");
        delete sts.oldState!.inputs!.metadata.annotations["pulumi.com/deletionPropagationPolicy"];
        delete sts.oldState!.outputs!.metadata.annotations["pulumi.com/deletionPropagationPolicy"];
        sts.oldState!.inputs!.spec.persistentVolumeClaimRetentionPolicy.whenDeleted = "Delete";
        const app = summaryByApp(digest)["js-app"];
        assert.strictEqual(app.podRestarts, "deleted");
        assert.deepStrictEqual(app.pvcs.deleted, ["data-js-app-0", "data-js-app-1", "data-js-app-2"]);
    });

    it("app removal with orphan propagation keeps the PVCs even with whenDeleted Delete", () => {
        const digest = load("prod-remove-js-app");
        step(digest, STS, "js-app").oldState!.inputs!.spec.persistentVolumeClaimRetentionPolicy.whenDeleted = "Delete";
        const app = summaryByApp(digest)["js-app"];
        assert.deepStrictEqual(app.pvcs.deleted, []);
        assert.match(app.notes.join(" "), /orphan propagation detaches the PVCs/);
    });
});

describe("preview summary: PVCs", () => {
    /** prod-replicas-3-to-5 turned around: 5 → 3, the patches of ordinals 3 and 4 dropped. */
    function scaleDown(whenScaled: string): AppSummary {
        const digest = load("prod-replicas-3-to-5");
        const sts = step(digest, STS, "python-app");
        [sts.oldState, sts.newState] = [{ ...sts.newState!, outputs: sts.oldState!.outputs }, sts.oldState];
        sts.newState!.inputs!.spec.persistentVolumeClaimRetentionPolicy.whenScaled = whenScaled;
        for (const s of digest.steps!.filter((x) => x.op === "create")) {
            s.op = "delete";
            s.oldState = { ...s.newState!, retainOnDelete: true };
            delete s.newState;
        }
        return summaryByApp(digest)["python-app"];
    }

    it("scale down keeps the PVCs with whenScaled Retain", () => {
        const app = scaleDown("Retain");
        assert.deepStrictEqual(app.replicas, { from: 5, to: 3 });
        assert.deepStrictEqual(app.pvcs, { created: [], resized: [], deleted: [] });
        assert.deepStrictEqual(app.released, ["PersistentVolumeClaimPatch data-python-app-3", "PersistentVolumeClaimPatch data-python-app-4"]);
        assert.match(app.notes.join(" "), /their PVCs \(data-python-app-3, data-python-app-4\) are kept/);
    });

    it("scale down deletes the PVCs of the removed ordinals with whenScaled Delete", () => {
        const app = scaleDown("Delete");
        assert.deepStrictEqual(app.pvcs.deleted, ["data-python-app-3", "data-python-app-4"]);
        assert.match(app.warnings.join(" "), /whenScaled: Delete/);
    });

    it("a new app creates its StatefulSet and one PVC per replica", () => {
        const removal = load("prod-remove-js-app");
        const digest = clone(removal);
        digest.steps = removal.steps!.filter((s) => s.op === "delete").reverse().map((s) => ({ ...s, op: "create", newState: s.oldState, oldState: undefined }));
        const app = summaryByApp(digest)["js-app"];
        assert.strictEqual(app.workload, "created");
        assert.deepStrictEqual(app.replicas, { to: 3 });
        assert.deepStrictEqual(app.pvcs.created, ["data-js-app-0", "data-js-app-1", "data-js-app-2"]);
        assert.match(renderSummaryMarkdown(summarizePreview(digest)), /StatefulSet created \| start \(3\) \| 3 created/);
    });

    it("shrinking a volume is a warning: Kubernetes rejects it", () => {
        const digest = load("dev-storage-resize");
        for (const s of digest.steps!.filter((x) => x.urn.includes("PersistentVolumeClaimPatch"))) {
            s.newState!.inputs!.spec.resources.requests.storage = "32Mi";
        }
        const app = summaryByApp(digest)["python-app"];
        assert.deepStrictEqual(app.pvcs.resized.map((r) => `${r.from}→${r.to}`), ["64Mi→32Mi", "64Mi→32Mi"]);
        assert.match(app.warnings.join(" "), /Shrinking data-python-app-0 \(64Mi → 32Mi\), data-python-app-1 \(64Mi → 32Mi\): Kubernetes rejects it/);
        assert.deepStrictEqual(summaryByApp(load("dev-storage-resize"))["python-app"].warnings, [], "growing is fine");
    });

    it("storage quantities, as the summary compares sizes (components/quantity.ts)", () => {
        assert.strictEqual(parseQuantity("1Gi"), 2 ** 30);
        assert.strictEqual(parseQuantity("1500M"), 1.5e9);
        assert.ok(parseQuantity("1Gi")! > parseQuantity("1000Mi")!);
        assert.ok(parseQuantity("1G")! < parseQuantity("1Gi")!);
        assert.strictEqual(parseQuantity("1e3"), 1000);
        assert.strictEqual(parseQuantity("0.5Gi"), parseQuantity("512Mi"));
        assert.strictEqual(parseQuantity("lots"), undefined);
    });
});

describe("preview summary: Helm mode", () => {
    it("a replaced release (storage) restarts all pods at once and keeps the PVCs", () => {
        const digest = load("staging-helm-image");
        const release = step(digest, RELEASE, "python-app");
        release.newState!.inputs!.values.image = release.oldState!.inputs!.values.image;
        release.newState!.inputs!.values.storageSize = "200Mi";
        release.op = "replace";
        const app = summaryByApp(digest)["python-app"];
        assert.strictEqual(app.workload, "replaced");
        assert.strictEqual(app.podRestarts, "all-at-once");
        assert.deepStrictEqual(app.pvcs.deleted, []);
        assert.match(renderSummaryMarkdown(summarizePreview(digest)), /⚠️ Helm release \*\*replaced\*\* \(uninstall \+ install\) \| ⚠️ \*\*all restart at once\*\* \| kept/);
    });

    it("replicas alone restart no pod; a value the summary does not know is taken as a template change", () => {
        const digest = load("staging-helm-image");
        const release = step(digest, RELEASE, "python-app");
        release.newState!.inputs!.values.image = release.oldState!.inputs!.values.image;
        release.newState!.inputs!.values.replicas = 4;
        let app = summaryByApp(digest)["python-app"];
        assert.strictEqual(app.podRestarts, "none");
        assert.deepStrictEqual(app.pvcs.created, ["data-python-app-3"]);

        release.newState!.inputs!.values.someNewKnob = "on";
        app = summaryByApp(digest)["python-app"];
        assert.strictEqual(app.podRestarts, "rolling");
        assert.match(app.notes.join(" "), /Changed values: someNewKnob/);
    });

    it("a removed release deletes its pods, and its PVCs with whenDeleted Delete", () => {
        const digest = load("staging-helm-image");
        const release = step(digest, RELEASE, "python-app");
        release.op = "delete";
        release.oldState!.inputs!.values.pvcRetentionPolicy.whenDeleted = "Delete";
        delete release.newState;
        const app = summaryByApp(digest)["python-app"];
        assert.strictEqual(app.workload, "deleted");
        assert.strictEqual(app.podRestarts, "deleted");
        assert.deepStrictEqual(app.pvcs.deleted, ["data-python-app-0", "data-python-app-1", "data-python-app-2"]);
    });
});

describe("preview summary: namespace change", () => {
    it("is flagged loudly: a new, empty app in the new namespace, the old pods and PVCs left in the old one", () => {
        const md = renderSummaryMarkdown(summarizePreview(load("prod-namespace-change")), { stack: "prod" });
        assert.match(md, /\| \*\*python-app\*\* \| ⚠️ StatefulSet \*\*replaced into namespace `stateful-apps-team-b`\*\* \(from `stateful-apps-prod`\) \| ⚠️ \*\*left running\*\* in `stateful-apps-prod` \(orphaned\); new ones start in `stateful-apps-team-b` \| ⚠️ \*\*3 new, EMPTY\*\* in `stateful-apps-team-b`/);
        assert.match(md, /^- ⚠️ \*\*python-app\*\*: namespace changed stateful-apps-prod → stateful-apps-team-b: the StatefulSet is created again in stateful-apps-team-b with NEW EMPTY volumes \(data-python-app-0, data-python-app-1, data-python-app-2\); the old pods and PVCs stay in stateful-apps-prod\./m);
        assert.match(md, /^- ⚠️ \*\*js-app\*\*: namespace changed /m);
        assert.doesNotMatch(md, /pods kept|adopts them|\| kept \|/, "nothing is kept where the app now runs");
    });

    it("the new namespace, unknown in the preview, is the stack config's", () => {
        const digest = load("prod-namespace-change");
        step(digest, STS, "python-app").newState!.inputs!.metadata.namespace = UNKNOWN_VALUE;
        const app = summaryByApp(digest)["python-app"];
        assert.deepStrictEqual(app.namespace, { from: "stateful-apps-prod", to: "stateful-apps-team-b" });
        assert.match(app.warnings.join(" "), /NEW EMPTY volumes/);
    });

    it("any of the app's objects moving is flagged, also when the StatefulSet is not in the preview", () => {
        const digest = load("prod-namespace-change");
        digest.steps = digest.steps!.filter((s) => !s.urn.endsWith(`${STS}::js-app`));
        const app = summaryByApp(digest)["js-app"];
        assert.deepStrictEqual(app.namespace, { from: "stateful-apps-prod", to: "stateful-apps-team-b" });
        assert.match(app.warnings.join(" "), /namespace changed stateful-apps-prod → stateful-apps-team-b/);
    });

    it("Helm mode: the release is installed again in the new namespace, its old pods deleted, the old PVCs left", () => {
        const digest = load("staging-helm-image");
        const release = step(digest, RELEASE, "python-app");
        release.newState!.inputs!.values.image = release.oldState!.inputs!.values.image;
        release.newState!.inputs!.namespace = "team-b";
        release.op = "replace";
        release.detailedDiff = { namespace: { kind: "update-replace", inputDiff: true } };
        const app = summaryByApp(digest)["python-app"];
        assert.deepStrictEqual(app.namespace, { from: "stateful-apps-staging", to: "team-b" });
        assert.strictEqual(app.podRestarts, "all-at-once");
        assert.deepStrictEqual(app.pvcs.created, ["data-python-app-0", "data-python-app-1", "data-python-app-2"]);
        assert.match(app.warnings.join(" "), /the Helm release is created again in team-b with NEW EMPTY volumes .*; the old pods are deleted, the old PVCs stay in stateful-apps-staging/);
    });

    it("a replacement in the same namespace is not a move", () => {
        assert.strictEqual(summaryByApp(load("dev-storage-resize"))["python-app"].namespace, undefined);
    });
});

describe("preview summary: deploy method switch", () => {
    it("an app leaving raw mode for Helm in one preview is listed twice, with a warning", () => {
        const removal = load("prod-remove-js-app");
        const helm = load("staging-helm-image");
        const release = step(helm, RELEASE, "python-app");
        const created: PreviewStep = {
            ...clone(release),
            op: "create",
            urn: release.urn.replace(/::python-app$/, "::js-app"),
            oldState: undefined,
            newState: { ...clone(release.newState!), parent: release.newState!.parent!.replace(/::python-app$/, "::js-app") },
        };
        created.newState!.inputs!.name = "js-app";
        removal.steps!.push(created);
        const apps = summaryByApp(removal);
        assert.strictEqual(apps["js-app (raw)"].workload, "deleted");
        assert.strictEqual(apps["js-app (helm)"].workload, "created");
        assert.match(apps["js-app (helm)"].warnings.join(" "), /switches deploy method in one step/);
        assert.match(renderSummaryMarkdown(summarizePreview(removal)), /\| \*\*js-app \(helm\)\*\* \| Helm release created \|/);
    });
});

describe("preview summary: other changes, errors, parsing", () => {
    it("a Secret change without a restart says running pods keep the old values", () => {
        const digest = load("prod-replicas-3-to-5");
        const secret = clone(step(digest, STS, "python-app"));
        secret.urn = secret.urn.replace(`${STS}::python-app`, "kubernetes:core/v1:Secret::python-app-admin-token");
        secret.oldState = { ...secret.oldState!, type: "kubernetes:core/v1:Secret", inputs: { metadata: { name: "python-app" }, stringData: "[secret]" }, outputs: {} };
        secret.newState = { ...secret.newState!, type: "kubernetes:core/v1:Secret", inputs: { metadata: { name: "python-app" }, stringData: "[secret]" }, outputs: {} };
        digest.steps!.push(secret);
        const app = summaryByApp(digest)["python-app"];
        assert.deepStrictEqual(app.otherChanges, ["update Secret python-app"]);
        assert.match(app.notes.join(" "), /Secret python-app changes: running pods keep the old values until they restart/);
    });

    it("changes outside the apps are listed", () => {
        const digest = load("prod-no-change");
        const stackStep = digest.steps![0];
        digest.steps!.push({
            op: "update",
            urn: stackStep.urn.replace("pulumi:pulumi:Stack::stateful-apps-prod", "kubernetes:core/v1:Namespace::stateful-apps-prod"),
            oldState: { type: "kubernetes:core/v1:Namespace", inputs: { metadata: { name: "stateful-apps-prod" } } },
            newState: { type: "kubernetes:core/v1:Namespace", inputs: { metadata: { name: "stateful-apps-prod", labels: { a: "b" } } } },
            detailedDiff: { "metadata.labels.a": { kind: "add", inputDiff: false } },
        });
        const summary = summarizePreview(digest);
        assert.strictEqual(summary.hasChanges, true);
        assert.deepStrictEqual(summary.other, ["update Namespace stateful-apps-prod"]);
        assert.match(renderSummaryMarkdown(summary), /Outside the apps: update Namespace stateful-apps-prod\./);
    });

    it("a failed preview shows its errors first", () => {
        const digest = load("prod-no-change");
        digest.diagnostics = [{ urn: digest.steps![0].urn, message: "error: Invalid stack config (1 problem); nothing was deployed:\n  - stateful-apps:apps.python-app.replica: unknown key", severity: "error" }];
        const md = renderSummaryMarkdown(summarizePreview(digest), { stack: "prod" });
        assert.match(md, /^### ❌ Preview `prod` failed\n\n- error: Invalid stack config \(1 problem\); nothing was deployed:/);
        assert.doesNotMatch(md, /Unchanged/, "a failed preview does not vouch for the apps it did not reach");
    });

    it("parses JSON with text around it", () => {
        const text = fs.readFileSync(path.join(FIXTURES, "prod-no-change.json"), "utf8");
        assert.deepStrictEqual(parsePreviewJson(`warning: something\n${text}\nmore\n`), JSON.parse(text));
        assert.deepStrictEqual(parsePreviewJson(`warning: a {brace}\n{not json}\n${text}`), JSON.parse(text));
        assert.throws(() => parsePreviewJson("error: no stack"));
    });
});

describe("preview summary: the comment", () => {
    it("marker, summary, then the full diff in a collapsed block", () => {
        const comment = renderComment({ summary: summarizePreview(load("prod-replicas-3-to-5")), diff: "\x1b[32m+ created\x1b[0m\n", stack: "prod", marker: "stateful-apps-preview:prod" });
        assert.match(comment, /^<!-- stateful-apps-preview:prod -->\n### Preview `prod`: /);
        assert.match(comment, /<details><summary>Full <code>pulumi preview --diff<\/code> \(prod\)<\/summary>\n\n```diff\n\+ created\n```\n<\/details>\n$/);
    });

    it("a diff containing a fence gets a longer fence; a long diff is cut to fit a comment", () => {
        const summary = summarizePreview(load("prod-no-change"));
        assert.match(renderComment({ summary, diff: "a ``` b" }), /````diff\na ``` b\n````/);
        const comment = renderComment({ summary, diff: "x".repeat(100000), maxChars: 5000 });
        assert.ok(comment.length <= 5000, `${comment.length}`);
        assert.match(comment, /more characters: run `pulumi preview --diff`/);
    });

    it("without a readable JSON, the comment still carries the diff", () => {
        const comment = renderComment({ summary: undefined, summaryError: "Unexpected end of JSON input", diff: "error: boom", stack: "dev" });
        assert.match(comment, /^### ⚠️ Preview `dev`: no summary\n\nThe preview's JSON could not be read \(Unexpected end of JSON input\)/);
        assert.match(comment, /error: boom/);
    });

    it("CLI: `preview-summary --json <file> --diff <file>` prints the comment; --format json the summary", function () {
        this.timeout(60000); // three ts-node processes: 20 s was exceeded at a load of 8
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "preview-summary-"));
        try {
            fs.writeFileSync(path.join(dir, "diff.txt"), "~ kubernetes:apps/v1:StatefulSet: (update)\n");
            const cli = path.join(PROJECT_DIR, "ci", "preview-summary", "cli.ts");
            const run = (...args: string[]) => execFileSync(process.execPath, ["-r", "ts-node/register/transpile-only", cli, ...args], { cwd: PROJECT_DIR, encoding: "utf8" });
            const fixture = path.join(FIXTURES, "prod-replicas-3-to-5.json");
            const md = run("--json", fixture, "--diff", path.join(dir, "diff.txt"), "--stack", "prod", "--marker", "m");
            assert.match(md, /^<!-- m -->\n### Preview `prod`: 2 to create, 1 to update/);
            assert.match(md, /~ kubernetes:apps\/v1:StatefulSet: \(update\)/);
            const json = JSON.parse(run("--json", fixture, "--format", "json"));
            assert.strictEqual(json.apps.find((a: AppSummary) => a.app === "python-app").podRestarts, "none");
            fs.writeFileSync(path.join(dir, "broken.json"), "error: preview failed\n");
            assert.match(run("--json", path.join(dir, "broken.json"), "--diff", path.join(dir, "diff.txt")), /no summary/);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});
