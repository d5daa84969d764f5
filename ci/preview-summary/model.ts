// The preview's steps as the summary reasons about them: one ResourceChange per resource (the
// halves of a replacement merged), the app each belongs to, and the facts of the app's
// StatefulSet (or of the one its Helm release renders) that decide what happens to pods and PVCs.
import { APP_COMPONENT_TYPES, DELETION_PROPAGATION_ANNOTATION, DeployMethod, K8S_TYPES } from "../../components/identifiers";
import { POD_TEMPLATE_FREE_SETTINGS } from "../../components/replacement";
import { parseUrn, PreviewStep, PropertyDiff, ResourceState, UNKNOWN_VALUE } from "./parse";

const STATEFULSET_TYPE = K8S_TYPES.statefulSet;
const RELEASE_TYPE = K8S_TYPES.release;
export const PVC_PATCH_TYPE = K8S_TYPES.pvcPatch;
export const SECRET_TYPE = K8S_TYPES.secret;
export const STACK_TYPE = "pulumi:pulumi:Stack";

/** The deploy method each app component type stands for. */
const METHOD_OF_TYPE: Record<string, DeployMethod> = Object.fromEntries(
    Object.entries(APP_COMPONENT_TYPES).map(([method, type]) => [type, method as DeployMethod]),
);
export const isAppComponent = (type: string) => METHOD_OF_TYPE[type] !== undefined;

/** Release values that do not reach the pod template (charts/stateful-app). */
const HELM_NON_TEMPLATE_VALUES: readonly string[] = POD_TEMPLATE_FREE_SETTINGS;
/** Release inputs besides `values` that change the rendered chart. */
const HELM_TEMPLATE_INPUTS = ["chart", "version", "valueYamlFiles", "repositoryOpts"];

/** One resource's change: the replacement halves of a step merged into one. */
export interface ResourceChange {
    urn: string;
    type: string;
    name: string;
    op: "create" | "update" | "replace" | "delete" | "same" | "other";
    old?: ResourceState;
    new?: ResourceState;
    detailedDiff?: Record<string, PropertyDiff> | null;
}

const REPLACEMENT_OPS = new Set(["replace", "create-replacement", "delete-replaced"]);

export function mergeSteps(steps: PreviewStep[]): ResourceChange[] {
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
export function appOf(change: ResourceChange): { app: string; method: DeployMethod } | undefined {
    if (isAppComponent(change.type)) {
        return { app: change.name, method: METHOD_OF_TYPE[change.type] };
    }
    const parent = change.new?.parent ?? change.old?.parent;
    const p = parent ? parseUrn(parent) : undefined;
    return p && isAppComponent(p.type) ? { app: p.name, method: METHOD_OF_TYPE[p.type] } : undefined;
}

/** `kubernetes:core/v1:Service` -> `Service`, `random:index/randomId:RandomId` -> `RandomId`. */
function kindOf(type: string): string {
    return type.slice(type.lastIndexOf(":") + 1);
}

const known = (v: unknown): string | undefined => (typeof v === "string" && v !== UNKNOWN_VALUE ? v : undefined);

/** The object's name in the cluster where there is one, else the Pulumi name. */
export function objectName(change: ResourceChange): string {
    const state = change.old ?? change.new;
    return known(state?.outputs?.metadata?.name ?? state?.inputs?.metadata?.name ?? state?.inputs?.name) ?? change.name;
}

export const describe = (change: ResourceChange) => `${kindOf(change.type)} ${objectName(change)}`;

/** The namespace a state puts its object in (a Release's own `namespace` input), if known. */
function namespaceOf(state: ResourceState | undefined): string | undefined {
    const inputs = state?.inputs;
    return known(state?.type === RELEASE_TYPE ? inputs?.namespace : inputs?.metadata?.namespace);
}

/** Whether the object moves to another namespace: the old one, and the new one if the preview knows it. */
export function namespaceMove(change: ResourceChange): { from: string; to?: string } | undefined {
    if (change.op !== "replace") {
        return undefined;
    }
    const from = namespaceOf(change.old);
    const to = namespaceOf(change.new);
    const key = change.type === RELEASE_TYPE ? "namespace" : "metadata.namespace";
    const diffSays = Object.keys(change.detailedDiff ?? {}).includes(key);
    if (from === undefined || (to === undefined ? !diffSays : to === from)) {
        return undefined;
    }
    return { from, to };
}

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
export interface WorkloadModel {
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
        orphanOnDelete: annotations[DELETION_PROPAGATION_ANNOTATION] === "orphan",
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
        // Any other value (image, port, env, a key added later, ...) is taken as a pod template
        // change: an unknown key errs on the side of "restarts".
        if (!HELM_NON_TEMPLATE_VALUES.includes(k)) {
            podValues[k] = v;
        }
    }
    for (const k of HELM_TEMPLATE_INPUTS) {
        podValues[`input:${k}`] = inputs[k];
    }
    return {
        name: known(inputs.name) ?? fallbackName,
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

/** The workload's type and model per deploy method. */
export const WORKLOAD = {
    raw: { type: STATEFULSET_TYPE, kind: "StatefulSet", model: statefulSetModel },
    helm: { type: RELEASE_TYPE, kind: "Helm release", model: releaseModel },
} as const satisfies Record<DeployMethod, unknown>;

/** A detailed-diff path inside the pod template. */
function isTemplatePath(type: string, path: string): boolean {
    if (type !== RELEASE_TYPE) {
        return /^spec\.template\b/.test(path);
    }
    const m = /^values\.([^.[]+)/.exec(path);
    return m !== null && !HELM_NON_TEMPLATE_VALUES.includes(m[1]);
}

/** "yes" if the pod template changes, "unknown" if the preview cannot tell. */
export function templateChange(oldModel: WorkloadModel | undefined, newModel: WorkloadModel | undefined, change: ResourceChange): "yes" | "no" | "unknown" {
    if (oldModel && newModel && oldModel.template !== undefined && newModel.template !== undefined) {
        if (deepEqual(oldModel.template, newModel.template)) {
            return "no";
        }
        return containsUnknown(newModel.template) ? "unknown" : "yes";
    }
    if (change.detailedDiff) {
        return Object.keys(change.detailedDiff).some((k) => isTemplatePath(change.type, k)) ? "yes" : "no";
    }
    return "unknown";
}

/** What in the pod template changes, in a few words: `image`, `containers[0].env`, ... */
export function templateDiff(oldModel: WorkloadModel, newModel: WorkloadModel, change: ResourceChange, max = 4): string[] {
    let keys: string[];
    if (change.type === RELEASE_TYPE) {
        const o = (oldModel.template ?? {}) as Record<string, unknown>;
        const n = (newModel.template ?? {}) as Record<string, unknown>;
        keys = [...new Set([...Object.keys(o), ...Object.keys(n)])]
            .filter((k) => !deepEqual(o[k], n[k]))
            .map((k) => k.replace(/^input:/, ""));
    } else {
        keys = Object.keys(change.detailedDiff ?? {})
            .filter((k) => isTemplatePath(change.type, k))
            .map((k) => k.replace(/^spec\.template\.(spec\.)?/, ""));
    }
    keys.sort();
    return keys.length > max ? [...keys.slice(0, max), `${keys.length - max} more`] : keys;
}

export const ordinals = (from: number, to: number) => Array.from({ length: Math.max(0, to - from) }, (_, i) => from + i);

export function pvcNames(model: WorkloadModel, ords: number[]): string[] {
    return model.claimTemplates.flatMap((t) => ords.map((i) => `${t}-${model.name}-${i}`));
}

/** Every PVC of the workload's replicas. */
export const allPvcNames = (model: WorkloadModel) => pvcNames(model, ordinals(0, model.replicas ?? 0));

export function storageOf(state: ResourceState | undefined): string | undefined {
    const s = state?.inputs?.spec?.resources?.requests?.storage;
    return typeof s === "string" ? s : undefined;
}
