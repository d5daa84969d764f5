// A namespace change of deployed apps is refused before anything is declared (issue 20 item 2):
// Kubernetes would create the StatefulSets again in the new namespace with new, empty PVCs while
// the old pods keep running in the old one. The program reads what the stack deployed from its
// own last outputs (a StackReference to itself).
import * as assert from "assert";
import { appsOf, clone, loadStackFile, runProgram, runProgramExpectingError, T } from "./harness";

const DEPLOYED = { namespace: "stateful-apps-dev", apps: { "python-app": {}, "js-app": {} } };

for (const deployMethod of ["raw", "helm"] as const) {
    describe(`namespace change (${deployMethod})`, () => {
        const config = () => ({ ...clone(loadStackFile("dev")), "stateful-apps:deployMethod": deployMethod });
        const moved = () => ({ ...config(), "stateful-apps:namespace": "elsewhere" });

        it("the shipped dev namespace is the one the fixture says was deployed", () => {
            assert.strictEqual(config()["stateful-apps:namespace"], DEPLOYED.namespace);
        });

        it("is refused while apps are deployed in the old namespace, naming the key, both namespaces, the apps and the migration; only the state read is registered", async () => {
            const { error, resources } = await runProgramExpectingError(moved(), { lastOutputs: DEPLOYED });
            assert.match(error.message, /stateful-apps:namespace: got "elsewhere"; expected "stateful-apps-dev", where js-app, python-app are deployed/);
            assert.match(error.message, /remove them from stateful-apps:apps/);
            assert.match(error.message, /nothing was deployed/);
            assert.deepStrictEqual(resources.map((r) => r.type).filter((t) => t !== "pulumi:pulumi:Stack"), [T.stackReference]);
        });

        it("names only the apps still configured", async () => {
            const c = moved();
            delete appsOf(c)["js-app"];
            const { error } = await runProgramExpectingError(c, { lastOutputs: DEPLOYED });
            assert.match(error.message, /where python-app is deployed with its volumes/);
        });

        it("a secret namespace is not shown in the message", async () => {
            const { error } = await runProgramExpectingError(moved(), { lastOutputs: DEPLOYED, lastSecretOutputs: ["namespace"] });
            assert.match(error.message, /stateful-apps:namespace: differs from the namespace where js-app, python-app are deployed/);
            assert.doesNotMatch(error.message, /stateful-apps-dev/);
        });

        it("is allowed once the apps were removed (the documented migration), and in the same update as their removal", async () => {
            const afterRemoval = await runProgram(moved(), "test", [], { lastOutputs: { namespace: DEPLOYED.namespace, apps: {} } });
            assert.strictEqual(afterRemoval.get(T.namespace, "elsewhere").inputs.metadata.name, "elsewhere");
            const c = moved();
            c["stateful-apps:apps"] = {};
            const removal = await runProgram(c, "test", [], { lastOutputs: DEPLOYED });
            assert.deepStrictEqual(removal.ofType(T.statefulSet).concat(removal.ofType(T.release)), []);
        });

        it("an unchanged namespace and a first deployment pass", async () => {
            const same = await runProgram(config(), "test", [], { lastOutputs: DEPLOYED });
            assert.ok(same.ofType(deployMethod === "raw" ? T.statefulSet : T.release).length === 2);
            const first = await runProgram(moved());
            assert.ok(first.ofType(deployMethod === "raw" ? T.statefulSet : T.release).length === 2);
        });
    });
}
