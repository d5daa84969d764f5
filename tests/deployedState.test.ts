// A namespace change of deployed apps is refused before anything is declared (issue 20 item 2):
// Kubernetes would create the StatefulSets again in the new namespace with new, empty PVCs while
// the old pods keep running in the old one. The program reads what the stack deployed from its
// own last outputs (a StackReference to itself).
import * as assert from "assert";
import { appsOf, clone, dependencyNames, loadStackFile, ProgramRun, runProgram, runProgramExpectingError, T } from "./harness";

const DEPLOYED = { namespace: "stateful-apps-dev", apps: { "python-app": {}, "js-app": {} } };
// As the engine reports the program's outputs: `apps` is secret as a whole (each adminToken is).
const SECRET_OUTPUTS = ["apps"];

for (const deployMethod of ["raw", "helm"] as const) {
    describe(`namespace change (${deployMethod})`, () => {
        const config = (): Record<string, any> => ({ ...clone(loadStackFile("dev")), "stateful-apps:deployMethod": deployMethod });
        const moved = (): Record<string, any> => ({ ...config(), "stateful-apps:namespace": "elsewhere" });

        it("the shipped dev namespace is the one the fixture says was deployed", () => {
            assert.strictEqual(config()["stateful-apps:namespace"], DEPLOYED.namespace);
        });

        it("is refused while apps are deployed in the old namespace, naming the key, both namespaces, the apps and the migration; only the state read is registered", async () => {
            const { error, resources } = await runProgramExpectingError(moved(), { lastOutputs: DEPLOYED, lastSecretOutputs: SECRET_OUTPUTS });
            assert.match(error.message, /stateful-apps:namespace: got "elsewhere"; expected "stateful-apps-dev", where js-app, python-app are deployed/);
            assert.match(error.message, /remove them from stateful-apps:apps/);
            assert.match(error.message, /nothing was deployed/);
            assert.deepStrictEqual(resources.map((r) => r.type).filter((t) => t !== "pulumi:pulumi:Stack"), [T.stackReference]);
        });

        it("names only the apps still configured", async () => {
            const c = moved();
            delete appsOf(c)["js-app"];
            const { error } = await runProgramExpectingError(c, { lastOutputs: DEPLOYED, lastSecretOutputs: SECRET_OUTPUTS });
            assert.match(error.message, /where python-app is deployed with its volumes/);
        });

        it("a secret namespace is not shown in the message", async () => {
            const { error } = await runProgramExpectingError(moved(), { lastOutputs: DEPLOYED, lastSecretOutputs: ["namespace", ...SECRET_OUTPUTS] });
            assert.match(error.message, /stateful-apps:namespace: differs from the namespace where js-app, python-app are deployed/);
            assert.doesNotMatch(error.message, /stateful-apps-dev/);
        });

        it("is allowed once the apps were removed (the documented migration), and in the same update as their removal", async () => {
            const afterRemoval = await runProgram(moved(), "test", [], { lastOutputs: { namespace: DEPLOYED.namespace, apps: {} } });
            assert.strictEqual(afterRemoval.get(T.namespace, "elsewhere").inputs.metadata.name, "elsewhere");
            const c = moved();
            c["stateful-apps:apps"] = {};
            const removal = await runProgram(c, "test", [], { lastOutputs: DEPLOYED, lastSecretOutputs: SECRET_OUTPUTS });
            assert.deepStrictEqual(removal.ofType(T.statefulSet).concat(removal.ofType(T.release)), []);
        });

        it("an unchanged namespace and a first deployment pass", async () => {
            const same = await runProgram(config(), "test", [], { lastOutputs: DEPLOYED, lastSecretOutputs: SECRET_OUTPUTS });
            assert.ok(same.ofType(deployMethod === "raw" ? T.statefulSet : T.release).length === 2);
            const first = await runProgram(moved());
            assert.ok(first.ofType(deployMethod === "raw" ? T.statefulSet : T.release).length === 2);
        });
    });
}

// Issue 20 item 9: under `--skip-preview` a refused resize (a StorageClass without
// allowVolumeExpansion) must fail before the StatefulSet or the release is replaced.
for (const deployMethod of ["raw", "helm"] as const) {
    describe(`storage resize against a deployed stack (${deployMethod})`, () => {
        const APP = "python-app";
        const workload = deployMethod === "raw" ? `${T.statefulSet}::${APP}` : `${T.release}::${APP}`;
        const config = (set: Record<string, unknown>) => {
            const c: Record<string, any> = { ...clone(loadStackFile("dev")), "stateful-apps:deployMethod": deployMethod };
            Object.assign(appsOf(c)[APP], set);
            return c;
        };
        const deployed = (replicas: number, storageSize: string) => ({
            lastOutputs: { namespace: DEPLOYED.namespace, apps: { [APP]: { replicas, storageSize }, "js-app": { replicas: 1, storageSize: "64Mi" } } },
            lastSecretOutputs: SECRET_OUTPUTS,
        });
        const patch = (run: ProgramRun, ordinal: number) => run.get(T.pvcPatch, `data-${APP}-${ordinal}`);

        it("the PVCs the last update left are patched before the workload; the new ordinals' after it", async () => {
            const run = await runProgram(config({ replicas: 3, storageSize: "2Gi" }), "test", [], deployed(2, "1Gi"));
            for (const ordinal of [0, 1]) {
                assert.deepStrictEqual(await dependencyNames(patch(run, ordinal)), [], `ordinal ${ordinal} waits for nothing`);
            }
            assert.deepStrictEqual(await dependencyNames(patch(run, 2)), [workload], "ordinal 2's PVC exists only once the workload made it");
            const workloadDeps = await dependencyNames(run.resources.find((r) => `${r.type}::${r.name}` === workload)!);
            for (const ordinal of [0, 1]) {
                assert.ok(workloadDeps.includes(`${T.pvcPatch}::data-${APP}-${ordinal}`), `the workload waits for ordinal ${ordinal}'s patch: ${workloadDeps}`);
            }
            assert.ok(!workloadDeps.includes(`${T.pvcPatch}::data-${APP}-2`));
        });

        it("scaled down in the same change: only the remaining ordinals are patched, all before the workload", async () => {
            const run = await runProgram(config({ replicas: 1, storageSize: "2Gi" }), "test", [], deployed(3, "1Gi"));
            assert.deepStrictEqual(run.ofType(T.pvcPatch).filter((r) => r.name.startsWith(`data-${APP}-`)).map((r) => r.name), [`data-${APP}-0`]);
            assert.deepStrictEqual(await dependencyNames(patch(run, 0)), []);
        });

        it("a shrink is refused before anything is declared, naming the key and the deployed size", async () => {
            const { error, resources } = await runProgramExpectingError(config({ storageSize: "512Mi" }), deployed(2, "1Gi"));
            assert.match(error.message, /stateful-apps:apps\.python-app\.storageSize: got "512Mi"; expected at least "1Gi", the size deployed: Kubernetes cannot shrink a volume/);
            assert.deepStrictEqual(resources.map((r) => r.type).filter((t) => t !== "pulumi:pulumi:Stack"), [T.stackReference]);
        });

        it("sizes are compared as quantities: 0.5Gi is 512Mi, and growing is allowed", async () => {
            const respelled = await runProgram(config({ storageSize: "0.5Gi" }), "test", [], deployed(2, "512Mi"));
            // The deployed spelling is kept, so nothing is replaced for a new spelling of one size.
            const claimSize = deployMethod === "raw"
                ? respelled.get(T.statefulSet, APP).inputs.spec.volumeClaimTemplates[0].spec.resources.requests.storage
                : respelled.get(T.release, APP).inputs.values.storageSize;
            assert.strictEqual(claimSize, "512Mi");
            assert.strictEqual(patch(respelled, 0).inputs.spec.resources.requests.storage, "512Mi");
            const first = await runProgram(config({ storageSize: "0.5Gi" }));
            assert.strictEqual(patch(first, 0).inputs.spec.resources.requests.storage, "0.5Gi", "a first deployment keeps the user's spelling");
            await runProgram(config({ storageSize: "2Gi" }), "test", [], deployed(2, "1Gi"));
        });

        it("a namespace change and a shrink are reported together", async () => {
            const c = { ...config({ storageSize: "512Mi" }), "stateful-apps:namespace": "elsewhere" };
            const { error } = await runProgramExpectingError(c, deployed(2, "1Gi"));
            assert.match(error.message, /\(2 problems\)/);
        });
    });
}
