// Every shipped Pulumi.<stack>.yaml, run through the whole program under mocks: the objects
// it declares carry exactly the values that file (and the chart defaults) say.
import * as assert from "assert";
import { chartDefaults } from "../components/config";
import { appsOf, loadStackFile, runProgram, ProgramRun, SHIPPED_STACKS, T } from "./harness";

/** What one app of a stack file should become: file values over the chart's defaults. */
function expected(fileApp: any) {
    const d = chartDefaults() as Record<string, any>;
    const strategy = { ...d.updateStrategy, ...fileApp.updateStrategy };
    return {
        image: fileApp.image,
        port: fileApp.port ?? d.port,
        replicas: fileApp.replicas ?? d.replicas,
        storageSize: fileApp.storageSize ?? d.storageSize,
        storageClass: fileApp.storageClass ?? d.storageClass,
        accessModes: fileApp.accessModes ?? d.accessModes,
        podManagementPolicy: fileApp.podManagementPolicy ?? d.podManagementPolicy,
        updateStrategy: strategy.type === "OnDelete"
            ? { type: "OnDelete" }
            : { type: "RollingUpdate", rollingUpdate: { partition: strategy.partition } },
        retention: { ...d.pvcRetentionPolicy, ...fileApp.pvcRetentionPolicy },
        requests: { ...d.resources.requests, ...fileApp.resources?.requests },
        limits: { ...d.resources.limits, ...fileApp.resources?.limits },
        env: fileApp.env ?? {},
        terminationGracePeriodSeconds: fileApp.terminationGracePeriodSeconds ?? d.terminationGracePeriodSeconds,
        topologySpreadConstraints: (fileApp.topologySpreadConstraints ?? d.topologySpreadConstraints) as any[],
        podAntiAffinityPreset: fileApp.podAntiAffinityPreset ?? d.podAntiAffinityPreset,
    };
}

/** The app's own pods: what a spread constraint without labelSelector counts. */
const ownPods = (name: string) => ({ matchLabels: { "app.kubernetes.io/name": name, "app.kubernetes.io/instance": name } });

function assertRawApp(run: ProgramRun, ns: string, name: string, fileApp: any) {
    const want = expected(fileApp);
    const sts = run.get(T.statefulSet, name).inputs;
    assert.strictEqual(sts.metadata.namespace, ns);
    assert.strictEqual(sts.spec.serviceName, `${name}-headless`);
    assert.strictEqual(sts.spec.replicas, want.replicas);
    assert.strictEqual(sts.spec.podManagementPolicy, want.podManagementPolicy);
    assert.deepStrictEqual(sts.spec.updateStrategy, want.updateStrategy);
    assert.deepStrictEqual(sts.spec.persistentVolumeClaimRetentionPolicy, want.retention);
    const [claim] = sts.spec.volumeClaimTemplates;
    assert.strictEqual(claim.metadata.name, "data");
    assert.strictEqual(claim.spec.resources.requests.storage, want.storageSize);
    assert.deepStrictEqual(claim.spec.accessModes, want.accessModes);
    assert.strictEqual(claim.spec.storageClassName, want.storageClass || undefined);

    const pod = sts.spec.template.spec;
    assert.strictEqual(pod.terminationGracePeriodSeconds, want.terminationGracePeriodSeconds);
    assert.deepStrictEqual(pod.topologySpreadConstraints, want.topologySpreadConstraints.length > 0
        ? want.topologySpreadConstraints.map((c) => ({ labelSelector: ownPods(name), ...c }))
        : undefined);
    const [container] = sts.spec.template.spec.containers;
    assert.strictEqual(container.image, want.image);
    assert.strictEqual(container.ports[0].containerPort, want.port);
    assert.deepStrictEqual(container.resources, { requests: want.requests, limits: want.limits });
    assert.deepStrictEqual(container.volumeMounts.find((m: any) => m.name === "data"), { name: "data", mountPath: "/data" });
    const env = Object.fromEntries(container.env.filter((e: any) => e.value !== undefined).map((e: any) => [e.name, e.value]));
    assert.deepStrictEqual(env, { PORT: String(want.port), DATA_DIR: "/data", ...want.env });

    const headless = run.get(T.service, `${name}-headless`).inputs;
    assert.strictEqual(headless.spec.clusterIP, "None");
    assert.strictEqual(headless.spec.ports[0].port, want.port);
    assert.strictEqual(run.get(T.service, name).inputs.spec.ports[0].port, want.port);
    assert.strictEqual(run.get(T.networkPolicy, name).inputs.spec.ingress[0].ports[0].port, want.port);
    assert.strictEqual(run.ofType(T.pdb).some((r) => r.inputs.metadata.name === name), want.replicas > 1);
    run.get(T.serviceAccount, name);
    return want;
}

function assertHelmApp(run: ProgramRun, ns: string, name: string, fileApp: any) {
    const want = expected(fileApp);
    const release = run.get(T.release, name).inputs;
    assert.strictEqual(release.namespace, ns);
    assert.strictEqual(release.chart, "./charts/stateful-app");
    const v = release.values;
    assert.strictEqual(v.image, want.image);
    assert.strictEqual(v.port, want.port);
    assert.strictEqual(v.replicas, want.replicas);
    assert.strictEqual(v.storageSize, want.storageSize);
    assert.strictEqual(v.podManagementPolicy, want.podManagementPolicy);
    assert.strictEqual(v.updateStrategy.type, want.updateStrategy.type);
    assert.deepStrictEqual(v.pvcRetentionPolicy, want.retention);
    assert.deepStrictEqual(v.resources, { requests: want.requests, limits: want.limits });
    assert.strictEqual(v.adminTokenSecret, name);
    assert.strictEqual(v.terminationGracePeriodSeconds, want.terminationGracePeriodSeconds);
    assert.deepStrictEqual(v.topologySpreadConstraints, want.topologySpreadConstraints);
    return want;
}

describe("shipped stacks", () => {
    for (const stack of SHIPPED_STACKS) {
        describe(`Pulumi.${stack}.yaml`, () => {
            const config = loadStackFile(stack);
            const ns = config["stateful-apps:namespace"] as string;
            const method = config["stateful-apps:deployMethod"] as string;
            let run: ProgramRun;
            before(async () => {
                run = await runProgram(config, stack);
            });

            it("deploys exactly python-app (port 5000) and js-app (port 3000)", () => {
                // What the program declared, not what the file says.
                assert.deepStrictEqual(Object.keys(run.outputs.apps).sort(), ["js-app", "python-app"]);
                const portOf = (app: string) => method === "helm"
                    ? run.get(T.release, app).inputs.values.port
                    : run.get(T.statefulSet, app).inputs.spec.template.spec.containers[0].ports[0].containerPort;
                assert.strictEqual(portOf("python-app"), 5000);
                assert.strictEqual(portOf("js-app"), 3000);
                assert.strictEqual(run.outputs.apps["python-app"].serviceUrl, `http://python-app.${ns}.svc.cluster.local:5000`);
            });

            it("creates its namespace, enforcing Pod Security Standards restricted, and never deletes it", () => {
                const namespace = run.get(T.namespace, ns);
                assert.strictEqual(namespace.inputs.metadata.labels["pod-security.kubernetes.io/enforce"], "restricted");
                assert.strictEqual(namespace.opts.retainOnDelete, true);
                assert.strictEqual(run.outputs.namespace, ns);
            });

            // prod spreads its pods over nodes, as a preference only: a one-node cluster (the e2e
            // suite's) or a node down must still schedule every pod. dev and staging place nothing.
            it(stack === "prod" ? "spreads each app's pods over nodes, preferably (ScheduleAnyway: one node still runs them all)" : "places pods anywhere (no spread, no anti-affinity)", () => {
                for (const [name, fileApp] of Object.entries(appsOf(config))) {
                    const want = expected(fileApp);
                    const spread = want.topologySpreadConstraints.filter((c) => c.topologyKey === "kubernetes.io/hostname");
                    assert.strictEqual(spread.length > 0 || want.podAntiAffinityPreset === "soft", stack === "prod", `${name} spread over nodes`);
                    assert.ok(want.topologySpreadConstraints.every((c) => c.whenUnsatisfiable === "ScheduleAnyway"), `${name}: no constraint may leave a pod Pending`);
                    assert.notStrictEqual(want.podAntiAffinityPreset, "hard", `${name}: hard anti-affinity would leave pods Pending on one node`);
                    assert.strictEqual(fileApp.affinity, undefined, `${name}: no required affinity`);
                }
            });

            for (const [name, fileApp] of Object.entries(appsOf(config))) {
                it(`deploys ${name} (${method}) with the file's values`, () => {
                    const want = method === "helm" ? assertHelmApp(run, ns, name, fileApp) : assertRawApp(run, ns, name, fileApp);
                    // Pulumi-managed in both modes: the admin-token Secret and one resize patch per pod.
                    assert.strictEqual(run.get(T.secret, name).inputs.metadata.namespace, ns);
                    const patches = run.ofType(T.pvcPatch).filter((r) => r.name.startsWith(`data-${name}-`));
                    assert.deepStrictEqual(patches.map((p) => p.name), Array.from({ length: want.replicas }, (_, i) => `data-${name}-${i}`));
                    for (const p of patches) {
                        assert.strictEqual(p.inputs.spec.resources.requests.storage, want.storageSize);
                    }
                });

                it(`exports ${name}'s names, replicas, pod DNS names and service URL`, () => {
                    const want = expected(fileApp);
                    const out = run.outputs.apps[name];
                    assert.strictEqual(out.statefulSet, name);
                    assert.strictEqual(out.headlessService, `${name}-headless`);
                    assert.strictEqual(out.service, name);
                    assert.strictEqual(out.replicas, want.replicas);
                    assert.deepStrictEqual(
                        out.podDnsNames,
                        Array.from({ length: want.replicas }, (_, i) => `${name}-${i}.${name}-headless.${ns}.svc.cluster.local`),
                    );
                    assert.strictEqual(out.serviceUrl, `http://${name}.${ns}.svc.cluster.local:${want.port}`);
                });
            }
        });
    }
});
