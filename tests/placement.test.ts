// Placement settings (values.yaml: terminationGracePeriodSeconds ... topologySpreadConstraints),
// each in both deploy methods: in raw mode what the pod template gets, in Helm mode the values the
// release passes (the chart renders them into the same pod template: tests/equivalence.chart-test.ts).
import * as assert from "assert";
import { chartDefaults } from "../components/config";
import { appsOf, clone, loadStackFile, runProgram, ProgramRun, T } from "./harness";

const DEFAULTS = chartDefaults() as Record<string, any>;
const APP = "python-app";
const SELECTOR = { matchLabels: { "app.kubernetes.io/name": APP, "app.kubernetes.io/instance": APP } };
const podSpec = (run: ProgramRun) => run.get(T.statefulSet, APP).inputs.spec.template.spec;
const values = (run: ProgramRun) => run.get(T.release, APP).inputs.values;

/** The dev stack (raw) or staging (helm) with python-app's settings changed. */
async function run(stack: "dev" | "staging", set: Record<string, unknown>): Promise<ProgramRun> {
    const config = clone(loadStackFile(stack));
    Object.assign(appsOf(config)[APP], set);
    return runProgram(config, stack);
}

const SOFT = {
    preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 1, podAffinityTerm: { labelSelector: SELECTOR, topologyKey: "kubernetes.io/hostname" } }],
};
const HARD = { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: SELECTOR, topologyKey: "kubernetes.io/hostname" }] };
const NODE_AFFINITY = {
    requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: "pool", operator: "In", values: ["db"] }] }] },
};
const OWN_ANTI_AFFINITY = { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { role: "db" } }, topologyKey: "topology.kubernetes.io/zone" }] };

interface Case {
    setting: string;
    set: Record<string, unknown>;
    /** The pod spec's placement fields in raw mode (every other placement field absent). */
    raw: Record<string, unknown>;
}

const PLACEMENT_FIELDS = ["terminationGracePeriodSeconds", "priorityClassName", "nodeSelector", "tolerations", "affinity", "topologySpreadConstraints"];
const grace = { terminationGracePeriodSeconds: DEFAULTS.terminationGracePeriodSeconds };

const CASES: Case[] = [
    { setting: "defaults: only the grace period (values.yaml's), nothing else placed", set: {}, raw: grace },
    { setting: "terminationGracePeriodSeconds: 120", set: { terminationGracePeriodSeconds: 120 }, raw: { terminationGracePeriodSeconds: 120 } },
    { setting: "terminationGracePeriodSeconds: 0 is rendered, not dropped as empty", set: { terminationGracePeriodSeconds: 0 }, raw: { terminationGracePeriodSeconds: 0 } },
    { setting: "priorityClassName", set: { priorityClassName: "high-priority" }, raw: { ...grace, priorityClassName: "high-priority" } },
    { setting: "nodeSelector", set: { nodeSelector: { disktype: "ssd", "kubernetes.io/arch": "amd64" } }, raw: { ...grace, nodeSelector: { disktype: "ssd", "kubernetes.io/arch": "amd64" } } },
    {
        setting: "tolerations",
        set: { tolerations: [{ key: "dedicated", operator: "Equal", value: "db", effect: "NoSchedule" }, { operator: "Exists", effect: "NoExecute", tolerationSeconds: 300 }] },
        raw: { ...grace, tolerations: [{ key: "dedicated", operator: "Equal", value: "db", effect: "NoSchedule" }, { operator: "Exists", effect: "NoExecute", tolerationSeconds: 300 }] },
    },
    { setting: "podAntiAffinityPreset soft: preferred, weight 1, on the node, selecting the app's pods", set: { podAntiAffinityPreset: "soft" }, raw: { ...grace, affinity: { podAntiAffinity: SOFT } } },
    { setting: "podAntiAffinityPreset hard: required, on the node, selecting the app's pods", set: { podAntiAffinityPreset: "hard" }, raw: { ...grace, affinity: { podAntiAffinity: HARD } } },
    { setting: "affinity alone is passed through", set: { affinity: { nodeAffinity: NODE_AFFINITY } }, raw: { ...grace, affinity: { nodeAffinity: NODE_AFFINITY } } },
    {
        setting: "affinity.nodeAffinity combines with the preset",
        set: { podAntiAffinityPreset: "hard", affinity: { nodeAffinity: NODE_AFFINITY } },
        raw: { ...grace, affinity: { nodeAffinity: NODE_AFFINITY, podAntiAffinity: HARD } },
    },
    {
        setting: "affinity.podAntiAffinity wins over the preset",
        set: { podAntiAffinityPreset: "soft", affinity: { podAntiAffinity: OWN_ANTI_AFFINITY } },
        raw: { ...grace, affinity: { podAntiAffinity: OWN_ANTI_AFFINITY } },
    },
    {
        setting: "topologySpreadConstraints: without labelSelector, the app's selector; with one, the user's",
        set: {
            topologySpreadConstraints: [
                { maxSkew: 1, topologyKey: "kubernetes.io/hostname", whenUnsatisfiable: "ScheduleAnyway" },
                { maxSkew: 2, topologyKey: "topology.kubernetes.io/zone", whenUnsatisfiable: "DoNotSchedule", labelSelector: { matchLabels: { tier: "db" } }, minDomains: 2 },
            ],
        },
        raw: {
            ...grace,
            topologySpreadConstraints: [
                { maxSkew: 1, topologyKey: "kubernetes.io/hostname", whenUnsatisfiable: "ScheduleAnyway", labelSelector: SELECTOR },
                { maxSkew: 2, topologyKey: "topology.kubernetes.io/zone", whenUnsatisfiable: "DoNotSchedule", labelSelector: { matchLabels: { tier: "db" } }, minDomains: 2 },
            ],
        },
    },
];

describe("placement settings", () => {
    for (const { setting, set, raw } of CASES) {
        it(`${setting} (raw: the pod template)`, async () => {
            const spec = podSpec(await run("dev", set));
            const placed = Object.fromEntries(PLACEMENT_FIELDS.filter((f) => f in spec).map((f) => [f, spec[f]]));
            assert.deepStrictEqual(placed, raw);
        });

        it(`${setting} (helm: the release values)`, async () => {
            const v = values(await run("staging", set));
            // The settings as written over values.yaml's; the chart derives the same pod spec from them.
            const want = { ...DEFAULTS, ...set };
            for (const key of ["terminationGracePeriodSeconds", "priorityClassName", "nodeSelector", "tolerations", "podAntiAffinityPreset", "affinity", "topologySpreadConstraints"]) {
                assert.deepStrictEqual(v[key], want[key], key);
            }
        });
    }

    it("the app's selector is its own: js-app's constraint selects js-app's pods", async () => {
        const config = clone(loadStackFile("dev"));
        appsOf(config)["js-app"].topologySpreadConstraints = [{ maxSkew: 1, topologyKey: "kubernetes.io/hostname", whenUnsatisfiable: "ScheduleAnyway" }];
        appsOf(config)["js-app"].podAntiAffinityPreset = "soft";
        const r = await runProgram(config);
        const spec = r.get(T.statefulSet, "js-app").inputs.spec.template.spec;
        const jsSelector = { matchLabels: { "app.kubernetes.io/name": "js-app", "app.kubernetes.io/instance": "js-app" } };
        assert.deepStrictEqual(spec.topologySpreadConstraints[0].labelSelector, jsSelector);
        assert.deepStrictEqual(spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].podAffinityTerm.labelSelector, jsSelector);
        assert.strictEqual(podSpec(r).affinity, undefined, "python-app is untouched");
    });

    it("filling in the labelSelector does not change the validated settings (Helm gets them as written)", async () => {
        const constraint = { maxSkew: 1, topologyKey: "kubernetes.io/hostname", whenUnsatisfiable: "ScheduleAnyway" };
        const v = values(await run("staging", { topologySpreadConstraints: [constraint] }));
        assert.deepStrictEqual(v.topologySpreadConstraints, [constraint]);
    });
});
