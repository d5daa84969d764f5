// deployMethod chooses per stack between raw resources and a Helm release of the project's
// chart; exactly one of the two is declared, from the same validated settings.
import * as assert from "assert";
import * as pulumi from "@pulumi/pulumi";
import { chartDefaults } from "../components/config";
import { appsOf, clone, dependencyNames, loadStackFile, runProgram, T } from "./harness";

const RAW_TYPES = [T.statefulSet, T.service, T.serviceAccount, T.pdb, T.networkPolicy];

describe("deploy methods", () => {
    describe("helm (staging)", () => {
        it("declares one Helm release per app, named after it, from the project's chart", async () => {
            const run = await runProgram(loadStackFile("staging"), "staging");
            const releases = run.ofType(T.release);
            assert.deepStrictEqual(releases.map((r) => r.inputs.name).sort(), ["js-app", "python-app"]);
            for (const r of releases) {
                assert.strictEqual(r.inputs.chart, "./charts/stateful-app");
                assert.strictEqual(r.inputs.namespace, "stateful-apps-staging");
                assert.strictEqual(r.inputs.createNamespace, false);
                assert.strictEqual(r.inputs.values.adminTokenSecret, r.inputs.name, "the chart references the Pulumi-managed Secret");
            }
        });

        it("passes the validated, defaulted settings as values", async () => {
            const run = await runProgram(loadStackFile("staging"), "staging");
            // What Pulumi.staging.yaml sets, over values.yaml's defaults (the unset keys).
            // The default claim name is the chart's to render (components/helmApp.ts helmValues).
            const { volumeClaimName, ...defaults } = chartDefaults() as Record<string, any>;
            const { secretChecksum, ...values } = run.get(T.release, "python-app").inputs.values;
            assert.match(secretChecksum, /^[0-9a-f]{64}$/, "the hash of the Secret's data (secretEnv.test.ts)");
            assert.deepStrictEqual(values, {
                ...defaults,
                image: "ghcr.io/stateful-apps/python-app:0.1.0",
                port: 5000,
                replicas: 3,
                storageSize: "100Mi",
                podManagementPolicy: "Parallel",
                updateStrategy: { ...defaults.updateStrategy, type: "RollingUpdate" },
                secretEnvNames: [],
                adminTokenSecret: "python-app",
            });
        });

        it("replaces the release (PVCs survive) when a value Kubernetes cannot update in place changes", async () => {
            // A release this stack deployed (an imported one is only updated: tests/adoption.test.ts).
            const apps = { "python-app": { replicas: 3 }, "js-app": { replicas: 3 } };
            const run = await runProgram(loadStackFile("staging"), "staging", [], { lastOutputs: { namespace: "stateful-apps-staging", apps }, lastSecretOutputs: ["apps"] });
            const release = run.get(T.release, "js-app");
            assert.deepStrictEqual(release.opts.replaceOnChanges, [
                "values.storageSize", "values.storageClass", "values.accessModes", "values.podManagementPolicy",
            ]);
            assert.strictEqual(release.opts.deleteBeforeReplace, true, "the release name is fixed, so the old one must go first");
        });

        it("declares no raw objects, but keeps the Secret and resize patches Pulumi-managed", async () => {
            const run = await runProgram(loadStackFile("staging"), "staging");
            for (const type of RAW_TYPES) {
                assert.deepStrictEqual(run.ofType(type), [], type);
            }
            assert.strictEqual(run.ofType(T.secret).length, 2);
            assert.strictEqual(run.ofType(T.pvcPatch).length, 6);
            assert.deepStrictEqual(run.ofType(T.helmApp).map((r) => r.name).sort(), ["js-app", "python-app"]);
        });

        it("config changes reach the values", async () => {
            const config = clone(loadStackFile("staging"));
            Object.assign(appsOf(config)["python-app"], { replicas: 5, updateStrategy: { type: "OnDelete" } });
            const run = await runProgram(config, "staging");
            const values = run.get(T.release, "python-app").inputs.values;
            assert.strictEqual(values.replicas, 5);
            assert.deepStrictEqual(values.updateStrategy, { type: "OnDelete" });
        });
    });

    describe("raw (dev, prod)", () => {
        for (const stack of ["dev", "prod"]) {
            it(`${stack}: declares raw objects and no Helm release`, async () => {
                const run = await runProgram(loadStackFile(stack), stack);
                assert.deepStrictEqual(run.ofType(T.release), []);
                assert.deepStrictEqual(run.ofType(T.helmApp), []);
                assert.deepStrictEqual(run.ofType(T.rawApp).map((r) => r.name).sort(), ["js-app", "python-app"]);
                for (const type of RAW_TYPES.filter((t) => t !== T.pdb || stack === "prod")) {
                    assert.ok(run.ofType(type).length >= 2, type);
                }
            });
        }

        it("the StatefulSet is deleted with orphan propagation, so a forced replacement keeps its pods", async () => {
            const run = await runProgram(loadStackFile("prod"), "prod");
            assert.strictEqual(run.get(T.statefulSet, "python-app").inputs.metadata.annotations["pulumi.com/deletionPropagationPolicy"], "orphan");
        });

        it("every other object Pulumi may delete goes in the background (no foreground wait per object)", async () => {
            const run = await runProgram(loadStackFile("prod"), "prod");
            // Namespace and PVC patches are never deleted by the program (retainOnDelete).
            const deletable = run.resources.filter((r) => r.type.startsWith("kubernetes:") && ![T.statefulSet, T.namespace, T.pvcPatch].includes(r.type as never));
            assert.deepStrictEqual([...new Set(deletable.map((r) => r.type))].sort(), [T.secret, ...RAW_TYPES.filter((t) => t !== T.statefulSet)].sort());
            for (const r of deletable) {
                assert.strictEqual(r.inputs.metadata.annotations?.["pulumi.com/deletionPropagationPolicy"], "background", `${r.type} ${r.name}`);
            }
        });

        it("a storage or pod-management-policy change replaces the StatefulSet, deleting the old one first", async () => {
            const run = await runProgram(loadStackFile("dev"), "dev");
            const opts = run.get(T.statefulSet, "js-app").opts;
            assert.deepStrictEqual(opts.replaceOnChanges, ["spec.volumeClaimTemplates", "spec.podManagementPolicy"]);
            assert.strictEqual(opts.deleteBeforeReplace, true);
        });

        it("the StatefulSet carries a replacement id that changes exactly with the settings that force replacement", async () => {
            const id = async (change: Record<string, unknown>) => {
                const config = clone(loadStackFile("dev"));
                Object.assign(appsOf(config)["python-app"], change);
                const run = await runProgram(config, "dev");
                return run.get(T.statefulSet, "python-app").inputs.metadata.annotations["stateful-apps.dev/replacement-id"];
            };
            const base = await id({});
            assert.ok(base);
            for (const change of [{ storageSize: "1Gi" }, { storageClass: "fast" }, { accessModes: ["ReadWriteOncePod"] }, { podManagementPolicy: "OrderedReady" }]) {
                assert.notStrictEqual(await id(change), base, JSON.stringify(change));
            }
            for (const change of [{ replicas: 4 }, { image: "x:2" }, { env: { A: "1" } }]) {
                assert.strictEqual(await id(change), base, JSON.stringify(change));
            }
        });

        it("the StatefulSet waits for its namespace, ServiceAccount, Secret and headless Service", async () => {
            const run = await runProgram(loadStackFile("dev"), "dev");
            assert.deepStrictEqual(await dependencyNames(run.get(T.statefulSet, "python-app")), [
                `${T.namespace}::stateful-apps-dev`,
                `${T.secret}::python-app-admin-token`,
                `${T.service}::python-app-headless`,
                `${T.serviceAccount}::python-app`,
            ]);
        });
    });
});
