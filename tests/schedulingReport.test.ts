// The scheduling report (components/schedulingReport.ts): which pods it reports, when, and in
// what words; and rolloutTimeout, the wait it names, reaching the Helm release. The report's real
// path (a pod kept Pending by `hard` anti-affinity on two nodes) is e2e scenario 25.
import * as assert from "assert";
import type { V1Pod } from "@kubernetes/client-node";
import { podsToReport, REPORT_AFTER_MS, unschedulableOf, unschedulableWarning } from "../components/schedulingReport";
import { clone, loadStackFile, runProgram, T } from "./harness";

const SCHEDULER_MESSAGE = "0/2 nodes are available: 2 node(s) didn't match pod anti-affinity rules. preemption: 0/2 nodes are available: 2 No preemption victims found for incoming pod.";
const pod = (name: string, conditions: Record<string, string>[]): V1Pod => ({ metadata: { name }, status: { conditions } as any });

describe("scheduling report: what it reports", () => {
    it("takes only pods the scheduler marked Unschedulable, with its message and since when", () => {
        const since = "2026-12-07T17:00:00Z";
        const pods = unschedulableOf([
            pod("python-app-0", [{ type: "PodScheduled", status: "True" }, { type: "Ready", status: "True" }]),
            pod("python-app-1", [{ type: "PodScheduled", status: "False", reason: "Unschedulable", message: SCHEDULER_MESSAGE, lastTransitionTime: since }]),
            // Scheduled, waiting for its volume to mount: not the scheduler's problem.
            pod("python-app-2", [{ type: "PodScheduled", status: "True" }, { type: "Ready", status: "False", reason: "ContainersNotReady" }]),
            pod("python-app-3", []),
        ]);
        assert.deepStrictEqual(pods, [{ name: "python-app-1", message: SCHEDULER_MESSAGE, since: new Date(since) }]);
    });

    it("reports a pod once it has been unschedulable for REPORT_AFTER_MS, once per reason", () => {
        const reported = new Set<string>();
        const since = new Date(0);
        const stuck = { name: "python-app-2", message: SCHEDULER_MESSAGE, since };
        assert.deepStrictEqual(podsToReport([stuck], REPORT_AFTER_MS - 1, reported), [], "reported before the grace period");
        assert.deepStrictEqual(podsToReport([stuck], REPORT_AFTER_MS, reported), [stuck]);
        assert.deepStrictEqual(podsToReport([stuck], REPORT_AFTER_MS + 5_000, reported), [], "the same reason twice");
        const otherReason = { ...stuck, message: "0/2 nodes are available: 1 node(s) were unschedulable, 1 node(s) didn't match pod anti-affinity rules." };
        assert.deepStrictEqual(podsToReport([otherReason], REPORT_AFTER_MS + 10_000, reported), [otherReason]);
    });

    it("the warning names the app, the pod, the scheduler's reason, the timeout and the settings to check", () => {
        const text = unschedulableWarning("python-app", { name: "python-app-2", message: SCHEDULER_MESSAGE, since: new Date() }, 90);
        for (const part of ["python-app: pod python-app-2 cannot be scheduled: ", SCHEDULER_MESSAGE, "rolloutTimeout: 90 s", "podAntiAffinityPreset", "kubectl describe pod python-app-2"]) {
            assert.ok(text.includes(part), `${part} missing from: ${text}`);
        }
    });
});

describe("rolloutTimeout", () => {
    it("is the Helm release's timeout: 600 s by default, the stack's value when set", async () => {
        const staging = loadStackFile("staging");
        const byDefault = await runProgram(clone(staging), "staging");
        assert.strictEqual(byDefault.get(T.release, "python-app").inputs.timeout, 600);
        const set = await runProgram({ ...clone(staging), "stateful-apps:rolloutTimeout": "120" }, "staging");
        assert.strictEqual(set.get(T.release, "python-app").inputs.timeout, 120);
        assert.strictEqual(set.get(T.release, "js-app").inputs.timeout, 120);
    });
});
