// Scenario 1: every shipped stack deploys with both deploy methods, is stable (a second
// preview shows no changes), and is destroyed leaving the PVCs (retention Retain).
import * as assert from "assert";
import { assertAppDeployed, cleanupNamespace, kubectl, kubectlJson, loadShippedConfig, previewSteps, pvcs, Stack } from "./harness";

const STACKS = (process.env.E2E_STACKS ?? "dev,staging,prod").split(",");
const METHODS = (process.env.E2E_METHODS ?? "raw,helm").split(",");

describe("scenario 1: every shipped stack, both deploy methods", function () {
    for (const shipped of STACKS) {
        for (const method of METHODS) {
            describe(`${shipped} with deployMethod ${method}`, () => {
                const config = loadShippedConfig(shipped);
                const ns = `${config["stateful-apps:namespace"]}-${method}`;
                config["stateful-apps:namespace"] = ns;
                config["stateful-apps:deployMethod"] = method;
                const apps = config["stateful-apps:apps"];
                let stack: Stack;
                let claimUids: string[] = [];

                before(() => {
                    stack = new Stack(`${shipped}-${method}`, config);
                });
                after(() => {
                    stack?.remove();
                    cleanupNamespace(ns);
                });

                it("pulumi up succeeds and the cluster holds what the config says", async () => {
                    stack.up();
                    const outputs = stack.outputs();
                    assert.strictEqual(outputs.namespace, ns);
                    for (const [name, app] of Object.entries<any>(apps)) {
                        await assertAppDeployed(ns, name, app, outputs);
                    }
                    claimUids = Object.keys(apps).flatMap((name) => pvcs(ns, name).map((p) => p.metadata.uid));
                });

                if (method === "helm") {
                    it("each app is a Helm release (helm list)", () => {
                        const releases = JSON.parse(require("child_process").execFileSync("helm", ["list", "-n", ns, "-o", "json"], { encoding: "utf8" }));
                        assert.deepStrictEqual(releases.map((r: any) => r.name).sort(), Object.keys(apps).sort());
                        assert.ok(releases.every((r: any) => r.status === "deployed"));
                    });
                }

                it("a second preview shows no changes", () => {
                    const changed = previewSteps(stack, `${stack.name}-preview-again`).filter((s) => s.op !== "same");
                    assert.deepStrictEqual(changed, []);
                });

                it("pulumi destroy succeeds; the PVCs and namespace remain", () => {
                    stack.destroy();
                    assert.strictEqual(kubectl(["get", "statefulset", "-n", ns, "-o", "name"]).trim(), "");
                    const left = Object.keys(apps).flatMap((name) => pvcs(ns, name).map((p) => p.metadata.uid));
                    assert.deepStrictEqual(left.sort(), [...claimUids].sort());
                    assert.strictEqual(kubectlJson(["get", "namespace", ns]).status.phase, "Active");
                });
            });
        }
    }
});
