// Scenarios 2 and 4 on the prod stack (raw): the pull-request preview of a replicas change,
// and a canary rollout with a partition.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { ARTIFACTS_DIR, cleanupNamespace, eventually, loadShippedConfig, pods, previewSteps, readyPods, Stack } from "./harness";

const NS = "e2e-prod";
const APP = "python-app";

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
        stack.writeConfig(config); // back to 3: the PR is only previewed
    });

    it("scenario 4: a canary (partition = replicas-1) completes and updates only the highest ordinal", async () => {
        const oldImage = config["stateful-apps:apps"][APP].image;
        const newImage = oldImage.replace(/:[^:]+$/, ":0.2.0-canary");
        config["stateful-apps:apps"][APP].updateStrategy = { type: "RollingUpdate", partition: 2 };
        stack.writeConfig(config);
        stack.up("prod-canary-partition");
        config["stateful-apps:apps"][APP].image = newImage;
        stack.writeConfig(config);
        const started = Date.now();
        stack.up("prod-canary-image");
        assert.ok(Date.now() - started < 5 * 60 * 1000, "pulumi up did not wait for a full rollout");
        const image = (p: any) => p.spec.containers[0].image;
        await eventually("the canary pod runs the new image", () =>
            readyPods(NS, APP).length === 3 && image(pods(NS, APP)[2]) === newImage);
        assert.deepStrictEqual(pods(NS, APP).map(image), [oldImage, oldImage, newImage]);
    });
});
