// The rules of the stateful-apps policy pack, as plain policy objects (index.ts wraps them in a
// PolicyPack; tests/policy.test.ts feeds them the resources the real program declares).
//
// What a policy can see (@pulumi/policy 1.21.0 with the 3.248 engine, checked in its server.js and
// the analyzer proto): each resource's type, URN, name and inputs ("props"), and of its options
// only protect, ignoreChanges, deleteBeforeReplace, aliases, customTimeouts,
// additionalSecretOutputs and parent. Not retainOnDelete, not replaceOnChanges, not the previous
// state, not the stack config. Every rule below is written against exactly that.
//
// Helm mode: a kubernetes:helm.sh/v3:Release is one resource whose inputs are a chart path and
// `values`; the objects the chart renders are created by Helm inside the provider and never reach
// the analyzer. The program passes the app's validated settings as the values
// (components/helmApp.ts helmValues: every AppSettings field but the name, and volumeClaimName when it is the chart's default), so the rules read
// the same settings there that raw mode renders into the StatefulSet. What the chart fixes in its
// templates (pod security, the PDB when replicas > 1, that it can spread) is read from the chart's own
// files below, not copied here.
import * as fs from "fs";
import * as path from "path";
// Only constants and pure functions, from modules whose other imports are types (erased when
// compiled): loading them does not load @pulumi/kubernetes into the analyzer.
import { DELETION_PROPAGATION_ANNOTATION, K8S_TYPES } from "../components/identifiers";
import { pvcName, selectorLabels } from "../components/manifests";
import { parseQuantity } from "../components/quantity";
import type { AppSettings } from "../components/config";

// ── Minimal views of the policy SDK's types ────────────────────────────────────────────────
// Structural subsets of @pulumi/policy's ResourceValidationArgs/StackValidationArgs, so the root
// project's tests can run these rules without installing the pack's dependencies (index.ts
// type-checks them against the real SDK types: `npm --prefix policy run build`).
export interface ResourceArgs {
    type: string;
    name: string;
    urn: string;
    props: Record<string, any>;
    opts: { protect: boolean; deleteBeforeReplace?: boolean; parent?: string };
    getConfig<T extends object>(): T;
}
export interface StackArgs {
    resources: { type: string; name: string; urn: string; props: Record<string, any>; opts?: Partial<ResourceArgs["opts"]> }[];
    getConfig<T extends object>(): T;
}
export type Report = (message: string, urn?: string) => void;
type Level = "advisory" | "mandatory";
interface Config { productionStacks?: string[] }
const configSchema = {
    properties: {
        // Policy config (pulumi preview --policy-pack-config FILE), since a policy cannot read stack config.
        productionStacks: { type: "array" as const, items: { type: "string" as const }, default: ["prod"] },
    },
};
export interface ResourcePolicy {
    name: string; description: string; enforcementLevel: Level; configSchema: typeof configSchema;
    validateResource: (args: ResourceArgs, report: Report) => void;
}
export interface StackPolicy {
    name: string; description: string; enforcementLevel: Level; configSchema: typeof configSchema;
    validateStack: (args: StackArgs, report: Report) => void;
}

export const T = K8S_TYPES;
/** Workloads whose pod template the Pod Security and secret-env rules read (raw mode renders StatefulSets only). */
const POD_TEMPLATE_TYPES: Record<string, (props: any) => any> = {
    [K8S_TYPES.statefulSet]: (p) => p?.spec?.template?.spec,
    "kubernetes:apps/v1:Deployment": (p) => p?.spec?.template?.spec,
    "kubernetes:apps/v1:DaemonSet": (p) => p?.spec?.template?.spec,
    "kubernetes:batch/v1:Job": (p) => p?.spec?.template?.spec,
    "kubernetes:batch/v1:CronJob": (p) => p?.spec?.jobTemplate?.spec?.template?.spec,
    "kubernetes:core/v1:Pod": (p) => p?.spec,
};

// ── Facts from the program and the chart ───────────────────────────────────────────────────
const CHART_DIR = path.join(__dirname, "..", "charts", "stateful-app");
const chartFile = (f: string) => fs.readFileSync(path.join(CHART_DIR, f), "utf8");
/** The chart's name (Chart.yaml): a Release of this chart is one of the program's apps. */
export const CHART_NAME = /^name:\s*(\S+)\s*$/m.exec(chartFile("Chart.yaml"))![1];
/** The top-level values the chart's schema allows (it has additionalProperties: false). */
const CHART_VALUE_KEYS = new Set(Object.keys(JSON.parse(chartFile("values.schema.json")).properties));
const CHART_TEMPLATES = fs.readdirSync(path.join(CHART_DIR, "templates")).map((f) => chartFile(path.join("templates", f))).join("\n");
/** The chart renders a PodDisruptionBudget (templates/pdb.yaml, when replicas > 1). */
const CHART_HAS_PDB = /kind:\s*PodDisruptionBudget/.test(CHART_TEMPLATES);
/** Whether the chart's templates spread pods (topologySpreadConstraints or pod anti-affinity). */
const CHART_SPREADS = /topologySpreadConstraints|podAntiAffinity/.test(CHART_TEMPLATES);
/** The label that names an app's instance (components/manifests.ts selectorLabels). */
const INSTANCE_LABEL = Object.keys(selectorLabels({ name: "x" } as AppSettings)).find((k) => k.endsWith("/instance"))!;
/** The chart's default volume claim template name (values.yaml `volumeClaimName`). */
const DEFAULT_CLAIM_NAME = /^volumeClaimName:\s*(\S+)\s*$/m.exec(chartFile("values.yaml"))![1];
/**
 * `data-<app>-<i>` (components/manifests.ts pvcName with the default claim name) as a pattern,
 * to name a patch's app. A patch of another claim name cannot be split into claim and app
 * (both may contain '-'): it is named by its PVC's name.
 */
const PVC_NAME = new RegExp(`^${pvcName({ name: "(.+)", volumeClaimName: DEFAULT_CLAIM_NAME }, 0).replace(/0$/, "(\\d+)$")}`);

/** A Release of the program's chart (the program passes CHART_PATH, `./charts/stateful-app`). */
function isProjectChart(props: any): boolean {
    const chart = typeof props?.chart === "string" ? props.chart : "";
    return path.posix.basename(path.posix.normalize(chart)) === CHART_NAME && !/^[a-z]+:\/\//.test(chart);
}

/** The stack name is the second field of every URN: urn:pulumi:<stack>::<project>::<type>::<name>. */
export const stackOf = (urn: string) => urn.split(":")[2]?.split("::")[0] ?? "";
function isProduction(urn: string, config: Config): boolean {
    return (config.productionStacks ?? ["prod"]).includes(stackOf(urn));
}

const meta = (props: any) => props?.metadata ?? {};
/** The app an object belongs to: its instance label, else its name (Helm: the release name). */
function appOf(type: string, props: any, name: string): string {
    if (type === T.release) {
        return props?.name ?? name;
    }
    const m = meta(props);
    return m.labels?.[INSTANCE_LABEL] ?? PVC_NAME.exec(m.name ?? "")?.[1] ?? m.name ?? name;
}
function describe(type: string, props: any, name: string): string {
    const kind = type.split(":").pop();
    const m = meta(props);
    const id = type === T.release ? `${props?.namespace ?? "?"}/${props?.name ?? name}` : `${m.namespace ?? "?"}/${m.name ?? name}`;
    return `app ${appOf(type, props, name)}: ${kind} ${id}`;
}

// ── 1. Replacement or deletion keeps pods and PVCs ─────────────────────────────────────────
const replacementKeepsData: ResourcePolicy = {
    name: "statefulset-replacement-keeps-pods-and-pvcs",
    description: "A StatefulSet replacement or deletion orphans its pods and keeps its PVCs; a PVC is never deleted by Pulumi.",
    enforcementLevel: "mandatory",
    configSchema,
    validateResource: ({ type, props, name, opts }, report) => {
        const what = describe(type, props, name);
        if (type === T.statefulSet) {
            const policy = meta(props).annotations?.[DELETION_PROPAGATION_ANNOTATION];
            if (policy !== "orphan") {
                report(`${what}: a replacement (storageSize, storageClass, accessModes, podManagementPolicy) or deletion would delete all its pods at once ` +
                    `(${DELETION_PROPAGATION_ANNOTATION}: ${policy ?? "unset, i.e. foreground"}). Fix: annotate it ${DELETION_PROPAGATION_ANNOTATION}: orphan ` +
                    "(components/manifests.ts statefulSetAnnotations), so the new StatefulSet adopts the running pods.");
            }
        } else if (type === T.pvc && !opts.protect) {
            // retainOnDelete is not visible to a policy; protect is, and it also stops `pulumi destroy`.
            report(`${what}: a PersistentVolumeClaim managed by Pulumi is deleted, with its data, when it is replaced or removed from the program. ` +
                "Fix: let the StatefulSet's volumeClaimTemplates create the PVCs (resize them with a PersistentVolumeClaimPatch), or declare it with { protect: true }.");
        } else if (type === T.pvcPatch && (meta(props).ownerReferences ?? []).length > 0) {
            // The patch's retainOnDelete (components/appResources.ts) is invisible here; it is
            // asserted by tests/knobs.test.ts. What a patch could do to lose the PVC and is visible:
            // an owner reference, after which the garbage collector deletes the PVC with its owner.
            report(`${what}: the patch sets metadata.ownerReferences, so the garbage collector deletes the PVC (and its data) when that owner is deleted. ` +
                "Fix: patch only spec.resources.requests.storage.");
        } else if (type === T.release && props?.values?.pvcRetentionPolicy?.whenDeleted === "Delete") {
            // A release replacement is helm uninstall + install: the uninstall deletes the
            // StatefulSet, and with whenDeleted Delete the controller then deletes every PVC.
            report(`${what}: values.pvcRetentionPolicy.whenDeleted is Delete, and a change of storageSize, storageClass, accessModes or ` +
                "podManagementPolicy replaces the release (uninstall, install): the uninstall deletes the StatefulSet and with it every PVC of the app. " +
                `Fix: pulumi config set --path 'apps.${appOf(type, props, name)}.pvcRetentionPolicy.whenDeleted' Retain (or use deployMethod raw).`);
        }
    },
};

// ── 2. No PVC retention Delete in production ──────────────────────────────────────────────
function retentionPolicyOf(type: string, props: any): Record<string, unknown> | undefined {
    if (type === T.statefulSet) {
        return props?.spec?.persistentVolumeClaimRetentionPolicy;
    }
    if (type === T.release && isProjectChart(props)) {
        return props?.values?.pvcRetentionPolicy;
    }
    return undefined;
}
const noPvcDeleteInProduction: ResourcePolicy = {
    name: "no-pvc-delete-in-production",
    description: "In a production stack (policy config productionStacks, default [\"prod\"]) PVCs are retained when the StatefulSet is deleted or scaled down.",
    enforcementLevel: "mandatory",
    configSchema,
    validateResource: ({ type, props, name, urn, getConfig }, report) => {
        const retention = retentionPolicyOf(type, props);
        if (!retention || !isProduction(urn, getConfig<Config>())) {
            return;
        }
        for (const when of ["whenDeleted", "whenScaled"]) {
            if (retention[when] === "Delete") {
                report(`${describe(type, props, name)}: pvcRetentionPolicy.${when} is Delete in production stack ${stackOf(urn)}: ` +
                    `${when === "whenDeleted" ? "removing the app or destroying the stack" : "scaling down"} deletes the PVCs and their data. ` +
                    `Fix: pulumi config set --path 'apps.${appOf(type, props, name)}.pvcRetentionPolicy.${when}' Retain -s ${stackOf(urn)}.`);
            }
        }
    },
};

// ── 3. Secret-looking env values come from a Secret ───────────────────────────────────────
/**
 * Names that look like secrets: TOKEN, PASSWORD/PASSWD, SECRET, CREDENTIAL anywhere, and KEY as
 * a whole `_`-separated word or a known *KEY suffix (API_KEY, APIKEY, PRIVATE_KEY, ACCESS_KEY_ID),
 * not any substring: MONKEY or KEYCLOAK_URL are not secrets.
 */
export const SECRET_NAME = /TOKEN|PASSW(?:OR)?D|SECRET|CREDENTIAL|(?:^|_)(?:API|PRIVATE|ACCESS|SIGNING|ENCRYPTION)?KEYS?(?:_|$)|APIKEY/i;
function containersOf(spec: any): any[] {
    return [...(spec?.initContainers ?? []), ...(spec?.containers ?? [])];
}
const secretEnvFromSecret: ResourcePolicy = {
    name: "secret-env-from-secret",
    description: "A container env var whose name looks like a secret (*TOKEN*, *PASSWORD*, *SECRET*, *KEY*) reads it from a Secret (valueFrom.secretKeyRef), never a literal.",
    enforcementLevel: "mandatory",
    configSchema,
    validateResource: ({ type, props, name }, report) => {
        const app = appOf(type, props, name);
        const fix = (env: string) => `Fix: pulumi config rm --path 'apps.${app}.env.${env}', then ` +
            `pulumi config set --secret --path 'stateful-apps:secretEnv.${app}.${env}' <value> (it reaches the container through the app's Secret).`;
        if (type === T.release) {
            // The chart renders values.env as literal `value`s; secret env names go in secretEnvNames.
            for (const env of Object.keys(props?.values?.env ?? {}).filter((n) => SECRET_NAME.test(n))) {
                report(`${describe(type, props, name)}: values.env.${env} looks like a secret and is rendered as a plain env value (in the release's values, every preview and the state). ${fix(env)}`);
            }
            return;
        }
        const spec = POD_TEMPLATE_TYPES[type]?.(props);
        for (const c of containersOf(spec)) {
            for (const e of c?.env ?? []) {
                if (SECRET_NAME.test(e?.name ?? "") && !e?.valueFrom?.secretKeyRef) {
                    const how = e?.valueFrom ? `valueFrom.${Object.keys(e.valueFrom).join(",")}` : "a literal value";
                    report(`${describe(type, props, name)}: container ${c.name} env ${e.name} looks like a secret but is ${how}, not valueFrom.secretKeyRef. ${fix(e.name)}`);
                }
            }
        }
    },
};

// ── 4. Pod Security Standards restricted ─────────────────────────────────────────────────
const SECCOMP_OK = ["RuntimeDefault", "Localhost"];
/** What a pod spec lacks for PSS restricted (the securityContext checks of the standard). */
export function restrictedProblems(spec: any): string[] {
    const problems: string[] = [];
    const pod = spec?.securityContext ?? {};
    for (const c of containersOf(spec)) {
        const sc = c?.securityContext ?? {};
        const where = `container ${c?.name}`;
        const nonRoot = sc.runAsNonRoot ?? pod.runAsNonRoot;
        if (nonRoot !== true) {
            problems.push(`${where}: runAsNonRoot is ${nonRoot ?? "unset"} (pod or container securityContext.runAsNonRoot: true)`);
        }
        if ((sc.runAsUser ?? pod.runAsUser) === 0) {
            problems.push(`${where}: runAsUser is 0 (root)`);
        }
        if (sc.allowPrivilegeEscalation !== false) {
            problems.push(`${where}: allowPrivilegeEscalation is ${sc.allowPrivilegeEscalation ?? "unset"} (securityContext.allowPrivilegeEscalation: false)`);
        }
        if (sc.privileged === true) {
            problems.push(`${where}: privileged`);
        }
        const drop: string[] = sc.capabilities?.drop ?? [];
        if (!drop.includes("ALL")) {
            problems.push(`${where}: capabilities.drop is [${drop.join(", ")}] (securityContext.capabilities.drop: [ALL])`);
        }
        const added = (sc.capabilities?.add ?? []).filter((a: string) => a !== "NET_BIND_SERVICE");
        if (added.length > 0) {
            problems.push(`${where}: capabilities.add [${added.join(", ")}] (only NET_BIND_SERVICE is allowed)`);
        }
        const seccomp = sc.seccompProfile?.type ?? pod.seccompProfile?.type;
        if (!SECCOMP_OK.includes(seccomp)) {
            problems.push(`${where}: seccompProfile is ${seccomp ?? "unset"} (pod securityContext.seccompProfile.type: RuntimeDefault or Localhost)`);
        }
    }
    return problems;
}
const podSecurityRestricted: ResourcePolicy = {
    name: "pod-security-restricted",
    description: "Every pod spec meets Pod Security Standards restricted (non-root, no privilege escalation, capabilities drop ALL, seccomp RuntimeDefault/Localhost).",
    enforcementLevel: "mandatory",
    configSchema,
    validateResource: ({ type, props, name }, report) => {
        const what = describe(type, props, name);
        if (type === T.release) {
            // The pod spec is rendered by Helm, invisible here. The program's chart fixes pod
            // security in templates/statefulset.yaml (restricted: the same pod spec as raw mode,
            // tests/equivalence.chart-test.ts) and its schema admits no other values keys, so
            // the values cannot lower it; any other chart cannot be checked from its values.
            if (!isProjectChart(props)) {
                report(`${what}: chart ${props?.chart} is not the program's chart ${CHART_NAME}: its pod security cannot be verified from the release's values. ` +
                    `Fix: deploy apps with charts/${CHART_NAME} (deployMethod helm) or as raw resources.`);
                return;
            }
            const extra = Object.keys(props?.values ?? {}).filter((k) => !CHART_VALUE_KEYS.has(k));
            if (extra.length > 0) {
                report(`${what}: values ${extra.join(", ")} are not values of chart ${CHART_NAME} (its values.schema.json), e.g. a securityContext override. ` +
                    "Fix: remove them; pod security is fixed by the chart's template.");
            }
            return;
        }
        const spec = POD_TEMPLATE_TYPES[type]?.(props);
        if (!spec) {
            return;
        }
        const problems = restrictedProblems(spec);
        if (problems.length > 0) {
            report(`${what}: the pod spec is below Pod Security Standards restricted (the namespace enforces it, so its pods would be refused): ${problems.join("; ")}. ` +
                "Fix: the securityContext of components/manifests.ts statefulSet.");
        }
    },
};

// ── 5. Production: replicas ≥ 2 need a PDB, and should spread ──────────────────────────────
interface Workload { app: string; what: string; urn: string; replicas: number; namespace?: string; labels: Record<string, string>; spec?: any; values?: any; chart: boolean }
function replicatedWorkloads(args: StackArgs): Workload[] {
    const out: Workload[] = [];
    for (const r of args.resources) {
        if (r.type === T.statefulSet && (r.props?.spec?.replicas ?? 1) >= 2) {
            out.push({
                app: appOf(r.type, r.props, r.name), what: describe(r.type, r.props, r.name), urn: r.urn,
                replicas: r.props.spec.replicas, namespace: meta(r.props).namespace,
                labels: r.props.spec.template?.metadata?.labels ?? {}, spec: r.props.spec.template?.spec, chart: false,
            });
        } else if (r.type === T.release && (r.props?.values?.replicas ?? 1) >= 2) {
            out.push({
                app: appOf(r.type, r.props, r.name), what: describe(r.type, r.props, r.name), urn: r.urn,
                replicas: r.props.values.replicas, labels: {}, values: r.props.values, chart: isProjectChart(r.props),
            });
        }
    }
    return out;
}
const selects = (selector: Record<string, string> | undefined, labels: Record<string, string>) =>
    !!selector && Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels[k] === v);

const productionPdb: StackPolicy = {
    name: "production-replicas-have-pdb",
    description: "In a production stack, an app with replicas >= 2 has a PodDisruptionBudget selecting its pods.",
    enforcementLevel: "mandatory",
    configSchema,
    validateStack: (args, report) => {
        const config = args.getConfig<Config>();
        const pdbs = args.resources.filter((r) => r.type === T.pdb);
        for (const w of replicatedWorkloads(args).filter((w) => isProduction(w.urn, config))) {
            // Helm: the program's chart renders the PDB itself when replicas > 1 (templates/pdb.yaml).
            const covered = w.chart ? CHART_HAS_PDB
                : pdbs.some((p) => meta(p.props).namespace === w.namespace && selects(p.props?.spec?.selector?.matchLabels, w.labels));
            if (!covered) {
                report(`${w.what}: ${w.replicas} replicas in production stack ${stackOf(w.urn)} without a PodDisruptionBudget: a node drain may evict every pod at once. ` +
                    "Fix: declare components/manifests.ts podDisruptionBudget for it (StatefulApp does when replicas > 1).", w.urn);
            }
        }
    },
};
const productionSpread: StackPolicy = {
    name: "production-replicas-spread",
    description: "In a production stack, an app with replicas >= 2 spreads its pods across nodes (topologySpreadConstraints or pod anti-affinity).",
    enforcementLevel: "advisory",
    configSchema,
    validateStack: (args, report) => {
        const config = args.getConfig<Config>();
        for (const w of replicatedWorkloads(args).filter((w) => isProduction(w.urn, config))) {
            // Helm: the chart renders the placement values into the pod template (templates/statefulset.yaml).
            const spreads = w.chart
                ? CHART_SPREADS && ((w.values?.topologySpreadConstraints ?? []).length > 0 || ["soft", "hard"].includes(w.values?.podAntiAffinityPreset) || !!w.values?.affinity?.podAntiAffinity)
                : ((w.spec?.topologySpreadConstraints ?? []).length > 0 || !!w.spec?.affinity?.podAntiAffinity);
            if (!spreads) {
                report(`${w.what}: ${w.replicas} replicas in production stack ${stackOf(w.urn)} with no topologySpreadConstraints or podAntiAffinity: ` +
                    `the scheduler may put every pod on one node. Fix: pulumi config set --path 'apps.${w.app}.podAntiAffinityPreset' soft (or set topologySpreadConstraints).`, w.urn);
            }
        }
    },
};

// ── 6. No storage shrink ───────────────────────────────────────────────────────────────────
// A policy gets no previous state, so "smaller than before" is not visible to it (the preview's
// JSON has the old inputs: ci/preview-summary/ reads them). What is provable within one preview:
// each PVC patch resizes a PVC that the StatefulSet created from its volumeClaimTemplate, so a
// patch asking for less than the template's size (raw: spec.volumeClaimTemplates; Helm:
// values.storageSize) shrinks that PVC below what its StatefulSet gives every pod (Kubernetes
// refuses it, after the StatefulSet was already replaced). And a size must be a valid quantity.
const noStorageShrink: StackPolicy = {
    name: "no-storage-shrink",
    description: "No PersistentVolumeClaimPatch requests less storage than the app's StatefulSet volumeClaimTemplate (raw) or values.storageSize (Helm).",
    enforcementLevel: "mandatory",
    configSchema,
    validateStack: (args, report) => {
        const templateSize = new Map<string, string>();
        for (const r of args.resources) {
            if (r.type === T.statefulSet) {
                const size = (r.props?.spec?.volumeClaimTemplates ?? []).map((t: any) => t?.spec?.resources?.requests?.storage)[0];
                templateSize.set(`${meta(r.props).namespace}/${appOf(r.type, r.props, r.name)}`, size);
            } else if (r.type === T.release && isProjectChart(r.props)) {
                templateSize.set(`${r.props?.namespace}/${appOf(r.type, r.props, r.name)}`, r.props?.values?.storageSize);
            }
        }
        for (const p of args.resources.filter((r) => r.type === T.pvcPatch)) {
            const app = appOf(p.type, p.props, p.name);
            const requested = p.props?.spec?.resources?.requests?.storage;
            const template = templateSize.get(`${meta(p.props).namespace}/${app}`);
            if (requested === undefined || template === undefined) {
                continue;
            }
            const [req, tpl] = [parseQuantity(String(requested)), parseQuantity(String(template))];
            if (req === undefined || tpl === undefined) {
                report(`${describe(p.type, p.props, p.name)}: storage ${requested} / template ${template} is not a Kubernetes quantity. Fix: apps.${app}.storageSize, e.g. 1Gi.`, p.urn);
            } else if (req < tpl) {
                report(`${describe(p.type, p.props, p.name)}: requests ${requested}, less than the ${template} of the app's volumeClaimTemplate: a storage shrink, which Kubernetes refuses ` +
                    `(volumes only grow). Fix: set apps.${app}.storageSize back to at least the PVCs' current size.`, p.urn);
            }
        }
    },
};

export const policies: (ResourcePolicy | StackPolicy)[] = [
    replacementKeepsData, noPvcDeleteInProduction, secretEnvFromSecret, podSecurityRestricted,
    productionPdb, productionSpread, noStorageShrink,
];
