// The one replacement policy (components/replacement.ts): every app setting is changed in turn,
// in both deploy methods, and must force a replacement exactly when REPLACING_SETTINGS lists it.
import * as assert from "assert";
import { APP_KEYS } from "../components/config";
import { OUTSIDE_STATEFULSET_SETTINGS, POD_TEMPLATE_FREE_SETTINGS, RELEASE_REPLACING_VALUES, REPLACING_SETTINGS, STATEFULSET_REPLACING_FIELDS } from "../components/replacement";
import { appsOf, clone, loadStackFile, runProgram, ProgramRun, T } from "./harness";

const APP = "python-app";

/** A valid change of every user setting, relative to the dev stack. */
const CHANGES: Record<(typeof APP_KEYS)[number], unknown> = {
    image: "registry.example.com/python-app:2.0.0",
    imagePullPolicy: "Always",
    port: 5001,
    replicas: 4,
    storageSize: "128Mi",
    storageClass: "fast-ssd",
    accessModes: ["ReadWriteOncePod"],
    podManagementPolicy: "OrderedReady",
    updateStrategy: { type: "OnDelete" },
    pvcRetentionPolicy: { whenScaled: "Delete" },
    resources: { requests: { cpu: "100m" } },
    env: { LOG_LEVEL: "info" },
    terminationGracePeriodSeconds: 60,
    priorityClassName: "high-priority",
    nodeSelector: { disktype: "ssd" },
    tolerations: [{ key: "dedicated", operator: "Equal", value: "db", effect: "NoSchedule" }],
    podAntiAffinityPreset: "soft",
    affinity: { nodeAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 1, preference: { matchExpressions: [{ key: "pool", operator: "In", values: ["db"] }] } }] } },
    topologySpreadConstraints: [{ maxSkew: 1, topologyKey: "topology.kubernetes.io/zone", whenUnsatisfiable: "ScheduleAnyway" }],
    volumeClaimName: "python-pvc",
    networkPolicy: { enabled: true, allowFrom: [{ namespaceSelector: { matchLabels: { team: "web" } } }] },
};

/**
 * Renders into spec.volumeClaimTemplates like a replacing setting, but is refused for a deployed
 * app (tests/adoption.test.ts): not a replacement keeper (a new keeper would replace every existing
 * replacement id) and not a replacing release value (the chart's default is not passed at all).
 */
const REFUSED_ONCE_DEPLOYED = ["volumeClaimName"];

const at = (obj: any, path: string) => path.split(".").reduce((o, k) => o?.[k], obj);
const differsAt = (a: any, b: any, paths: string[]) => paths.filter((p) => JSON.stringify(at(a, p)) !== JSON.stringify(at(b, p)));

/** A run of the stack file, by default as if it had been deployed before (its replacing changes are replacements). */
async function run(stack: "dev" | "staging", change?: [string, unknown], deployedBefore = true): Promise<ProgramRun> {
    const config = clone(loadStackFile(stack));
    if (change) {
        appsOf(config)[APP][change[0]] = change[1];
    }
    const deployedApps = Object.fromEntries(Object.keys(appsOf(config)).map((app) => [app, { replicas: 1 }]));
    if (!deployedBefore) {
        return runProgram(config, stack);
    }
    return runProgram(config, stack, [], { lastOutputs: { namespace: config["stateful-apps:namespace"], apps: deployedApps }, lastSecretOutputs: ["apps"] });
}

describe("replacement policy", () => {
    it("the change table covers every app setting", () => {
        assert.deepStrictEqual(Object.keys(CHANGES).sort(), [...APP_KEYS].sort());
    });

    it("raw and Helm mode declare the derived replaceOnChanges, deleting first (fixed names)", async () => {
        const raw = (await run("dev")).get(T.statefulSet, APP).opts;
        assert.deepStrictEqual(raw.replaceOnChanges, ["spec.volumeClaimTemplates", "spec.podManagementPolicy"]);
        assert.strictEqual(raw.deleteBeforeReplace, true);
        const helm = (await run("staging")).get(T.release, APP).opts;
        assert.deepStrictEqual(helm.replaceOnChanges, ["values.storageSize", "values.storageClass", "values.accessModes", "values.podManagementPolicy"]);
        assert.strictEqual(helm.deleteBeforeReplace, true);
    });

    for (const [setting, value] of Object.entries(CHANGES).filter(([s]) => !REFUSED_ONCE_DEPLOYED.includes(s))) {
        const replacing = setting in REPLACING_SETTINGS;
        it(`${setting}: ${replacing ? "replaces" : "updates in place"} in both modes`, async () => {
            const [rawBase, rawChanged] = [await run("dev"), await run("dev", [setting, value])];
            const [stsBase, stsChanged] = [rawBase.get(T.statefulSet, APP).inputs, rawChanged.get(T.statefulSet, APP).inputs];
            if ((OUTSIDE_STATEFULSET_SETTINGS as readonly string[]).includes(setting)) {
                assert.deepStrictEqual(stsChanged, stsBase, "the StatefulSet is left alone");
                assert.notDeepStrictEqual(rawChanged.get(T.networkPolicy, APP).inputs, rawBase.get(T.networkPolicy, APP).inputs, "the change reaches the NetworkPolicy");
            } else {
                assert.notDeepStrictEqual(stsChanged, stsBase, "the change reaches the StatefulSet");
            }
            const fields = differsAt(stsBase, stsChanged, STATEFULSET_REPLACING_FIELDS);
            assert.strictEqual(fields.length > 0, replacing, `raw: replacing fields changed: ${fields.join(", ") || "none"}`);
            // The replacement id (which makes such a replacement previewable) changes with it, and only then.
            const id = (r: ProgramRun) => r.get(T.randomId, `${APP}-replacement`).inputs.keepers;
            assert.strictEqual(JSON.stringify(id(rawBase)) !== JSON.stringify(id(rawChanged)), replacing, "raw: replacement id");

            const [helmBase, helmChanged] = [await run("staging"), await run("staging", [setting, value])];
            const [relBase, relChanged] = [helmBase.get(T.release, APP).inputs, helmChanged.get(T.release, APP).inputs];
            assert.notDeepStrictEqual(relChanged.values, relBase.values, "the change reaches the release values");
            const values = differsAt(relBase, relChanged, RELEASE_REPLACING_VALUES);
            assert.strictEqual(values.length > 0, replacing, `helm: replacing values changed: ${values.join(", ") || "none"}`);
        });
    }
});

// The PR summary reads a Helm value change as a pod restart unless POD_TEMPLATE_FREE_SETTINGS
// lists it: the list must be exactly the settings that leave the pod template alone (raw mode
// here; the chart renders the same template, tests/equivalence.chart-test.ts).
describe("settings outside the pod template", () => {
    for (const [setting, value] of Object.entries(CHANGES)) {
        const free = (POD_TEMPLATE_FREE_SETTINGS as readonly string[]).includes(setting);
        it(`${setting}: ${free ? "leaves the pod template alone" : "changes the pod template"}`, async () => {
            const template = async (change?: [string, unknown]) => (await run("dev", change, false)).get(T.statefulSet, APP).inputs.spec.template;
            const [base, changed] = [await template(), await template([setting, value])];
            assert.strictEqual(JSON.stringify(base) !== JSON.stringify(changed), !free);
        });
    }
});
