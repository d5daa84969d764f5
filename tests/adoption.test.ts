// Adopting an existing `helm install` (issue 17 part 3, README: Moving an existing helm install):
// the claim template name is a setting (the seed's claims are `python-pvc-python-app-<i>`), it
// cannot change once deployed, and a release imported into the stack is updated in place, never
// replaced for the values its `helm install` was not given.
import * as assert from "assert";
import * as pulumi from "@pulumi/pulumi";
import { RELEASE_REPLACING_VALUES } from "../components/replacement";
import { appsOf, clone, loadStackFile, ProgramRun, runProgram, runProgramExpectingError, T } from "./harness";

const APP = "python-app";
const SEED_CLAIM = "python-pvc";
const NAMESPACE = "stateful-apps-dev";

function config(deployMethod: "raw" | "helm", set: Record<string, unknown> = {}): Record<string, any> {
    const c: Record<string, any> = { ...clone(loadStackFile("dev")), "stateful-apps:deployMethod": deployMethod };
    Object.assign(appsOf(c)[APP], set);
    return c;
}

/** The stack's last outputs as the engine reports them (`apps` is secret as a whole). */
const deployed = (apps: Record<string, Record<string, unknown>>) => ({ lastOutputs: { namespace: NAMESPACE, apps }, lastSecretOutputs: ["apps"] });

/** The claim template and data mount names, as raw mode declares them or the Release passes them. */
function claimNames(run: ProgramRun, deployMethod: "raw" | "helm") {
    if (deployMethod === "helm") {
        return { value: run.get(T.release, APP).inputs.values.volumeClaimName };
    }
    const spec = run.get(T.statefulSet, APP).inputs.spec;
    return {
        template: spec.volumeClaimTemplates.map((t: any) => t.metadata.name),
        mount: spec.template.spec.containers[0].volumeMounts.find((m: any) => m.mountPath === "/data").name,
    };
}

for (const deployMethod of ["raw", "helm"] as const) {
    describe(`volumeClaimName (${deployMethod})`, () => {
        it("defaults to `data`; Helm mode leaves the chart's default out of the values (no update for releases deployed before the setting)", async () => {
            const run = await runProgram(config(deployMethod));
            assert.deepStrictEqual(claimNames(run, deployMethod), deployMethod === "raw" ? { template: ["data"], mount: "data" } : { value: undefined });
            assert.deepStrictEqual(run.ofType(T.pvcPatch).filter((r) => r.name.includes(APP)).map((r) => r.inputs.metadata.name), [`data-${APP}-0`, `data-${APP}-1`]);
        });

        it("names the claim template, the data mount and the PVCs the resize patches address", async () => {
            const run = await runProgram(config(deployMethod, { volumeClaimName: SEED_CLAIM, replicas: 3 }));
            assert.deepStrictEqual(claimNames(run, deployMethod), deployMethod === "raw" ? { template: [SEED_CLAIM], mount: SEED_CLAIM } : { value: SEED_CLAIM });
            assert.deepStrictEqual(
                run.ofType(T.pvcPatch).filter((r) => r.name.includes(APP)).map((r) => r.inputs.metadata.name),
                [0, 1, 2].map((i) => `${SEED_CLAIM}-${APP}-${i}`),
            );
            assert.strictEqual(run.outputs.apps[APP].volumeClaimName, SEED_CLAIM, "exported, so the next run can refuse a rename");
        });

        it("a rename of a deployed app's claims is refused before anything is declared", async () => {
            const { error, resources } = await runProgramExpectingError(
                config(deployMethod, { volumeClaimName: SEED_CLAIM }),
                deployed({ [APP]: { replicas: 1, storageSize: "64Mi", volumeClaimName: "data" } }),
            );
            assert.match(error.message, /stateful-apps:apps\.python-app\.volumeClaimName: got "python-pvc"; expected "data", the name its PVCs were created with: a new name gives every pod a new, empty volume/);
            assert.deepStrictEqual(resources.map((r) => r.type).filter((t) => t !== "pulumi:pulumi:Stack"), [T.stackReference]);
        });

        it("an app deployed before the output existed has the chart's default claims: a rename is refused too", async () => {
            const { error } = await runProgramExpectingError(config(deployMethod, { volumeClaimName: SEED_CLAIM }), deployed({ [APP]: { replicas: 1 } }));
            assert.match(error.message, /volumeClaimName: got "python-pvc"; expected "data"/);
        });

        it("the same name as deployed, or an app the stack has not deployed (an adopted one), is accepted", async () => {
            await runProgram(config(deployMethod, { volumeClaimName: SEED_CLAIM }), "test", [], deployed({ [APP]: { replicas: 1, volumeClaimName: SEED_CLAIM } }));
            await runProgram(config(deployMethod, { volumeClaimName: SEED_CLAIM }), "test", [], deployed({ "js-app": { replicas: 1 } }));
        });
    });
}

describe("a release adopted with `pulumi import` (helm)", () => {
    it("a release this stack deployed is replaced on a replacing value; one it has not deployed only updated", async () => {
        const recorded = await runProgram(config("helm"), "test", [], deployed({ [APP]: { replicas: 1, storageSize: "64Mi" } }));
        assert.deepStrictEqual(recorded.get(T.release, APP).opts.replaceOnChanges, RELEASE_REPLACING_VALUES);
        // Imported: its state has only the values its `helm install` was given, so the first update
        // adds e.g. storageClass: "" — with replaceOnChanges that would uninstall the release.
        const adopted = await runProgram(config("helm"));
        assert.deepStrictEqual(adopted.get(T.release, APP).opts.replaceOnChanges, []);
    });

    it("the release answers to its top-level URN, where `pulumi import` puts it", async () => {
        const run = await runProgram(config("helm"));
        assert.deepStrictEqual(run.get(T.release, APP).opts.aliases, [{ parent: pulumi.rootStackResource }]);
    });
});
