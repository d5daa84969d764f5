// A placement change reaches the pod template, so the PR comment's summary (ci/preview-summary/)
// must report it as a rolling restart in both deploy methods: raw mode by the StatefulSet's
// spec.template, Helm mode because no placement key is among HELM_NON_TEMPLATE_VALUES. The
// StatefulSet inputs and release values are the program's own (under mocks), set into a recorded
// preview's update step.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { PreviewDigest, summaryByApp } from "../ci/preview-summary";
import { appsOf, clone, loadStackFile, runProgram, T } from "./harness";

const APP = "python-app";
const FIXTURES = path.join(__dirname, "fixtures", "previews");
const load = (name: string): PreviewDigest => JSON.parse(fs.readFileSync(path.join(FIXTURES, `${name}.json`), "utf8"));

/** One valid change of each placement setting (over prod's and staging's python-app). */
const PLACEMENT_CHANGES: Record<string, unknown> = {
    terminationGracePeriodSeconds: 60,
    priorityClassName: "high-priority",
    nodeSelector: { disktype: "ssd" },
    tolerations: [{ key: "dedicated", operator: "Exists", effect: "NoSchedule" }],
    podAntiAffinityPreset: "soft",
    affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: "pool", operator: "In", values: ["db"] }] }] } } },
    topologySpreadConstraints: [{ maxSkew: 1, topologyKey: "topology.kubernetes.io/zone", whenUnsatisfiable: "ScheduleAnyway" }],
};

/** What the program declares for python-app in `stack` (the StatefulSet's or the release's inputs). */
async function declared(stack: "prod" | "staging", set: Record<string, unknown> = {}) {
    const config = clone(loadStackFile(stack));
    Object.assign(appsOf(config)[APP], set);
    const run = await runProgram(config, stack);
    return clone(run.get(stack === "prod" ? T.statefulSet : T.release, APP).inputs);
}

/** A recorded update preview of python-app, its old and new inputs replaced by `before` and `after`. */
function preview(fixture: string, type: string, before: any, after: any): PreviewDigest {
    const digest = load(fixture);
    const step = digest.steps!.find((s) => s.urn.endsWith(`${type}::${APP}`))!;
    step.oldState!.inputs = before;
    step.newState!.inputs = after;
    delete step.detailedDiff; // the states decide
    return digest;
}

describe("preview summary: a placement change restarts the pods", () => {
    let sts: any;
    let release: any;
    before(async () => {
        [sts, release] = [await declared("prod"), await declared("staging")];
    });

    it("raw and Helm: the same inputs restart nothing (the comparison below can fail)", () => {
        assert.strictEqual(summaryByApp(preview("prod-replicas-3-to-5", T.statefulSet, sts, sts))[APP].podRestarts, "none");
        assert.strictEqual(summaryByApp(preview("staging-helm-image", T.release, release, release))[APP].podRestarts, "none");
    });

    for (const [setting, value] of Object.entries(PLACEMENT_CHANGES)) {
        it(`${setting}: a rolling restart in raw mode (pod template) and Helm mode (release values)`, async () => {
            const raw = summaryByApp(preview("prod-replicas-3-to-5", T.statefulSet, sts, await declared("prod", { [setting]: value })))[APP];
            assert.strictEqual(raw.workload, "updated");
            assert.strictEqual(raw.podRestarts, "rolling");

            const helm = summaryByApp(preview("staging-helm-image", T.release, release, await declared("staging", { [setting]: value })))[APP];
            assert.strictEqual(helm.workload, "updated");
            assert.strictEqual(helm.podRestarts, "rolling");
            assert.match(helm.notes.join(" "), new RegExp(`Changed values: .*${setting}`));
        });
    }
});
