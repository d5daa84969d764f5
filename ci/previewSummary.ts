// What a `pulumi preview --json` means for the apps' pods and volumes, in words a reviewer reads
// in five seconds: the head of the pull-request comment (.github/workflows/preview.yml), and what
// the end-to-end suite asserts on.
//
// The JSON is the Pulumi CLI's PreviewDigest (pkg/display/json.go, v3.248): `steps[]` with `op`,
// `urn`, `oldState`/`newState` (apitype.ResourceV3: `type`, `inputs`, `outputs`, `parent`,
// `retainOnDelete`, `resourceHooks`, ...), `diffReasons`, `replaceReasons`, `detailedDiff`
// (property path -> {kind, inputDiff}); plus `config`, `diagnostics`, `changeSummary`. By default
// it lists neither unchanged resources (except the stack) nor the `create-replacement` /
// `delete-replaced` halves of a replacement (only with --show-sames / --show-replacement-steps);
// both forms are understood. Secrets are serialized as "[secret]", unknown values as
// UNKNOWN_VALUE.
//
// What restarts pods: only a change of the StatefulSet's pod template (spec.template: image, env,
// resources, ...), rolled out per its update strategy. Replicas, update strategy, annotations,
// retention policy change no running pod. A raw-mode replacement deletes the old StatefulSet with
// `pulumi.com/deletionPropagationPolicy: orphan`, so the pods keep running and the new one adopts
// them (and rolls them only if the template changed too); without that annotation, and for a Helm
// release replacement (uninstall + install), all pods go at once.

/** How Pulumi serializes a value that is unknown during preview. */
export const UNKNOWN_VALUE = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

/** The program's ComponentResource types, and the deploy method each stands for. */
export const APP_COMPONENT_TYPES: Record<string, DeployMethod> = {
    "stateful-apps:index:StatefulApp": "raw",
    "stateful-apps:index:HelmStatefulApp": "helm",
};
export const STATEFULSET_TYPE = "kubernetes:apps/v1:StatefulSet";
export const RELEASE_TYPE = "kubernetes:helm.sh/v3:Release";
export const PVC_PATCH_TYPE = "kubernetes:core/v1:PersistentVolumeClaimPatch";
export const SECRET_TYPE = "kubernetes:core/v1:Secret";
const STACK_TYPE = "pulumi:pulumi:Stack";
const ORPHAN_ANNOTATION = "pulumi.com/deletionPropagationPolicy";

/**
 * Release values that do not reach the pod template (charts/stateful-app): changing only these
 * restarts no pod. Any other value (image, port, env, resources, imagePullPolicy, a key added
 * later, ...) is taken as a pod template change: unknown keys err on the side of "restarts".
 */
export const HELM_NON_TEMPLATE_VALUES = [
    "replicas", "updateStrategy", "pvcRetentionPolicy",
    "storageSize", "storageClass", "accessModes", "podManagementPolicy",
];
/** Release inputs besides `values` that change the rendered chart. */
const HELM_TEMPLATE_INPUTS = ["chart", "version", "valueYamlFiles", "repositoryOpts"];

// ---------------------------------------------------------------------------------------------
// The preview JSON (only what is read here; see the Pulumi source for the rest)

export type DeployMethod = "raw" | "helm";

export interface ResourceState {
    urn?: string;
    custom?: boolean;
    id?: string;
    type: string;
    inputs?: Record<string, any>;
    outputs?: Record<string, any>;
    parent?: string;
    retainOnDelete?: boolean;
    resourceHooks?: Record<string, string[]>;
    [key: string]: unknown;
}

export interface PropertyDiff {
    kind: string;
    inputDiff: boolean;
}

export interface PreviewStep {
    op: string;
    urn: string;
    provider?: string;
    oldState?: ResourceState;
    newState?: ResourceState;
    diffReasons?: string[];
    replaceReasons?: string[];
    detailedDiff?: Record<string, PropertyDiff> | null;
}

export interface PreviewDiagnostic {
    urn?: string;
    prefix?: string;
    message?: string;
    severity?: string;
}

export interface PreviewDigest {
    config?: Record<string, string>;
    steps?: PreviewStep[];
    diagnostics?: PreviewDiagnostic[];
    duration?: number;
    changeSummary?: Record<string, number>;
    maybeCorrupt?: boolean;
}

// ---------------------------------------------------------------------------------------------
// The summary

/** What happens to the app's StatefulSet (raw mode) or Helm release (helm mode). */
export type WorkloadChange = "unchanged" | "updated" | "replaced" | "created" | "deleted";

/**
 * What happens to the app's running pods:
 * - `none`: no pod restarts (new pods for new ordinals may start, removed ordinals stop);
 * - `rolling`: every pod is replaced, one at a time (the StatefulSet's RollingUpdate);
 * - `all-at-once`: every pod is deleted together, then started again (downtime);
 * - `partition>=N`: only the pods with ordinal ≥ N restart (a canary);
 * - `on-delete`: none until someone deletes a pod (OnDelete); each comes back updated;
 * - `deleted`: the app's pods are deleted, not started again (app removed);
 * - `orphaned`: the app's StatefulSet goes, its pods keep running with no controller.
 */
export type PodRestarts = "none" | "rolling" | "all-at-once" | `partition>=${number}` | "on-delete" | "deleted" | "orphaned";

export interface PvcResize {
    name: string;
    from?: string;
    to?: string;
}

export interface AppSummary {
    app: string;
    deployMethod: DeployMethod;
    /** `StatefulSet` or `Helm release`. */
    workloadKind: "StatefulSet" | "Helm release";
    workload: WorkloadChange;
    podRestarts: PodRestarts;
    /** The app's replicas before and after (undefined when unknown or absent). */
    replicas: { from?: number; to?: number };
    pvcs: {
        /** PVCs the StatefulSet creates for new ordinals (re-attached instead if kept from an earlier scale-down). */
        created: string[];
        /** PVCs whose size patch changes. */
        resized: PvcResize[];
        /** PVCs Kubernetes deletes as a consequence (retention policy Delete). */
        deleted: string[];
    };
    /** Other Kubernetes objects deleted from the cluster, as `Kind name` (app removal, a PDB on scale-down, ...). */
    otherDeletes: string[];
    /** Resources dropped from Pulumi's state but left in the cluster (retainOnDelete, patches). */
    released: string[];
    /** Other changes of the app's resources (Pulumi-only deletions among them), as `op Kind name`. */
    otherChanges: string[];
    /** Why, and what else to know (one sentence each). */
    notes: string[];
    /** Something the reviewer must look at: downtime, data loss, pods left running. */
    warnings: string[];
}

export interface PreviewSummary {
    apps: AppSummary[];
    /** Changes outside any app (namespace, providers, ...), as `op Kind name`. */
    other: string[];
    /** The engine's count per operation. */
    changeSummary: Record<string, number>;
    /** True if any resource changes. */
    hasChanges: boolean;
    /** Error diagnostics: the preview failed. */
    errors: string[];
}

// ---------------------------------------------------------------------------------------------
// Parsing

/**
 * Parses the output of `pulumi preview --json`. Tolerates text around the JSON document (as when
 * stdout and stderr were captured together).
 */
export function parsePreviewJson(text: string): PreviewDigest {
    try {
        return JSON.parse(text) as PreviewDigest;
    } catch (first) {
        // The CLI prints the document indented, starting with a line "{": try each such line.
        const end = text.lastIndexOf("}");
        for (const m of text.matchAll(/^\{/gm)) {
            try {
                return JSON.parse(text.slice(m.index, end + 1)) as PreviewDigest;
            } catch {
                // not this one
            }
        }
        throw first;
    }
}

export interface ParsedUrn {
    stack: string;
    project: string;
    /** The resource's own type token. */
    type: string;
    /** The type tokens of its ancestors, outermost first. */
    parentTypes: string[];
    name: string;
}

/** `urn:pulumi:<stack>::<project>::<parent-type>$<type>::<name>` */
export function parseUrn(urn: string): ParsedUrn {
    const parts = urn.replace(/^urn:pulumi:/, "").split("::");
    const types = (parts[2] ?? "").split("$");
    return {
        stack: parts[0] ?? "",
        project: parts[1] ?? "",
        type: types[types.length - 1],
        parentTypes: types.slice(0, -1),
        name: parts.slice(3).join("::"),
    };
}

// ---------------------------------------------------------------------------------------------
// Summarizing

/** One resource's change: the replacement halves of a step merged into one. */
interface ResourceChange {
    urn: string;
    type: string;
    name: string;
    op: "create" | "update" | "replace" | "delete" | "same" | "other";
    old?: ResourceState;
    new?: ResourceState;
    detailedDiff?: Record<string, PropertyDiff> | null;
}

const REPLACEMENT_OPS = new Set(["replace", "create-replacement", "delete-replaced"]);

function mergeSteps(steps: PreviewStep[]): ResourceChange[] {
    const byUrn = new Map<string, ResourceChange>();
    for (const step of steps) {
        const { type, name } = parseUrn(step.urn);
        const op: ResourceChange["op"] = REPLACEMENT_OPS.has(step.op) ? "replace"
            : step.op === "create" || step.op === "update" || step.op === "delete" || step.op === "same" ? step.op
            : "other";
        const existing = byUrn.get(step.urn);
        if (!existing) {
            byUrn.set(step.urn, { urn: step.urn, type, name, op, old: step.oldState, new: step.newState, detailedDiff: step.detailedDiff });
            continue;
        }
        // The halves of one replacement (--show-replacement-steps): keep the oldest old state,
        // the newest new state, and the logical step's diff.
        if (op === "replace" || existing.op === "replace") {
            existing.op = "replace";
        }
        if (step.op === "delete-replaced" || !existing.old) {
            existing.old = step.oldState ?? existing.old;
        }
        if (step.op === "create-replacement" || !existing.new) {
            existing.new = step.newState ?? existing.new;
        }
        if (step.op === "replace" || !existing.detailedDiff) {
            existing.detailedDiff = step.detailedDiff ?? existing.detailedDiff;
        }
    }
    return [...byUrn.values()];
}

/** Which app a resource belongs to: its own name if it is an app component, else its parent's. */
function appOf(change: ResourceChange): { app: string; method: DeployMethod } | undefined {
    if (APP_COMPONENT_TYPES[change.type]) {
        return { app: change.name, method: APP_COMPONENT_TYPES[change.type] };
    }
    const parent = change.new?.parent ?? change.old?.parent;
    const p = parent ? parseUrn(parent) : undefined;
    return p && APP_COMPONENT_TYPES[p.type] ? { app: p.name, method: APP_COMPONENT_TYPES[p.type] } : undefined;
}

/** `kubernetes:core/v1:Service` -> `Service`, `random:index/randomId:RandomId` -> `RandomId`. */
export function kindOf(type: string): string {
    return type.slice(type.lastIndexOf(":") + 1);
}

/** The object's name in the cluster where there is one, else the Pulumi name. */
function objectName(change: ResourceChange): string {
    const state = change.old ?? change.new;
    const name = state?.outputs?.metadata?.name ?? state?.inputs?.metadata?.name ?? state?.inputs?.name;
    return typeof name === "string" && name !== UNKNOWN_VALUE ? name : change.name;
}

const describe = (change: ResourceChange) => `${kindOf(change.type)} ${objectName(change)}`;

function containsUnknown(value: unknown): boolean {
    if (value === UNKNOWN_VALUE) {
        return true;
    }
    if (Array.isArray(value)) {
        return value.some(containsUnknown);
    }
    if (value && typeof value === "object") {
        return Object.values(value).some(containsUnknown);
    }
    return false;
}

function deepEqual(a: unknown, b: unknown): boolean {
    if (a === b) {
        return true;
    }
    if (Array.isArray(a) && Array.isArray(b)) {
        return a.length === b.length && a.every((v, i) => deepEqual(v, b[i]));
    }
    if (a && b && typeof a === "object" && typeof b === "object" && !Array.isArray(a) && !Array.isArray(b)) {
        const ka = Object.keys(a).filter((k) => (a as any)[k] !== undefined && (a as any)[k] !== null);
        const kb = Object.keys(b).filter((k) => (b as any)[k] !== undefined && (b as any)[k] !== null);
        return ka.length === kb.length && ka.every((k) => deepEqual((a as any)[k], (b as any)[k]));
    }
    return false;
}

const num = (v: unknown): number | undefined => (typeof v === "number" && Number.isFinite(v) ? v : undefined);

/** The facts about a StatefulSet (or the one a release renders) that decide what happens to pods and PVCs. */
interface WorkloadModel {
    name: string;
    replicas?: number;
    strategy: { type: string; partition: number; maxUnavailable?: number };
    retention: { whenDeleted: string; whenScaled: string };
    /** Deleting it leaves its pods (and PVCs) in place: the raw StatefulSet's orphan annotation. */
    orphanOnDelete: boolean;
    claimTemplates: string[];
    /** What the pod template depends on, for comparison. */
    template: unknown;
    /** From the live status: pods not yet on the update revision (undefined when unknown). */
    revisionPending?: boolean;
}

function strategyOf(s: any): WorkloadModel["strategy"] {
    return {
        type: s?.type ?? "RollingUpdate",
        partition: num(s?.rollingUpdate?.partition ?? s?.partition) ?? 0,
        maxUnavailable: num(s?.rollingUpdate?.maxUnavailable ?? s?.maxUnavailable),
    };
}

function retentionOf(r: any): WorkloadModel["retention"] {
    return { whenDeleted: r?.whenDeleted ?? "Retain", whenScaled: r?.whenScaled ?? "Retain" };
}

function statefulSetModel(state: ResourceState | undefined, fallbackName: string): WorkloadModel | undefined {
    const inputs = state?.inputs;
    if (!inputs) {
        return undefined;
    }
    const spec = inputs.spec ?? {};
    const annotations = { ...(state?.outputs?.metadata?.annotations ?? {}), ...(inputs.metadata?.annotations ?? {}) };
    const status = state?.outputs?.status;
    const revisionPending = status && typeof status.currentRevision === "string" && typeof status.updateRevision === "string"
        ? status.currentRevision !== status.updateRevision
        : undefined;
    return {
        name: typeof inputs.metadata?.name === "string" ? inputs.metadata.name : fallbackName,
        replicas: num(spec.replicas) ?? (spec.replicas === undefined ? 1 : undefined),
        strategy: strategyOf(spec.updateStrategy),
        retention: retentionOf(spec.persistentVolumeClaimRetentionPolicy),
        orphanOnDelete: annotations[ORPHAN_ANNOTATION] === "orphan",
        claimTemplates: (spec.volumeClaimTemplates ?? []).map((t: any) => t?.metadata?.name ?? "data"),
        template: spec.template,
        revisionPending,
    };
}

function releaseModel(state: ResourceState | undefined, fallbackName: string): WorkloadModel | undefined {
    const inputs = state?.inputs;
    if (!inputs) {
        return undefined;
    }
    const values: Record<string, any> = inputs.values ?? {};
    const podValues: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(values)) {
        if (!HELM_NON_TEMPLATE_VALUES.includes(k)) {
            podValues[k] = v;
        }
    }
    for (const k of HELM_TEMPLATE_INPUTS) {
        podValues[`input:${k}`] = inputs[k];
    }
    return {
        name: typeof inputs.name === "string" && inputs.name !== UNKNOWN_VALUE ? inputs.name : fallbackName,
        replicas: num(values.replicas) ?? (values.replicas === undefined ? 1 : undefined),
        strategy: strategyOf(values.updateStrategy),
        retention: retentionOf(values.pvcRetentionPolicy),
        // `helm uninstall` deletes the StatefulSet in the background: its pods go with it.
        orphanOnDelete: false,
        claimTemplates: ["data"],
        template: podValues,
        revisionPending: undefined,
    };
}

/** "yes" if the pod template changes, "unknown" if the preview cannot tell. */
function templateChange(oldModel: WorkloadModel | undefined, newModel: WorkloadModel | undefined, change: ResourceChange): "yes" | "no" | "unknown" {
    if (oldModel && newModel && oldModel.template !== undefined && newModel.template !== undefined) {
        if (deepEqual(oldModel.template, newModel.template)) {
            return "no";
        }
        return containsUnknown(newModel.template) ? "unknown" : "yes";
    }
    if (change.detailedDiff) {
        const prefix = change.type === RELEASE_TYPE ? /^values\.(?!(replicas|updateStrategy|pvcRetentionPolicy|storageSize|storageClass|accessModes|podManagementPolicy)\b)/ : /^spec\.template\b/;
        return Object.keys(change.detailedDiff).some((k) => prefix.test(k)) ? "yes" : "no";
    }
    return "unknown";
}

/** What in the pod template changes, in a few words: `image`, `containers[0].env`, ... */
function templateDiff(oldModel: WorkloadModel, newModel: WorkloadModel, change: ResourceChange, max = 4): string[] {
    let keys: string[];
    if (change.type === RELEASE_TYPE) {
        const o = (oldModel.template ?? {}) as Record<string, unknown>;
        const n = (newModel.template ?? {}) as Record<string, unknown>;
        keys = [...new Set([...Object.keys(o), ...Object.keys(n)])]
            .filter((k) => !deepEqual(o[k], n[k]))
            .map((k) => k.replace(/^input:/, ""));
    } else {
        keys = Object.keys(change.detailedDiff ?? {})
            .filter((k) => /^spec\.template\b/.test(k))
            .map((k) => k.replace(/^spec\.template\.(spec\.)?/, ""));
    }
    keys.sort();
    return keys.length > max ? [...keys.slice(0, max), `${keys.length - max} more`] : keys;
}

/** How a pod template change reaches the pods under this update strategy. */
function rollout(model: WorkloadModel, notes: string[]): PodRestarts {
    if (model.strategy.type === "OnDelete") {
        notes.push("OnDelete: each pod keeps running the old template until it is deleted; it comes back with the new one, the same name and PVC.");
        return "on-delete";
    }
    const p = model.strategy.partition;
    if (p <= 0) {
        const n = model.strategy.maxUnavailable;
        notes.push(`RollingUpdate: pods are replaced ${n && n > 1 ? `up to ${n} at a time` : "one at a time"}, highest ordinal first.`);
        return "rolling";
    }
    if (model.replicas !== undefined && p >= model.replicas) {
        notes.push(`partition ${p} ≥ replicas ${model.replicas}: no pod gets the new template until the partition is lowered.`);
        return "none";
    }
    notes.push(`partition ${p}: only ordinals ≥ ${p} restart with the new template (a canary); lower the partition to roll out further.`);
    return `partition>=${p}`;
}

const ordinals = (from: number, to: number) => Array.from({ length: Math.max(0, to - from) }, (_, i) => from + i);

function pvcNames(model: WorkloadModel, ords: number[]): string[] {
    return model.claimTemplates.flatMap((t) => ords.map((i) => `${t}-${model.name}-${i}`));
}

const QUANTITY_UNITS: Record<string, number> = {
    "": 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18,
    Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60,
};

/** A Kubernetes storage quantity (`1Gi`, `500M`, `1e9`) in bytes; undefined if not one. */
export function bytes(quantity: string | undefined): number | undefined {
    const m = /^([0-9]+(?:\.[0-9]+)?(?:[eE][0-9]+)?)([kMGTPE]i?)?$/.exec(quantity ?? "");
    const unit = m ? QUANTITY_UNITS[m[2] ?? ""] : undefined;
    return m && unit !== undefined ? Number(m[1]) * unit : undefined;
}

function storageOf(state: ResourceState | undefined): string | undefined {
    const s = state?.inputs?.spec?.resources?.requests?.storage;
    return typeof s === "string" ? s : undefined;
}

function summarizeApp(app: string, method: DeployMethod, changes: ResourceChange[]): AppSummary {
    const workloadType = method === "helm" ? RELEASE_TYPE : STATEFULSET_TYPE;
    const modelOf = method === "helm" ? releaseModel : statefulSetModel;
    const summary: AppSummary = {
        app,
        deployMethod: method,
        workloadKind: method === "helm" ? "Helm release" : "StatefulSet",
        workload: "unchanged",
        podRestarts: "none",
        replicas: {},
        pvcs: { created: [], resized: [], deleted: [] },
        otherDeletes: [],
        released: [],
        otherChanges: [],
        notes: [],
        warnings: [],
    };
    const { notes, warnings } = summary;
    const component = changes.find((c) => APP_COMPONENT_TYPES[c.type]);
    const workload = changes.find((c) => c.type === workloadType);
    const oldModel = workload ? modelOf(workload.old, workload.name) : undefined;
    const newModel = workload ? modelOf(workload.new, workload.name) : undefined;
    summary.replicas = { from: oldModel?.replicas, to: newModel?.replicas };
    const kind = summary.workloadKind;

    switch (workload?.op) {
        case undefined:
        case "same":
        case "other":
            break;
        case "create": {
            summary.workload = "created";
            summary.replicas = { to: newModel?.replicas };
            if (newModel) {
                summary.pvcs.created = pvcNames(newModel, ordinals(0, newModel.replicas ?? 0));
            }
            break;
        }
        case "delete": {
            summary.workload = "deleted";
            summary.replicas = { from: oldModel?.replicas };
            // The program's after-delete hook on the app component (components/podCleanup.ts)
            // deletes the app's pods, and its PVCs if the component's outputs say deletePvcs.
            const afterDelete = component?.op === "delete" ? component.old?.resourceHooks?.AfterDelete ?? [] : [];
            if (afterDelete.length > 0) {
                summary.podRestarts = "deleted";
                notes.push(`The app's after-delete hook (${afterDelete.join(", ")}) deletes its pods once the ${kind} is gone.`);
                const deletePvcs = component?.old?.outputs?.deletePvcs ?? oldModel?.retention.whenDeleted === "Delete";
                if (deletePvcs === true) {
                    summary.pvcs.deleted = oldModel ? pvcNames(oldModel, ordinals(0, oldModel.replicas ?? 0)) : [];
                    warnings.push(`pvcRetentionPolicy.whenDeleted: Delete: the hook also deletes the app's PVCs (${summary.pvcs.deleted.join(", ") || "all of them"}, and any kept from earlier scale-downs) and their data.`);
                }
            } else if (oldModel?.orphanOnDelete) {
                summary.podRestarts = "orphaned";
                warnings.push(`The ${kind} is deleted with orphan propagation and no pod-cleanup hook: its pods keep running (with their volumes) until deleted by hand.`);
                if (oldModel.retention.whenDeleted === "Delete") {
                    notes.push("whenDeleted: Delete has no effect here: orphan propagation detaches the PVCs from the deleted StatefulSet, so they are kept.");
                }
            } else {
                summary.podRestarts = "deleted";
                if (oldModel?.retention.whenDeleted === "Delete") {
                    summary.pvcs.deleted = pvcNames(oldModel, ordinals(0, oldModel.replicas ?? 0));
                    warnings.push(`pvcRetentionPolicy.whenDeleted: Delete: the PVCs (${summary.pvcs.deleted.join(", ") || "all of them"}) and their data are deleted with the ${kind}.`);
                }
            }
            break;
        }
        case "update":
        case "replace": {
            summary.workload = workload.op === "update" ? "updated" : "replaced";
            if (!oldModel || !newModel) {
                // No inputs to compare: the detailed diff tells whether the template changes, not how it rolls out.
                const tc = templateChange(oldModel, newModel, workload);
                if (workload.op === "replace" && method === "helm") {
                    summary.podRestarts = "all-at-once";
                } else if (tc !== "no") {
                    summary.podRestarts = "rolling";
                    notes.push("The preview does not show the workload's inputs: assuming its pods restart, one at a time.");
                }
                break;
            }
            const tc = templateChange(oldModel, newModel, workload);
            const what = templateDiff(oldModel, newModel, workload);
            if (what.length > 0) {
                notes.push(`${method === "helm" ? "Changed values" : "Pod template changes"}: ${what.join(", ")}.`);
            }
            if (tc === "unknown") {
                notes.push("The preview cannot tell whether the pod template changes (unknown values): assuming it does.");
            }
            const templateChanges = tc !== "no";
            const deletesPods = workload.op === "replace" && !oldModel.orphanOnDelete;
            if (deletesPods) {
                summary.podRestarts = "all-at-once";
                warnings.push(method === "helm"
                    ? "The Helm release is replaced (uninstalled, then installed again): all its pods are deleted at once and started again."
                    : "The StatefulSet is replaced without orphan propagation: all its pods are deleted at once and started again.");
                if (oldModel.retention.whenDeleted === "Delete") {
                    summary.pvcs.deleted = pvcNames(oldModel, ordinals(0, oldModel.replicas ?? 0));
                    warnings.push(`pvcRetentionPolicy.whenDeleted: Delete: the PVCs (${summary.pvcs.deleted.join(", ")}) are deleted with the old ${kind} and created again empty.`);
                }
            } else {
                if (workload.op === "replace") {
                    notes.push(`The ${kind} is replaced (same name) with orphan propagation: its pods keep running and the new ${kind} adopts them.`);
                }
                if (templateChanges) {
                    summary.podRestarts = rollout(newModel, notes);
                } else {
                    // The template is the same, but a partition lowered (or OnDelete left) may
                    // release pods still on an older revision.
                    const held = (oldModel.strategy.type === "OnDelete" && newModel.strategy.type !== "OnDelete")
                        || (oldModel.strategy.type !== "OnDelete" && newModel.strategy.type !== "OnDelete" && newModel.strategy.partition < oldModel.strategy.partition);
                    if (held && oldModel.revisionPending !== false) {
                        summary.podRestarts = rollout(newModel, notes);
                        notes.push(oldModel.revisionPending
                            ? "The pod template is unchanged, but some pods are still on an older revision: the new update strategy rolls them."
                            : "The pod template is unchanged, but pods left on an older revision by the previous strategy (if any) now roll.");
                    } else {
                        notes.push("The pod template is unchanged: no pod restarts.");
                    }
                }
            }
            break;
        }
    }

    // Scaling: new ordinals get PVCs (the StatefulSet creates them), removed ones keep or lose theirs.
    const { from, to } = summary.replicas;
    if (workload && (workload.op === "update" || workload.op === "replace") && from !== undefined && to !== undefined && newModel && oldModel) {
        if (to > from) {
            summary.pvcs.created = pvcNames(newModel, ordinals(from, to));
            notes.push(`Scale up ${from} → ${to}: the StatefulSet starts ${to - from} pod(s) and creates their PVCs (or re-attaches PVCs kept from an earlier scale-down).`);
        } else if (to < from) {
            const gone = pvcNames(oldModel, ordinals(to, from));
            if (newModel.retention.whenScaled === "Delete") {
                summary.pvcs.deleted.push(...gone.filter((n) => !summary.pvcs.deleted.includes(n)));
                warnings.push(`Scale down ${from} → ${to} with pvcRetentionPolicy.whenScaled: Delete: the PVCs ${gone.join(", ")} and their data are deleted.`);
            } else {
                notes.push(`Scale down ${from} → ${to}: ${from - to} pod(s) stop; their PVCs (${gone.join(", ")}) are kept and re-attached on a later scale-up.`);
            }
        }
    }

    for (const change of changes) {
        if (change === workload || change === component || change.op === "same" || change.op === "other") {
            continue;
        }
        if (change.type === PVC_PATCH_TYPE) {
            if (change.op === "update" || change.op === "replace") {
                const before = storageOf(change.old);
                const after = storageOf(change.new);
                if (before !== after) {
                    summary.pvcs.resized.push({ name: objectName(change), from: before, to: after });
                    continue;
                }
            }
            if (change.op === "create") {
                continue; // the size patch of a new ordinal's PVC, counted in pvcs.created
            }
            if (change.op === "delete") {
                summary.released.push(describe(change)); // dropping a patch never deletes the PVC
                continue;
            }
        }
        if (change.op === "delete" && change.old?.retainOnDelete) {
            summary.released.push(describe(change));
            continue;
        }
        if (change.op === "delete" && change.type.startsWith("kubernetes:")) {
            summary.otherDeletes.push(describe(change));
            continue;
        }
        summary.otherChanges.push(`${change.op} ${describe(change)}`);
        if (change.type === SECRET_TYPE && change.op === "update" && (summary.podRestarts === "none" || summary.podRestarts === "on-delete")) {
            notes.push(`Secret ${objectName(change)} changes: running pods keep the old values until they restart.`);
        }
    }
    if (summary.pvcs.resized.length > 0) {
        notes.push("PVC resize: each existing PVC is patched to the new size in place (same PVC, same data); volumes can only grow.");
        const shrunk = summary.pvcs.resized.filter((r) => (bytes(r.to) ?? Infinity) < (bytes(r.from) ?? -Infinity));
        if (shrunk.length > 0) {
            warnings.push(`Shrinking ${shrunk.map((r) => `${r.name} (${r.from} → ${r.to})`).join(", ")}: Kubernetes rejects it, so \`pulumi up\` fails at the PVC patch.`);
        }
    }
    if (component?.op === "delete" && summary.workload === "unchanged") {
        summary.workload = "deleted";
    }
    return summary;
}

/** The apps of the stack config the preview ran with (`stateful-apps:apps`), if readable. */
function configuredApps(config: Record<string, string> | undefined): { apps: string[]; deployMethod: DeployMethod } {
    const deployMethod: DeployMethod = config?.["stateful-apps:deployMethod"] === "helm" ? "helm" : "raw";
    try {
        const apps = JSON.parse(config?.["stateful-apps:apps"] ?? "{}");
        return { apps: apps && typeof apps === "object" && !Array.isArray(apps) ? Object.keys(apps) : [], deployMethod };
    } catch {
        return { apps: [], deployMethod }; // "[secret]" or absent
    }
}

/** The summary of a preview: per app, what happens to its workload, pods and PVCs. */
export function summarizePreview(preview: string | PreviewDigest): PreviewSummary {
    const digest = typeof preview === "string" ? parsePreviewJson(preview) : preview;
    const changes = mergeSteps(digest.steps ?? []);
    // By app and deploy method: switching an app's deployMethod deletes one component and creates the other.
    const byApp = new Map<string, { app: string; method: DeployMethod; changes: ResourceChange[] }>();
    const other: string[] = [];
    for (const change of changes) {
        const owner = appOf(change);
        if (owner) {
            const key = `${owner.method}:${owner.app}`;
            const entry = byApp.get(key) ?? { ...owner, changes: [] };
            entry.changes.push(change);
            byApp.set(key, entry);
        } else if (change.type !== STACK_TYPE && change.op !== "same" && change.op !== "other") {
            other.push(`${change.op} ${describe(change)}${change.op === "delete" && change.old?.retainOnDelete ? " (kept in the cluster: retainOnDelete)" : ""}`);
        }
    }

    // Apps without any step (unchanged): from the stack config the preview ran with.
    const configured = configuredApps(digest.config);
    for (const app of configured.apps) {
        if (![...byApp.values()].some((e) => e.app === app)) {
            byApp.set(`${configured.deployMethod}:${app}`, { app, method: configured.deployMethod, changes: [] });
        }
    }
    const apps = [...byApp.values()].map(({ app, method, changes: cs }) => summarizeApp(app, method, cs));
    for (const a of apps) {
        if (apps.some((b) => b !== a && b.app === a.app)) {
            a.warnings.push("The app switches deploy method in one step: the new objects are created before the old ones are deleted, which clashes. Run `pulumi destroy --run-program` first (README, Switching a stack between modes).");
        }
    }
    const changeSummary = digest.changeSummary ?? {};
    const hasChanges = changes.some((c) => c.op !== "same" && c.op !== "other")
        || Object.entries(changeSummary).some(([op, n]) => !UNCHANGING_OPS.has(op) && n > 0);
    const errors = (digest.diagnostics ?? [])
        .filter((d) => d.severity === "error")
        .map((d) => (d.message ?? "").trim())
        .filter((m) => m !== "");
    return { apps, other, changeSummary, hasChanges, errors };
}

/**
 * summarizePreview's apps by name, for assertions: `summaryByApp(json)["python-app"].podRestarts`.
 * An app in both deploy methods (a switch) is listed as `<app> (raw)` and `<app> (helm)`.
 */
export function summaryByApp(preview: string | PreviewDigest): Record<string, AppSummary> {
    const summary = summarizePreview(preview);
    return Object.fromEntries(summary.apps.map((a) => [appLabel(a, summary), a]));
}

// ---------------------------------------------------------------------------------------------
// Markdown

function workloadText(a: AppSummary): string {
    const k = a.workloadKind;
    switch (a.workload) {
        case "unchanged": return "unchanged";
        case "updated": return a.deployMethod === "helm" ? `${k} upgraded in place` : `${k} updated in place`;
        case "replaced": return a.deployMethod === "helm" ? `⚠️ ${k} **replaced** (uninstall + install)` : `${k} **replaced** (pods kept)`;
        case "created": return `${k} created`;
        case "deleted": return `⚠️ ${k} **deleted**`;
    }
}

/** Words for the pods column. */
export function podText(a: AppSummary): string {
    const r = a.podRestarts;
    let text: string;
    if (r === "none") {
        text = a.workload === "created" ? "start" : "no restart";
    } else if (r === "rolling") {
        text = "**rolling restart**, one by one";
    } else if (r === "all-at-once") {
        text = "⚠️ **all restart at once**";
    } else if (r === "on-delete") {
        text = "none until deleted (OnDelete)";
    } else if (r === "deleted") {
        text = "⚠️ **deleted**";
    } else if (r === "orphaned") {
        text = "⚠️ **left running** (orphaned)";
    } else {
        text = `canary: only ordinals ≥ ${r.slice("partition>=".length)} restart`;
    }
    const { from, to } = a.replicas;
    if (from !== undefined && to !== undefined && from !== to) {
        text += `; scale ${from} → ${to}`;
    } else if (a.workload === "created" && to !== undefined) {
        text += ` (${to})`;
    }
    return text;
}

function list(names: string[], max = 4): string {
    const shown = names.slice(0, max).map((n) => `\`${n}\``).join(", ");
    return names.length > max ? `${shown} and ${names.length - max} more` : shown;
}

/** Words for the PVCs column. */
export function pvcText(a: AppSummary): string {
    const parts: string[] = [];
    const { created, resized, deleted } = a.pvcs;
    if (created.length > 0) {
        parts.push(`${created.length} created (${list(created)})`);
    }
    if (resized.length > 0) {
        const sizes = [...new Set(resized.map((r) => `${r.from ?? "?"} → ${r.to ?? "?"}`))].join(", ");
        parts.push(`${resized.length} resized ${sizes}`);
    }
    if (deleted.length > 0) {
        parts.push(`⚠️ **${deleted.length} deleted** (${list(deleted)})`);
    }
    return parts.length > 0 ? parts.join("; ") : a.workload === "deleted" || a.workload === "replaced" ? "kept" : "untouched";
}

/** The app's name, with its deploy method when the preview has it in both (a switch). */
const appLabel = (a: AppSummary, summary: PreviewSummary) =>
    summary.apps.filter((b) => b.app === a.app).length > 1 ? `${a.app} (${a.deployMethod})` : a.app;

const cell = (s: string) => s.replace(/\|/g, "\\|").replace(/\n/g, " ");

/**
 * Engine ops that change nothing: `same`, and `read` (the program reads its own stack's last
 * outputs through a StackReference on every run, components/deployedState.ts).
 */
const UNCHANGING_OPS = new Set(["same", "read"]);

/** The summary as Markdown: a one-line verdict, a table of the changed apps, then warnings and notes. */
export function renderSummaryMarkdown(summary: PreviewSummary, options: { stack?: string } = {}): string {
    const lines: string[] = [];
    const where = options.stack ? ` \`${options.stack}\`` : "";
    const counts = Object.entries(summary.changeSummary)
        .filter(([op, n]) => !UNCHANGING_OPS.has(op) && n > 0)
        .map(([op, n]) => `${n} to ${op}`)
        .join(", ");
    if (summary.errors.length > 0) {
        lines.push(`### ❌ Preview${where} failed`, "");
        for (const e of summary.errors) {
            lines.push(`- ${cell(e.split("\n")[0])}`);
        }
        lines.push("");
    } else if (!summary.hasChanges) {
        lines.push(`### Preview${where}: no changes`, "");
        return lines.join("\n");
    } else {
        lines.push(`### Preview${where}: ${counts || "changes"}`, "");
    }

    const changed = summary.apps.filter((a) => a.workload !== "unchanged" || a.pvcs.created.length + a.pvcs.resized.length + a.pvcs.deleted.length + a.otherDeletes.length + a.otherChanges.length + a.released.length > 0);
    const unchanged = summary.apps.filter((a) => !changed.includes(a));
    if (changed.length > 0) {
        lines.push("| app | workload | pods | PVCs | also deleted |", "| --- | --- | --- | --- | --- |");
        for (const a of changed) {
            const deletes = a.otherDeletes.length > 0 ? list(a.otherDeletes, 8) : "–";
            lines.push(`| **${appLabel(a, summary)}** | ${cell(workloadText(a))} | ${cell(podText(a))} | ${cell(pvcText(a))} | ${cell(deletes)} |`);
        }
        lines.push("");
    }
    if (summary.errors.length > 0) {
        if (changed.length > 0) {
            lines.push("The preview stopped at the error: the changes above are only those it reached.", "");
        }
    } else if (unchanged.length > 0) {
        lines.push(`Unchanged: ${unchanged.map((a) => `**${a.app}**`).join(", ")}.`, "");
    }
    const warnings = changed.flatMap((a) => a.warnings.map((w) => `- ⚠️ **${appLabel(a, summary)}**: ${w}`));
    const notes = changed.flatMap((a) => [
        ...a.notes.map((n) => `- **${appLabel(a, summary)}**: ${n}`),
        ...(a.otherChanges.length > 0 ? [`- **${appLabel(a, summary)}**: also ${a.otherChanges.join(", ")}.`] : []),
        ...(a.released.length > 0 ? [`- **${appLabel(a, summary)}**: dropped from Pulumi, kept in the cluster: ${a.released.join(", ")}.`] : []),
    ]);
    if (summary.other.length > 0) {
        notes.push(`- Outside the apps: ${summary.other.join(", ")}.`);
    }
    lines.push(...warnings, ...notes);
    return lines.join("\n").trimEnd() + "\n";
}

// ---------------------------------------------------------------------------------------------
// Policy pack (policy/, `pulumi preview --policy-pack policy`)

export interface PolicyViolation {
    level: string;
    policy: string;
    /** `type: name` of the resource, or the stack's for a stack policy. */
    resource: string;
    message: string;
}

/**
 * The policy violations in a preview's text output. `pulumi preview --json` carries none (with
 * the 3.248 CLI its diagnostics say only "error: preview failed"), so they are read from the
 * text: with `--diff`, one line `<pack>@v<version> [<level>]  <policy>  (<type>: <name>)<description>`
 * and the message on the next line; without, a `Policies:` block of `- [<level>]  <policy>  (<type>: <name>)`,
 * the description and the message, each on its own indented line.
 */
export function parsePolicyViolations(text: string): PolicyViolation[] {
    const lines = text.replace(/\x1b\[[0-9;]*m/g, "").split("\n");
    const out: PolicyViolation[] = [];
    for (let i = 0; i < lines.length; i++) {
        const diffForm = /^\s*\S+@v\S+ \[(\w+)\]\s+(\S+)\s+\(([^)]*)\)/.exec(lines[i]);
        const blockForm = /^\s+- \[(\w+)\]\s+(\S+)\s+\(([^)]*)\)\s*$/.exec(lines[i]);
        const m = diffForm ?? blockForm;
        const message = (diffForm ? lines[i + 1] : lines[i + 2])?.trim();
        if (m && message) {
            out.push({ level: m[1], policy: m[2], resource: m[3], message });
        }
    }
    // The same violation appears once per form when both outputs were captured together.
    return out.filter((v, i) => out.findIndex((w) => JSON.stringify(w) === JSON.stringify(v)) === i);
}

/** The policy pack's result for the comment: mandatory violations first; none: no section. */
export function renderPolicyMarkdown(violations: PolicyViolation[]): string {
    if (violations.length === 0) {
        return "";
    }
    const mandatory = violations.filter((v) => v.level === "mandatory");
    const title = mandatory.length > 0
        ? `#### ❌ Policy pack: ${mandatory.length} mandatory violation${mandatory.length === 1 ? "" : "s"} (the preview fails)`
        : `#### ⚠️ Policy pack: ${violations.length} advisory`;
    const sorted = [...mandatory, ...violations.filter((v) => v.level !== "mandatory")];
    return [title, "", ...sorted.map((v) => `- **${v.level}** \`${v.policy}\` (${cell(v.resource)}): ${cell(v.message)}`), ""].join("\n");
}

/** The longest run of backticks in a text, so a fence around it can be longer. */
function fenceFor(text: string): string {
    const longest = Math.max(2, ...(text.match(/`+/g) ?? []).map((m) => m.length));
    return "`".repeat(longest + 1);
}

/** GitHub rejects comments over 65536 characters. */
export const MAX_COMMENT_CHARS = 65000;

/**
 * The whole PR comment for one stack: a marker (to find and update the comment), the summary,
 * then the full `pulumi preview --diff` text in a collapsed <details>, cut to fit a comment.
 */
export function renderComment(args: { summary: PreviewSummary | undefined; diff?: string; stack?: string; marker?: string; maxChars?: number; summaryError?: string }): string {
    const { summary, stack } = args;
    const max = args.maxChars ?? MAX_COMMENT_CHARS;
    const head: string[] = [];
    if (args.marker) {
        head.push(`<!-- ${args.marker} -->`);
    }
    if (summary) {
        head.push(renderSummaryMarkdown(summary, { stack }));
    } else {
        head.push(`### ⚠️ Preview${stack ? ` \`${stack}\`` : ""}: no summary`, "", `The preview's JSON could not be read (${args.summaryError ?? "missing"}); see the full output below.`, "");
    }
    if (args.diff !== undefined) {
        const policy = renderPolicyMarkdown(parsePolicyViolations(args.diff));
        if (policy) {
            head.push(policy);
        }
    }
    let body = head.join("\n");
    if (args.diff !== undefined) {
        let diff = args.diff.replace(/\x1b\[[0-9;]*m/g, "").trimEnd();
        const fence = fenceFor(diff);
        const open = `\n<details><summary>Full <code>pulumi preview --diff</code>${stack ? ` (${stack})` : ""}</summary>\n\n${fence}diff\n`;
        const close = `\n${fence}\n</details>\n`;
        const room = max - body.length - open.length - close.length - 200;
        if (diff.length > room) {
            const cut = Math.max(0, room);
            diff = `${diff.slice(0, cut)}\n… (${diff.length - cut} more characters: run \`pulumi preview --diff${stack ? ` -s ${stack}` : ""}\` or see the workflow log)`;
        }
        body += open + diff + close;
    }
    return body;
}
