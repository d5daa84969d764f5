// Proof that both deploy methods deploy the same thing: for every shipped stack and app (and a
// few variants), the chart rendered by `helm template` with the values the Helm component
// passes equals, object by object, what the raw component declares under Pulumi mocks.
// Needs the helm binary (tools/setup-cluster-tools.sh builds it); run by `npm run test:chart`.
import * as assert from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as yaml from "js-yaml";
import { REPLACEMENT_ID_ANNOTATION } from "../components/manifests";
import { BAD_SETTINGS } from "./badSettings";
import { appsOf, CHART_DIR, clone, loadStackFile, runProgram, runProgramExpectingError, secretConfig, SHIPPED_STACKS, T } from "./harness";

const HELM = process.env.HELM ?? "helm";
/** The objects the chart renders; the Secret and PVC patches are Pulumi-managed in both modes. */
const CHART_KINDS = [T.serviceAccount, T.service, T.statefulSet, T.pdb, T.networkPolicy];

type K8sObject = { apiVersion: string; kind: string; metadata: any; [key: string]: any };

/**
 * Every normalisation applied before comparing, and why it is legitimate:
 * 1. Label `app.kubernetes.io/managed-by`: "pulumi" in raw mode, "Helm" (.Release.Service) in helm
 *    mode, on the object and on its pod template (a mode switch restarts the pods anyway).
 * 2. Label `helm.sh/chart` on the object's own metadata only: Helm's chart-version label, raw mode
 *    has no chart. On a pod template it would be a difference: every chart version bump would
 *    restart every pod.
 * 3. Annotations `pulumi.com/*` on the object's own metadata only: instructions to Pulumi's
 *    Kubernetes provider (await, deletion propagation); in helm mode Helm does the awaiting and
 *    Pulumi never sees these objects, so they cannot be compared. On a pod template they would
 *    reach the pods, so there they are compared.
 * 4. Annotation `stateful-apps.dev/replacement-id` (object metadata): raw mode's marker that makes
 *    a StatefulSet replacement previewable with the buildable provider (components/statefulApp.ts).
 * 5. An `annotations` map left empty by 3 and 4 is removed.
 * Nothing else is touched: names, namespaces, specs, values and their types must be identical.
 */
export function normalise(obj: K8sObject): K8sObject {
    const copy = clone(obj);
    const visit = (node: any) => {
        if (!node || typeof node !== "object") {
            return;
        }
        delete node.labels?.["app.kubernetes.io/managed-by"];
        Object.values(node).forEach(visit);
    };
    visit(copy);
    const own = copy.metadata ?? {};
    delete own.labels?.["helm.sh/chart"];
    if (own.annotations) {
        for (const key of Object.keys(own.annotations)) {
            if (key.startsWith("pulumi.com/") || key === REPLACEMENT_ID_ANNOTATION) {
                delete own.annotations[key];
            }
        }
        if (Object.keys(own.annotations).length === 0) {
            delete own.annotations;
        }
    }
    return copy;
}

const keyOf = (o: K8sObject) => `${o.kind}/${o.metadata.name}`;

/** Differences between two object sets, as human-readable lines; empty means equal. */
export function differences(raw: K8sObject[], chart: K8sObject[]): string[] {
    const byKey = (objs: K8sObject[]) => new Map(objs.map((o) => [keyOf(o), normalise(o)]));
    const [a, b] = [byKey(raw), byKey(chart)];
    const diffs: string[] = [];
    for (const key of new Set([...a.keys(), ...b.keys()])) {
        if (!a.has(key)) {
            diffs.push(`${key}: only rendered by the chart`);
        } else if (!b.has(key)) {
            diffs.push(`${key}: only declared in raw mode`);
        } else {
            try {
                assert.deepStrictEqual(a.get(key), b.get(key));
            } catch (e) {
                diffs.push(`${key} differs:\n${(e as Error).message}`);
            }
        }
    }
    return diffs;
}

function helmTemplate(release: string, namespace: string, values: unknown): K8sObject[] {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "chart-values-"));
    const file = path.join(dir, "values.json");
    fs.writeFileSync(file, JSON.stringify(values));
    try {
        const out = execFileSync(HELM, ["template", release, CHART_DIR, "--namespace", namespace, "-f", file], {
            encoding: "utf8",
            stdio: ["ignore", "pipe", "pipe"],
        });
        return (yaml.loadAll(out) as K8sObject[]).filter((o) => o && o.kind);
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

/** The raw objects and the Helm values for one app of a config, from two runs of the program. */
async function bothModes(config: Record<string, unknown>, app: string) {
    const raw = await runProgram({ ...config, "stateful-apps:deployMethod": "raw" });
    const rawObjects = raw.resources
        .filter((r) => (CHART_KINDS as string[]).includes(r.type))
        .filter((r) => r.inputs.metadata.labels?.["app.kubernetes.io/instance"] === app)
        .map((r) => r.inputs as K8sObject);
    const helm = await runProgram({ ...config, "stateful-apps:deployMethod": "helm" });
    const release = helm.get(T.release, app).inputs;
    return { rawObjects, chartObjects: helmTemplate(release.name, release.namespace, release.values), values: release.values };
}

const PLACEMENT_VARIANT = "placement: every setting, the soft preset beside nodeAffinity and podAffinity, spread constraints with and without labelSelector";

const NETWORK_POLICY_VARIANTS = {
    peers: "networkPolicy: allowFrom a namespace-and-pod selector and an ipBlock with except",
    none: "networkPolicy: allowFrom [] (no ingress rule at all)",
    disabled: "networkPolicy: enabled false (no NetworkPolicy)",
};

/** Variants beyond the shipped stacks, so every template branch is compared. */
const VARIANTS: Record<string, Record<string, unknown>> = {
    "OnDelete, 0 replicas, storage class, access modes": {
        updateStrategy: { type: "OnDelete" }, replicas: 0, storageClass: "fast-ssd", accessModes: ["ReadWriteOnce", "ReadOnlyMany"],
    },
    "imagePullPolicy Never (a locally built image)": { imagePullPolicy: "Never" },
    "imagePullPolicy Always": { imagePullPolicy: "Always" },
    "canary partition, maxUnavailable, env of every plain type, custom resources": {
        replicas: 4,
        updateStrategy: { type: "RollingUpdate", partition: 3, maxUnavailable: 2 },
        env: { B_FLAG: true, A_NUM: 7, C_TEXT: "x y" },
        resources: { requests: { cpu: "1", memory: "100Mi", "ephemeral-storage": "1Gi" }, limits: { cpu: "2", memory: "1Gi" } },
        // whenDeleted Delete is refused in Helm mode (a release replacement would delete the PVCs).
        pvcRetentionPolicy: { whenDeleted: "Retain", whenScaled: "Delete" },
    },
    [PLACEMENT_VARIANT]: {
        // 1000000: Helm reads numbers as floats; printed plainly it would render 1e+06.
        terminationGracePeriodSeconds: 1000000,
        priorityClassName: "high-priority",
        nodeSelector: { disktype: "ssd", "kubernetes.io/arch": "amd64" },
        tolerations: [
            { key: "dedicated", operator: "Equal", value: "db", effect: "NoSchedule" },
            { operator: "Exists", effect: "NoExecute", tolerationSeconds: 300 },
        ],
        podAntiAffinityPreset: "soft",
        affinity: {
            nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: "pool", operator: "In", values: ["db"] }] }] } },
            podAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 10, podAffinityTerm: { labelSelector: { matchLabels: { role: "cache" } }, topologyKey: "kubernetes.io/hostname" } }] },
        },
        topologySpreadConstraints: [
            { maxSkew: 1, topologyKey: "kubernetes.io/hostname", whenUnsatisfiable: "ScheduleAnyway" },
            // "y" and "true" as label values: YAML would read them unquoted as booleans.
            { maxSkew: 2, topologyKey: "topology.kubernetes.io/zone", whenUnsatisfiable: "DoNotSchedule", labelSelector: { matchLabels: { x: "y", on: "true" } }, minDomains: 2, nodeTaintsPolicy: "Honor", matchLabelKeys: ["controller-revision-hash"] },
        ],
    },
    // Valid DNS subdomains that YAML reads as a boolean and a number unless the chart quotes them.
    "names YAML would misread: priorityClassName true, storageClass 1": { priorityClassName: "true", storageClass: "1" },
    "placement: hard preset, a grace period of 0 (rendered, not dropped)": { podAntiAffinityPreset: "hard", terminationGracePeriodSeconds: 0 },
    [NETWORK_POLICY_VARIANTS.peers]: {
        networkPolicy: {
            enabled: true,
            allowFrom: [
                { namespaceSelector: { matchLabels: { team: "web" } }, podSelector: { matchLabels: { role: "client" } } },
                { ipBlock: { cidr: "10.0.0.0/8", except: ["10.1.0.0/16"] } },
            ],
        },
    },
    [NETWORK_POLICY_VARIANTS.none]: { networkPolicy: { allowFrom: [] } },
    [NETWORK_POLICY_VARIANTS.disabled]: { networkPolicy: { enabled: false } },
    "placement: affinity.podAntiAffinity wins over the preset": {
        podAntiAffinityPreset: "hard",
        affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { role: "db" } }, topologyKey: "topology.kubernetes.io/zone" }] } },
    },
};

describe("raw and helm modes render the same objects", function () {
    this.timeout(60000);

    before(() => {
        try {
            execFileSync(HELM, ["version", "--short"], { stdio: "pipe" });
        } catch {
            throw new Error(`helm not found (HELM=${HELM}); run tools/setup-cluster-tools.sh or put helm on PATH`);
        }
    });

    for (const stack of SHIPPED_STACKS) {
        for (const app of Object.keys(appsOf(loadStackFile(stack)))) {
            it(`${stack} / ${app}`, async () => {
                const { rawObjects, chartObjects } = await bothModes(loadStackFile(stack), app);
                assert.ok(rawObjects.length >= 5, "ServiceAccount, two Services, StatefulSet, NetworkPolicy (+ PDB)");
                assert.deepStrictEqual(differences(rawObjects, chartObjects), []);
            });
        }
    }

    for (const [variant, settings] of Object.entries(VARIANTS)) {
        it(`variant: ${variant}`, async () => {
            const config = clone(loadStackFile("dev"));
            Object.assign(appsOf(config)["python-app"], settings);
            const { rawObjects, chartObjects } = await bothModes(config, "python-app");
            assert.deepStrictEqual(differences(rawObjects, chartObjects), []);
        });
    }

    it("networkPolicy: the chart renders it itself: ingress from allowFrom on the app port, egress to DNS and the app's pods; no ingress rule for []; no object when disabled", async () => {
        const policyOf = async (settings: Record<string, unknown>) => {
            const config = clone(loadStackFile("dev"));
            Object.assign(appsOf(config)["python-app"], settings);
            return (await bothModes(config, "python-app")).chartObjects.find((o) => o.kind === "NetworkPolicy");
        };
        const selector = { matchLabels: { "app.kubernetes.io/name": "python-app", "app.kubernetes.io/instance": "python-app" } };
        const port = [{ protocol: "TCP", port: 5000 }];
        const shipped = await policyOf({});
        assert.deepStrictEqual(shipped?.spec, {
            podSelector: selector,
            policyTypes: ["Ingress", "Egress"],
            ingress: [{ from: [{ podSelector: {} }], ports: port }],
            egress: [{ ports: [{ protocol: "UDP", port: 53 }, { protocol: "TCP", port: 53 }] }, { to: [{ podSelector: selector }], ports: port }],
        });
        // A rule with `from: []` would admit every source: [] must render no rule.
        assert.deepStrictEqual((await policyOf(VARIANTS[NETWORK_POLICY_VARIANTS.none]))?.spec.ingress, []);
        assert.strictEqual(await policyOf(VARIANTS[NETWORK_POLICY_VARIANTS.disabled]), undefined);
    });

    it("placement: the chart renders it itself (equal to raw mode, and not equally absent)", async () => {
        const config = clone(loadStackFile("dev"));
        Object.assign(appsOf(config)["python-app"], VARIANTS[PLACEMENT_VARIANT]);
        const { chartObjects } = await bothModes(config, "python-app");
        const spec = chartObjects.find((o) => o.kind === "StatefulSet")!.spec.template.spec;
        const selector = { matchLabels: { "app.kubernetes.io/name": "python-app", "app.kubernetes.io/instance": "python-app" } };
        assert.strictEqual(spec.terminationGracePeriodSeconds, 1000000);
        assert.deepStrictEqual(spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution, [
            { weight: 1, podAffinityTerm: { labelSelector: selector, topologyKey: "kubernetes.io/hostname" } },
        ]);
        assert.ok(spec.affinity.nodeAffinity && spec.affinity.podAffinity, "the user's affinity combines with the preset");
        assert.deepStrictEqual(spec.topologySpreadConstraints.map((c: any) => c.labelSelector), [selector, { matchLabels: { x: "y", on: "true" } }]);
    });

    it("the PDB in both modes: maxUnavailable 1, and an unhealthy pod may always be evicted (a drain is never blocked by a pod that is not ready anyway)", async () => {
        const { rawObjects, chartObjects } = await bothModes(clone(loadStackFile("dev")), "python-app");
        for (const [mode, objects] of [["raw", rawObjects], ["helm", chartObjects]] as const) {
            const pdb = objects.find((o) => o.kind === "PodDisruptionBudget");
            assert.ok(pdb, `${mode}: a PodDisruptionBudget (dev runs 2 python-app pods)`);
            assert.strictEqual(pdb.spec.maxUnavailable, 1, `${mode}: maxUnavailable`);
            assert.strictEqual(pdb.spec.unhealthyPodEvictionPolicy, "AlwaysAllow", `${mode}: unhealthyPodEvictionPolicy`);
        }
    });

    it("secretEnv: the same secretKeyRef env in both modes, and no value in the chart's output", async () => {
        const config = clone(loadStackFile("dev"));
        config["stateful-apps:secretEnv"] = secretConfig({ "python-app": { DB_PASSWORD: "s3cr3t-1", API_KEY: "s3cr3t-2" } });
        const { rawObjects, chartObjects } = await bothModes(config, "python-app");
        assert.deepStrictEqual(differences(rawObjects, chartObjects), []);
        const env = chartObjects.find((o) => o.kind === "StatefulSet")!.spec.template.spec.containers[0].env;
        assert.deepStrictEqual(env.filter((e: any) => e.valueFrom?.secretKeyRef).map((e: any) => e.name), ["API_KEY", "DB_PASSWORD", "ADMIN_TOKEN"]);
        assert.ok(!JSON.stringify(chartObjects).includes("s3cr3t"));
    });

    describe("the comparison can fail", () => {
        it("when one field of one object differs", async () => {
            const { rawObjects, chartObjects } = await bothModes(loadStackFile("prod"), "js-app");
            const mutated = clone(chartObjects);
            mutated.find((o) => o.kind === "StatefulSet")!.spec.template.spec.containers[0].readinessProbe.httpGet.path = "/";
            const diffs = differences(rawObjects, mutated);
            assert.strictEqual(diffs.length, 1);
            assert.match(diffs[0], /^StatefulSet\/js-app differs/);
        });

        it("when a value is rendered differently (replicas off by one)", async () => {
            const { rawObjects, values } = await bothModes(loadStackFile("staging"), "python-app");
            const chartObjects = helmTemplate("python-app", "stateful-apps-staging", { ...values, replicas: (values.replicas as number) + 1 });
            assert.deepStrictEqual(differences(rawObjects, chartObjects).map((d) => d.split(" ")[0]), ["StatefulSet/python-app"]);
        });

        it("when an object is missing on one side", async () => {
            const { rawObjects, chartObjects } = await bothModes(loadStackFile("prod"), "python-app");
            const diffs = differences(rawObjects, chartObjects.filter((o) => o.kind !== "PodDisruptionBudget"));
            assert.deepStrictEqual(diffs, ["PodDisruptionBudget/python-app: only declared in raw mode"]);
        });

        it("but not for the listed normalisations alone", () => {
            const obj: K8sObject = {
                apiVersion: "v1", kind: "Service",
                metadata: { name: "a", labels: { x: "1", "app.kubernetes.io/managed-by": "pulumi" }, annotations: { "pulumi.com/skipAwait": "true" } },
            };
            const other: K8sObject = {
                apiVersion: "v1", kind: "Service",
                metadata: { name: "a", labels: { x: "1", "app.kubernetes.io/managed-by": "Helm", "helm.sh/chart": "stateful-app-0.1.0" } },
            };
            assert.deepStrictEqual(differences([obj], [other]), []);
        });

        it("when the pod template carries helm.sh/chart or a pulumi.com annotation", () => {
            const sts = (templateMetadata: any): K8sObject => ({
                apiVersion: "apps/v1", kind: "StatefulSet", metadata: { name: "a" }, spec: { template: { metadata: templateMetadata } },
            });
            const plain = sts({ labels: { x: "1" } });
            assert.strictEqual(differences([plain], [sts({ labels: { x: "1", "helm.sh/chart": "stateful-app-0.1.0" } })]).length, 1);
            assert.strictEqual(differences([sts({ labels: { x: "1" }, annotations: { "pulumi.com/x": "1" } })], [plain]).length, 1);
        });
    });
});

describe("the chart (values.schema.json and _validate.tpl) rejects what the program rejects", function () {
    this.timeout(60000);
    // The shared table (tests/badSettings.ts): the program rejects every row (validation.test.ts);
    // here `helm template` must reject every row the chart can see, naming the same key.
    for (const row of BAD_SETTINGS.filter((r) => !r.notInChart)) {
        it(row.rule, async () => {
            const base = (await runProgram(loadStackFile("staging"), "staging")).get(T.release, "python-app").inputs.values;
            const values = clone({ ...base, ...row.set });
            const stderr = templateError(row.app!, values);
            const key = /^stateful-apps:apps\.[^.]+\.([^:]+)(?::|$)/.exec(row.messages[0])?.[1];
            if (key === undefined) {
                assert.match(stderr, /release name|invalid release name/i, "an app name is the release name");
                return;
            }
            // The schema names '/a/b' (a property name: 'NAME'); _validate.tpl names `a.b:`.
            const segments = key.replace(/\[(\d+)\]/g, ".$1").split(".");
            const named = [`'/${segments.join("/")}'`, `${key}:`, `'${segments[segments.length - 1]}'`, `'/${segments[0]}'`];
            assert.ok(named.some((n) => stderr.includes(n)), `${key} not named in:\n${stderr}`);
        });
    }

    it("the rows the chart cannot see are exactly the stack-level ones and the chart's own values", () => {
        assert.deepStrictEqual(BAD_SETTINGS.filter((r) => r.notInChart).map((r) => r.rule), [
            "namespace must be a DNS label",
            "the images' fixed pod facts (values.yaml pod) are not stack config",
            "unknown top-level keys are rejected",
            "deployMethod must be raw or helm",
            "rolloutTimeout must be whole seconds from 30 to 86400",
            "rolloutTimeout below 30 s is refused (every rollout would fail)",
            "apps must be a map",
            "the namespace must not be kube-system (the program would label it PSS restricted)",
            "the namespace must not be default",
            "an app name must not be another app's headless Service",
            "Helm mode refuses pvcRetentionPolicy.whenDeleted Delete (a release replacement would delete every PVC)",
        ]);
    });

    const stagingValues = async () => (await runProgram(loadStackFile("staging"), "staging")).get(T.release, "python-app").inputs.values;
    const templateError = (release: string, values: unknown) => {
        try {
            helmTemplate(release, "ns", values);
        } catch (e: any) {
            return String(e.stderr);
        }
        throw new Error("expected helm template to fail");
    };

    it("a release name over 52 characters (never truncated), with the program's wording", async () => {
        const name = "a".repeat(53);
        await runProgramExpectingError({ ...loadStackFile("dev"), "stateful-apps:apps": { [name]: { image: "x:1" } } });
        assert.match(templateError(name, await stagingValues()), /release name "a{53}" is not allowed; expected a DNS label of at most 52 characters/);
        assert.ok(helmTemplate("a".repeat(52), "ns", await stagingValues()).length >= 5, "52 characters fit");
    });

    it("every problem the schema cannot express at once, in one failure", async () => {
        const values = {
            ...(await stagingValues()), replicas: 1, updateStrategy: { type: "RollingUpdate", partition: 2 },
            resources: { requests: { cpu: "2", memory: "1Gi" }, limits: { cpu: "1", memory: "1Gi" } },
        };
        const stderr = templateError("python-app", values);
        assert.match(stderr, /invalid values \(2 problem\(s\)\)/);
        assert.match(stderr, /updateStrategy.partition: got 2; expected at most replicas \(1\)/);
        assert.match(stderr, /resources.requests.cpu: got "2"; expected at most the limit 1/);
    });

    it("request <= limit compares quantities, not strings (equal values in other units pass)", async () => {
        for (const [request, limit] of [["1Gi", "1024Mi"], ["1k", "1e3"]]) {
            const values = { ...(await stagingValues()), resources: { requests: { memory: request }, limits: { memory: limit } } };
            assert.ok(helmTemplate("python-app", "ns", values).length >= 5, `${request} <= ${limit}`);
        }
        // Fractions of a unit: cpu only (memory is whole bytes).
        for (const [request, limit] of [["500m", "0.5"], ["1m", "1e-3"]]) {
            const values = { ...(await stagingValues()), resources: { requests: { cpu: request }, limits: { cpu: limit } } };
            assert.ok(helmTemplate("python-app", "ns", values).length >= 5, `${request} <= ${limit}`);
        }
        for (const [request, limit] of [["1025Mi", "1Gi"], ["1001k", "1e6"]]) {
            const values = { ...(await stagingValues()), resources: { requests: { memory: request }, limits: { memory: limit } } };
            assert.match(templateError("python-app", values), /expected at most the limit/, `${request} > ${limit}`);
        }
        for (const [request, limit] of [["2e-3", "1m"], ["0.6", "500m"]]) {
            const values = { ...(await stagingValues()), resources: { requests: { cpu: request }, limits: { cpu: limit } } };
            assert.match(templateError("python-app", values), /expected at most the limit/, `${request} > ${limit}`);
        }
    });

    it("a reserved secret env name (values only the program fills in)", async () => {
        const run = await runProgram(loadStackFile("staging"), "staging");
        const values = { ...run.get(T.release, "python-app").inputs.values, secretEnvNames: ["ADMIN_TOKEN"] };
        assert.throws(() => helmTemplate("python-app", "ns", values), (e: any) => /values don't meet the specifications/.test(String(e.stderr)));
    });
});
