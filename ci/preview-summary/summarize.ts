// What a preview means for each app's workload (StatefulSet or Helm release), pods and PVCs, in
// words a reviewer reads in five seconds (render.ts), and what the end-to-end suite asserts on.
//
// What restarts pods: only a change of the StatefulSet's pod template (spec.template: image, env,
// resources, ...), rolled out per its update strategy. Replicas, update strategy, annotations,
// retention policy change no running pod. A raw-mode replacement deletes the old StatefulSet with
// orphan propagation (components/manifests.ts), so the pods keep running and the new one adopts
// them (and rolls them only if the template changed too); without that annotation, and for a Helm
// release replacement (uninstall + install), all pods go at once. A replacement into another
// namespace adopts nothing: the new StatefulSet starts with new, empty volumes.
import { DeployMethod, SECRET_CHECKSUM_ANNOTATION, SECRET_CHECKSUM_VALUE } from "../../components/identifiers";
import { parseQuantity } from "../../components/quantity";
import {
    allPvcNames, appOf, describe, isAppComponent, mergeSteps, namespaceMove, objectName, ordinals, pvcNames, PVC_PATCH_TYPE,
    ResourceChange, SECRET_TYPE, STACK_TYPE, storageOf, templateChange, templateDiff, WORKLOAD, WorkloadModel,
} from "./model";
import { parsePreviewJson, PreviewDigest, previewConfig, UNCHANGING_OPS } from "./parse";

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
    /** Set when the app's objects move to another namespace: a new, empty app there (`to` "?" if the preview cannot tell). */
    namespace?: { from: string; to: string };
    pvcs: {
        /** PVCs the StatefulSet creates for new ordinals (re-attached instead if kept from an earlier scale-down; new and empty in a new namespace). */
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

/** One app's changes, and what is known of its workload before and after. */
interface AppChanges {
    method: DeployMethod;
    changes: ResourceChange[];
    component?: ResourceChange;
    workload?: ResourceChange;
    oldModel?: WorkloadModel;
    newModel?: WorkloadModel;
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

function workloadCreated(summary: AppSummary, { newModel }: AppChanges) {
    summary.workload = "created";
    summary.replicas = { to: newModel?.replicas };
    if (newModel) {
        summary.pvcs.created = allPvcNames(newModel);
    }
}

function workloadDeleted(summary: AppSummary, { component, oldModel }: AppChanges) {
    const { notes, warnings, workloadKind: kind } = summary;
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
            summary.pvcs.deleted = oldModel ? allPvcNames(oldModel) : [];
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
            summary.pvcs.deleted = allPvcNames(oldModel);
            warnings.push(`pvcRetentionPolicy.whenDeleted: Delete: the PVCs (${summary.pvcs.deleted.join(", ") || "all of them"}) and their data are deleted with the ${kind}.`);
        }
    }
}

/**
 * The app's objects move to another namespace: nothing is adopted there. The new workload creates
 * new, empty PVCs; the app component is not deleted, so its pod-cleanup hook does not run and the
 * old StatefulSet's orphaned pods keep running in the old namespace, beside the old PVCs.
 */
function workloadMoved(summary: AppSummary, { method, oldModel, newModel }: AppChanges, move: { from: string; to: string }) {
    const { warnings, workloadKind: kind } = summary;
    const { from, to } = move;
    summary.workload = "replaced";
    summary.namespace = move;
    summary.pvcs.created = newModel ? allPvcNames(newModel) : [];
    const oldPodsStay = method === "raw" && oldModel?.orphanOnDelete !== false;
    summary.podRestarts = oldPodsStay ? "orphaned" : "all-at-once";
    const oldPvcsGo = !oldPodsStay && oldModel?.retention.whenDeleted === "Delete";
    if (oldPvcsGo && oldModel) {
        summary.pvcs.deleted = allPvcNames(oldModel);
    }
    const volumes = summary.pvcs.created.length > 0 ? ` (${summary.pvcs.created.join(", ")})` : "";
    const old = oldPodsStay ? `the old pods and PVCs stay in ${from}`
        : oldPvcsGo ? `the old pods are deleted, and with pvcRetentionPolicy.whenDeleted: Delete the old PVCs and their data too`
        : `the old pods are deleted, the old PVCs stay in ${from}`;
    warnings.push(`namespace changed ${from} → ${to}: the ${kind} is created again in ${to} with NEW EMPTY volumes${volumes}; ${old}. `
        + `The data does not move: copy it first, or keep the namespace.`);
}

function workloadChanged(summary: AppSummary, changes: AppChanges) {
    const { method, oldModel, newModel } = changes;
    const workload = changes.workload!;
    const { notes, warnings, workloadKind: kind } = summary;
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
        return;
    }
    const tc = templateChange(oldModel, newModel, workload);
    const what = templateDiff(oldModel, newModel, workload);
    if (what.length > 0) {
        notes.push(`${method === "helm" ? "Changed values" : "Pod template changes"}: ${what.join(", ")}.`);
    }
    // The Secret's data hash (raw: the pod-template annotation; Helm: its chart value): a secret
    // value changed, which the template itself cannot show.
    if (what.some((k) => k === SECRET_CHECKSUM_VALUE || k.includes(SECRET_CHECKSUM_ANNOTATION))) {
        notes.push("Rolling restart: secret changed (the hash of the app's Secret data in the pod template; the values stay hidden).");
    }
    if (tc === "unknown") {
        notes.push("The preview cannot tell whether the pod template changes (unknown values): assuming it does.");
    }
    if (workload.op === "replace" && !oldModel.orphanOnDelete) {
        summary.podRestarts = "all-at-once";
        warnings.push(method === "helm"
            ? "The Helm release is replaced (uninstalled, then installed again): all its pods are deleted at once and started again."
            : "The StatefulSet is replaced without orphan propagation: all its pods are deleted at once and started again.");
        if (oldModel.retention.whenDeleted === "Delete") {
            summary.pvcs.deleted = allPvcNames(oldModel);
            warnings.push(`pvcRetentionPolicy.whenDeleted: Delete: the PVCs (${summary.pvcs.deleted.join(", ")}) are deleted with the old ${kind} and created again empty.`);
        }
        return;
    }
    if (workload.op === "replace") {
        notes.push(`The ${kind} is replaced (same name) with orphan propagation: its pods keep running and the new ${kind} adopts them.`);
    }
    if (tc !== "no") {
        summary.podRestarts = rollout(newModel, notes);
        return;
    }
    // The template is the same, but a partition lowered (or OnDelete left) may release pods
    // still on an older revision.
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

/** Scaling: new ordinals get PVCs (the StatefulSet creates them), removed ones keep or lose theirs. */
function scaling(summary: AppSummary, { workload, oldModel, newModel }: AppChanges) {
    const { from, to } = summary.replicas;
    if (!workload || (workload.op !== "update" && workload.op !== "replace") || from === undefined || to === undefined || !newModel || !oldModel) {
        return;
    }
    if (to > from) {
        summary.pvcs.created = pvcNames(newModel, ordinals(from, to));
        summary.notes.push(`Scale up ${from} → ${to}: the StatefulSet starts ${to - from} pod(s) and creates their PVCs (or re-attaches PVCs kept from an earlier scale-down).`);
    } else if (to < from) {
        const gone = pvcNames(oldModel, ordinals(to, from));
        if (newModel.retention.whenScaled === "Delete") {
            summary.pvcs.deleted.push(...gone.filter((n) => !summary.pvcs.deleted.includes(n)));
            summary.warnings.push(`Scale down ${from} → ${to} with pvcRetentionPolicy.whenScaled: Delete: the PVCs ${gone.join(", ")} and their data are deleted.`);
        } else {
            summary.notes.push(`Scale down ${from} → ${to}: ${from - to} pod(s) stop; their PVCs (${gone.join(", ")}) are kept and re-attached on a later scale-up.`);
        }
    }
}

/** The app's resources other than its component and workload: PVC patches, Services, Secret, ... */
function otherResources(summary: AppSummary, { changes, component, workload }: AppChanges) {
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
            summary.notes.push(`Secret ${objectName(change)} changes: running pods keep the old values until they restart.`);
        }
    }
    if (summary.pvcs.resized.length > 0) {
        summary.notes.push("PVC resize: each existing PVC is patched to the new size in place (same PVC, same data); volumes can only grow.");
        const bytes = (q: string | undefined) => (q === undefined ? undefined : parseQuantity(q));
        const shrunk = summary.pvcs.resized.filter((r) => (bytes(r.to) ?? Infinity) < (bytes(r.from) ?? -Infinity));
        if (shrunk.length > 0) {
            summary.warnings.push(`Shrinking ${shrunk.map((r) => `${r.name} (${r.from} → ${r.to})`).join(", ")}: Kubernetes rejects it, so \`pulumi up\` fails at the PVC patch.`);
        }
    }
}

function summarizeApp(app: string, method: DeployMethod, changes: ResourceChange[], configNamespace?: string): AppSummary {
    const w = WORKLOAD[method];
    const summary: AppSummary = {
        app,
        deployMethod: method,
        workloadKind: w.kind,
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
    const workload = changes.find((c) => c.type === w.type);
    const c: AppChanges = {
        method,
        changes,
        component: changes.find((x) => isAppComponent(x.type)),
        workload,
        oldModel: workload ? w.model(workload.old, workload.name) : undefined,
        newModel: workload ? w.model(workload.new, workload.name) : undefined,
    };
    summary.replicas = { from: c.oldModel?.replicas, to: c.newModel?.replicas };
    // Any of the app's objects moving namespace is flagged, whether or not the workload is in the preview.
    const moved = (workload && namespaceMove(workload)) ?? changes.map(namespaceMove).find((m) => m !== undefined);
    const move = moved && { from: moved.from, to: moved.to ?? configNamespace ?? "?" };

    if (move && (workload?.op === "replace" || !workload)) {
        workloadMoved(summary, c, move);
    } else if (workload?.op === "create") {
        workloadCreated(summary, c);
    } else if (workload?.op === "delete") {
        workloadDeleted(summary, c);
    } else if (workload?.op === "update" || workload?.op === "replace") {
        workloadChanged(summary, c);
        scaling(summary, c);
    }
    otherResources(summary, c);
    if (c.component?.op === "delete" && summary.workload === "unchanged") {
        summary.workload = "deleted";
    }
    return summary;
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
    const configured = previewConfig(digest.config);
    for (const app of configured.apps) {
        if (![...byApp.values()].some((e) => e.app === app)) {
            byApp.set(`${configured.deployMethod}:${app}`, { app, method: configured.deployMethod, changes: [] });
        }
    }
    const apps = [...byApp.values()].map(({ app, method, changes: cs }) => summarizeApp(app, method, cs, configured.namespace));
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

/** The app's name, with its deploy method when the preview has it in both (a switch). */
export const appLabel = (a: AppSummary, summary: PreviewSummary) =>
    summary.apps.filter((b) => b.app === a.app).length > 1 ? `${a.app} (${a.deployMethod})` : a.app;

/**
 * summarizePreview's apps by name, for assertions: `summaryByApp(json)["python-app"].podRestarts`.
 * An app in both deploy methods (a switch) is listed as `<app> (raw)` and `<app> (helm)`.
 */
export function summaryByApp(preview: string | PreviewDigest): Record<string, AppSummary> {
    const summary = summarizePreview(preview);
    return Object.fromEntries(summary.apps.map((a) => [appLabel(a, summary), a]));
}
