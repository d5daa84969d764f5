// Each config knob changes exactly what it should: one table row per knob, each run of the
// whole program starting from the dev stack with one python-app setting changed.
import * as assert from "assert";
import { chartDefaults } from "../components/config";
import { appsOf, clone, dependencyNames, loadStackFile, runProgram, ProgramRun, T } from "./harness";

/** values.yaml: what a setting left unset becomes. */
const DEFAULTS = chartDefaults() as Record<string, any>;

const APP = "python-app";
const sts = (run: ProgramRun) => run.get(T.statefulSet, APP).inputs;
const container = (run: ProgramRun) => sts(run).spec.template.spec.containers[0];
const patchesOf = (run: ProgramRun) => run.ofType(T.pvcPatch).filter((r) => r.name.startsWith(`data-${APP}-`));

interface Knob {
    knob: string;
    set: Record<string, unknown>;
    check: (run: ProgramRun) => void | Promise<void>;
}

const knobs: Knob[] = [
    {
        knob: "replicas: 5 → 5 pods, 5 DNS names, 5 PVC resize patches, a PDB",
        set: { replicas: 5 },
        check: (run) => {
            assert.strictEqual(sts(run).spec.replicas, 5);
            assert.strictEqual(run.outputs.apps[APP].podDnsNames.length, 5);
            assert.strictEqual(run.outputs.apps[APP].podDnsNames[4], `${APP}-4.${APP}-headless.stateful-apps-dev.svc.cluster.local`);
            assert.strictEqual(patchesOf(run).length, 5);
            assert.deepStrictEqual(run.get(T.pdb, APP).inputs.spec.maxUnavailable, 1);
        },
    },
    {
        knob: "replicas: 1 → no PodDisruptionBudget (it would block every drain)",
        set: { replicas: 1 },
        check: (run) => assert.ok(!run.ofType(T.pdb).some((r) => r.inputs.metadata.name === APP)),
    },
    {
        knob: "replicas: 0 → no pods, no DNS names, no resize patches",
        set: { replicas: 0 },
        check: (run) => {
            assert.strictEqual(sts(run).spec.replicas, 0);
            assert.deepStrictEqual(run.outputs.apps[APP].podDnsNames, []);
            assert.strictEqual(patchesOf(run).length, 0);
        },
    },
    {
        knob: "storageSize: 2Gi → claim template and every existing PVC (forced SSA patch)",
        set: { storageSize: "2Gi", replicas: 2 },
        check: async (run) => {
            assert.strictEqual(sts(run).spec.volumeClaimTemplates[0].spec.resources.requests.storage, "2Gi");
            for (const patch of patchesOf(run)) {
                assert.strictEqual(patch.inputs.spec.resources.requests.storage, "2Gi");
                assert.strictEqual(patch.inputs.metadata.annotations["pulumi.com/patchForce"], "true");
                // No await: the PVC await waits for Pending on WaitForFirstConsumer classes, and a
                // waitFor condition can return a stale cached claim as the patch's outputs.
                assert.strictEqual(patch.inputs.metadata.annotations["pulumi.com/skipAwait"], "true");
                assert.strictEqual(patch.inputs.metadata.annotations["pulumi.com/waitFor"], undefined);
                assert.strictEqual(patch.opts.retainOnDelete, true, "dropping a patch must never touch the PVC");
                // A stack that never deployed: no PVC exists until the StatefulSet creates it.
                assert.deepStrictEqual(await dependencyNames(patch), [`${T.statefulSet}::${APP}`], "patches wait for the StatefulSet (PVCs exist)");
            }
            assert.deepStrictEqual(patchesOf(run).map((p) => p.inputs.metadata.name), [`data-${APP}-0`, `data-${APP}-1`]);
        },
    },
    {
        knob: "storageClass: fast-ssd → storageClassName on the claim template",
        set: { storageClass: "fast-ssd" },
        check: (run) => assert.strictEqual(sts(run).spec.volumeClaimTemplates[0].spec.storageClassName, "fast-ssd"),
    },
    {
        knob: "accessModes: [ReadWriteOncePod]",
        set: { accessModes: ["ReadWriteOncePod"] },
        check: (run) => assert.deepStrictEqual(sts(run).spec.volumeClaimTemplates[0].spec.accessModes, ["ReadWriteOncePod"]),
    },
    {
        knob: "podManagementPolicy: OrderedReady",
        set: { podManagementPolicy: "OrderedReady" },
        check: (run) => assert.strictEqual(sts(run).spec.podManagementPolicy, "OrderedReady"),
    },
    {
        knob: "updateStrategy partition: 2 → canary, and Pulumi waits for ready replicas instead of a full rollout",
        set: { replicas: 3, updateStrategy: { type: "RollingUpdate", partition: 2 } },
        check: (run) => {
            assert.deepStrictEqual(sts(run).spec.updateStrategy, { type: "RollingUpdate", rollingUpdate: { partition: 2 } });
            assert.strictEqual(sts(run).metadata.annotations["pulumi.com/waitFor"], "jsonpath={.status.readyReplicas}=3");
        },
    },
    {
        knob: "updateStrategy partition: 0 → Pulumi waits until every pod is on the new revision and ready",
        set: { replicas: 3, updateStrategy: { type: "RollingUpdate", partition: 0 } },
        check: (run) => assert.deepStrictEqual(JSON.parse(sts(run).metadata.annotations["pulumi.com/waitFor"]), ["jsonpath={.status.updatedReplicas}=3", "jsonpath={.status.readyReplicas}=3"]),
    },
    {
        knob: "updateStrategy OnDelete → Pulumi waits for every replica ready (pods keep their revision until deleted)",
        set: { replicas: 2, updateStrategy: { type: "OnDelete" } },
        check: (run) => assert.strictEqual(sts(run).metadata.annotations["pulumi.com/waitFor"], "jsonpath={.status.readyReplicas}=2"),
    },
    {
        knob: "replicas: 0 → nothing to wait for (the status omits the counts)",
        set: { replicas: 0 },
        check: (run) => assert.strictEqual(sts(run).metadata.annotations["pulumi.com/waitFor"], undefined),
    },
    {
        knob: "updateStrategy maxUnavailable: 2",
        set: { replicas: 4, updateStrategy: { type: "RollingUpdate", maxUnavailable: 2 } },
        check: (run) => assert.deepStrictEqual(sts(run).spec.updateStrategy.rollingUpdate, { partition: DEFAULTS.updateStrategy.partition, maxUnavailable: 2 }),
    },
    {
        knob: "updateStrategy OnDelete → no rollingUpdate block",
        set: { updateStrategy: { type: "OnDelete" } },
        check: (run) => assert.deepStrictEqual(sts(run).spec.updateStrategy, { type: "OnDelete" }),
    },
    {
        knob: "updateStrategy OnDelete with partition 0 (no partition) → the same, no rollingUpdate block",
        set: { updateStrategy: { type: "OnDelete", partition: 0 } },
        check: (run) => assert.deepStrictEqual(sts(run).spec.updateStrategy, { type: "OnDelete" }),
    },
    {
        knob: "pvcRetentionPolicy whenScaled: Delete (whenDeleted keeps its default)",
        set: { pvcRetentionPolicy: { whenScaled: "Delete" } },
        check: (run) =>
            assert.deepStrictEqual(sts(run).spec.persistentVolumeClaimRetentionPolicy, { whenDeleted: DEFAULTS.pvcRetentionPolicy.whenDeleted, whenScaled: "Delete" }),
    },
    {
        knob: "resources.requests.cpu: 200m → merged over the defaults",
        set: { resources: { requests: { cpu: "200m" } } },
        check: (run) =>
            assert.deepStrictEqual(container(run).resources, {
                requests: { ...DEFAULTS.resources.requests, cpu: "200m" },
                limits: DEFAULTS.resources.limits,
            }),
    },
    {
        knob: "env → plain values as strings, sorted, after PORT/DATA_DIR/POD_NAME and before ADMIN_TOKEN",
        set: { env: { ZONE: "b", WORKERS: 4, DEBUG: false } },
        check: (run) =>
            assert.deepStrictEqual(container(run).env.map((e: any) => [e.name, e.value ?? "(from)"]), [
                ["PORT", "5000"], ["DATA_DIR", "/data"], ["POD_NAME", "(from)"],
                ["DEBUG", "false"], ["WORKERS", "4"], ["ZONE", "b"], ["ADMIN_TOKEN", "(from)"],
            ]),
    },
    {
        knob: "port: 8081 → container port, PORT env, both Services, NetworkPolicy, service URL",
        set: { port: 8081 },
        check: (run) => {
            assert.strictEqual(container(run).ports[0].containerPort, 8081);
            assert.strictEqual(container(run).env[0].value, "8081");
            assert.strictEqual(run.get(T.service, APP).inputs.spec.ports[0].port, 8081);
            assert.strictEqual(run.get(T.service, `${APP}-headless`).inputs.spec.ports[0].port, 8081);
            assert.strictEqual(run.get(T.networkPolicy, APP).inputs.spec.ingress[0].ports[0].port, 8081);
            assert.strictEqual(run.outputs.apps[APP].serviceUrl, `http://${APP}.stateful-apps-dev.svc.cluster.local:8081`);
        },
    },
    {
        knob: "networkPolicy left at its default → ingress to the app port from the app's namespace only; egress to DNS and the app's own pods only",
        set: {},
        check: (run) => {
            const selector = { matchLabels: sts(run).spec.selector.matchLabels };
            const port = [{ protocol: "TCP", port: 5000 }];
            assert.deepStrictEqual(run.get(T.networkPolicy, APP).inputs.spec, {
                podSelector: selector,
                policyTypes: ["Ingress", "Egress"],
                ingress: [{ from: [{ podSelector: {} }], ports: port }],
                egress: [{ ports: [{ protocol: "UDP", port: 53 }, { protocol: "TCP", port: 53 }] }, { to: [{ podSelector: selector }], ports: port }],
            });
        },
    },
    {
        knob: "networkPolicy.allowFrom: another namespace's pods → exactly those peers, on the app port",
        set: { networkPolicy: { allowFrom: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "web" } }, podSelector: { matchLabels: { role: "client" } } }] } },
        check: (run) => assert.deepStrictEqual(run.get(T.networkPolicy, APP).inputs.spec.ingress, [{
            from: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "web" } }, podSelector: { matchLabels: { role: "client" } } }],
            ports: [{ protocol: "TCP", port: 5000 }],
        }]),
    },
    {
        knob: "networkPolicy.allowFrom: [] → no ingress rule at all (a rule with an empty `from` would admit everyone)",
        set: { networkPolicy: { allowFrom: [] } },
        check: (run) => assert.deepStrictEqual(run.get(T.networkPolicy, APP).inputs.spec.ingress, []),
    },
    {
        knob: "networkPolicy.enabled: false → no NetworkPolicy for the app (the other app keeps its own)",
        set: { networkPolicy: { enabled: false } },
        check: (run) => assert.deepStrictEqual(run.ofType(T.networkPolicy).map((r) => r.inputs.metadata.name), ["js-app"]),
    },
    {
        knob: "image → the container image",
        set: { image: "registry.example.com/python-app:2.0.0" },
        check: (run) => assert.strictEqual(container(run).image, "registry.example.com/python-app:2.0.0"),
    },
    {
        knob: "imagePullPolicy: Never → the container never pulls (a locally built image)",
        set: { imagePullPolicy: "Never" },
        check: (run) => assert.strictEqual(container(run).imagePullPolicy, "Never"),
    },
    {
        knob: "imagePullPolicy: Always",
        set: { imagePullPolicy: "Always" },
        check: (run) => assert.strictEqual(container(run).imagePullPolicy, "Always"),
    },
];

describe("config knobs", () => {
    for (const { knob, set, check } of knobs) {
        it(knob, async () => {
            const config = clone(loadStackFile("dev"));
            Object.assign(appsOf(config)[APP], set);
            const run = await runProgram(config);
            await check(run);
            // The other app is untouched by a python-app knob.
            assert.strictEqual(run.get(T.statefulSet, "js-app").inputs.spec.replicas, 1);
        });
    }

    it("namespace → every object lands in it", async () => {
        const config = { ...clone(loadStackFile("dev")), "stateful-apps:namespace": "team-a" };
        const run = await runProgram(config);
        const namespaced = run.resources.filter((r) => r.type.startsWith("kubernetes:") && r.type !== T.namespace);
        assert.ok(namespaced.length > 10);
        for (const r of namespaced) {
            assert.strictEqual(r.inputs.metadata?.namespace ?? r.inputs.namespace, "team-a", `${r.type} ${r.name}`);
        }
    });

    it("apps → a stack may define more apps, each with its own objects and outputs", async () => {
        const config = clone(loadStackFile("dev"));
        appsOf(config)["worker-app"] = { image: "registry.example.com/worker:1", replicas: 2 };
        const run = await runProgram(config);
        assert.deepStrictEqual(run.ofType(T.statefulSet).map((r) => r.name).sort(), ["js-app", "python-app", "worker-app"]);
        assert.strictEqual(run.get(T.statefulSet, "worker-app").inputs.spec.template.spec.containers[0].ports[0].containerPort, DEFAULTS.port);
        assert.deepStrictEqual(Object.keys(run.outputs.apps).sort(), ["js-app", "python-app", "worker-app"]);
    });

    it("apps → or fewer", async () => {
        const config = clone(loadStackFile("dev"));
        delete appsOf(config)["js-app"];
        const run = await runProgram(config);
        assert.deepStrictEqual(run.ofType(T.statefulSet).map((r) => r.name), ["python-app"]);
        assert.strictEqual(run.ofType(T.secret).length, 1);
    });

    it("defaults: an app with only an image gets every default of values.yaml", async () => {
        const config = clone(loadStackFile("dev"));
        appsOf(config)[APP] = { image: "img:1" };
        const run = await runProgram(config);
        const spec = sts(run).spec;
        const d = DEFAULTS;
        assert.strictEqual(spec.replicas, d.replicas);
        assert.strictEqual(spec.podManagementPolicy, d.podManagementPolicy);
        assert.deepStrictEqual(spec.updateStrategy, { type: d.updateStrategy.type, rollingUpdate: { partition: d.updateStrategy.partition } });
        assert.deepStrictEqual(spec.persistentVolumeClaimRetentionPolicy, d.pvcRetentionPolicy);
        assert.deepStrictEqual(spec.volumeClaimTemplates[0].spec, {
            accessModes: d.accessModes, ...(d.storageClass ? { storageClassName: d.storageClass } : {}), resources: { requests: { storage: d.storageSize } },
        });
        assert.strictEqual(container(run).ports[0].containerPort, d.port);
        assert.strictEqual(container(run).imagePullPolicy, d.imagePullPolicy);
        assert.deepStrictEqual(container(run).resources, d.resources);
    });
});
