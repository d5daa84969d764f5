// The program under Pulumi's own unit-test mocks, written exactly as Pulumi's docs show
// (https://www.pulumi.com/docs/iac/guides/testing/unit/): setMocks, the config, then the program
// itself; no SDK internal, no harness. Its own mocha process (npm test runs it after the
// harness-based tests), so nothing the harness patches can help it.
import * as assert from "assert";
import * as pulumi from "@pulumi/pulumi";

const resources: pulumi.runtime.MockResourceArgs[] = [];
pulumi.runtime.setMocks(
    {
        newResource(args: pulumi.runtime.MockResourceArgs) {
            resources.push(args);
            return { id: `${args.name}-id`, state: args.inputs };
        },
        call(args: pulumi.runtime.MockCallArgs) {
            return args.inputs;
        },
    },
    "stateful-apps",
    "test",
    false,
);

const apps = { "python-app": { image: "registry.example.com/python-app:1.0", port: 5000, replicas: 2 }, "js-app": { image: "registry.example.com/js-app:1.0", port: 3000 } };

for (const deployMethod of ["raw", "helm"] as const) {
    describe(`index.ts under plain Pulumi mocks (${deployMethod})`, function () {
        this.timeout(60000);
        it("completes and declares every resource of both apps", async () => {
            resources.length = 0;
            pulumi.runtime.setAllConfig({
                "stateful-apps:namespace": `plain-${deployMethod}`,
                "stateful-apps:deployMethod": deployMethod,
                "stateful-apps:apps": JSON.stringify(apps),
            });
            const program = require("../../index") as () => Promise<Record<string, pulumi.Output<any>>>;
            const outputs = await program();
            // Every output resolved: each resource they come from has been registered with the mocks.
            const resolved = await new Promise<any>((resolve) => pulumi.output(outputs).apply(resolve));
            assert.strictEqual(resolved.deployMethod, deployMethod);
            assert.deepStrictEqual(resolved.apps["python-app"].podDnsNames, [
                `python-app-0.python-app-headless.plain-${deployMethod}.svc.cluster.local`,
                `python-app-1.python-app-headless.plain-${deployMethod}.svc.cluster.local`,
            ]);
            // Resources whose inputs wait on other resources register later: wait until none is added.
            for (let count = -1; count !== resources.length; ) {
                count = resources.length;
                await new Promise((resolve) => setTimeout(resolve, 300));
            }
            const names = (type: string) => resources.filter((r) => r.type === type).map((r) => r.name).sort();
            assert.deepStrictEqual(names("kubernetes:core/v1:Namespace"), [`plain-${deployMethod}`]);
            assert.deepStrictEqual(names("kubernetes:core/v1:Secret"), ["js-app-admin-token", "python-app-admin-token"]);
            if (deployMethod === "raw") {
                assert.deepStrictEqual(names("kubernetes:apps/v1:StatefulSet"), ["js-app", "python-app"]);
                assert.deepStrictEqual(names("kubernetes:policy/v1:PodDisruptionBudget"), ["python-app"]);
            } else {
                assert.deepStrictEqual(names("kubernetes:helm.sh/v3:Release"), ["js-app", "python-app"]);
            }
            assert.deepStrictEqual(names("kubernetes:core/v1:PersistentVolumeClaimPatch"), ["data-js-app-0", "data-python-app-0", "data-python-app-1"]);
        });
    });
}
