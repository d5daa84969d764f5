// `pulumi up` waits for an app's pods until its rollout timeout (the provider's StatefulSet await
// in raw mode, helm's --wait in Helm mode), and neither says why a pod is never scheduled: the
// provider's pod check keeps the scheduler's PodScheduled message at info level and logs only
// warnings (pulumi-kubernetes v4 await/statefulset.go with cloud-ready-checks' pod checker), and
// its timeout error says no more than "timed out waiting for the condition". So while an
// app's workload is being created or updated, the program watches the app's pods itself and warns
// on the app, with the scheduler's own words, as soon as one has been unschedulable for a while.
// The await still decides success or failure; this only says why it is waiting.
import * as pulumi from "@pulumi/pulumi";
import type { V1Pod } from "@kubernetes/client-node";
import { coreV1Api, describeApiError, labelSelector } from "./kubeClient";

/** A pod the scheduler has tried and failed to place (PodScheduled False, reason Unschedulable). */
export interface UnschedulablePod {
    name: string;
    /** The scheduler's message, e.g. "0/2 nodes are available: 2 node(s) didn't match pod anti-affinity rules. ..." */
    message: string;
    /** When the scheduler first said so (the condition's lastTransitionTime). */
    since: Date;
}

export interface SchedulingApi {
    unschedulablePods(namespace: string, labelSelector: string): Promise<UnschedulablePod[]>;
}

/**
 * How long a pod must have been unschedulable before it is reported: a claim of an `Immediate`
 * class is unbound for a moment ("pod has unbound immediate PersistentVolumeClaims"), and the
 * scheduler retries as soon as the PV controller binds it.
 */
export const REPORT_AFTER_MS = 15_000;
const POLL_MS = 5_000;

/** The pods of a pod list the scheduler has left unschedulable. */
export function unschedulableOf(pods: V1Pod[]): UnschedulablePod[] {
    return pods.flatMap((pod) => {
        const scheduled = pod.status?.conditions?.find((c) => c.type === "PodScheduled");
        return scheduled?.status === "False" && scheduled.reason === "Unschedulable"
            ? [{ name: pod.metadata?.name ?? "?", message: scheduled.message ?? "", since: new Date(scheduled.lastTransitionTime ?? Date.now()) }]
            : [];
    });
}

export function kubernetesSchedulingApi(): SchedulingApi {
    const core = coreV1Api();
    return {
        async unschedulablePods(namespace, selector) {
            return unschedulableOf((await core.listNamespacedPod({ namespace, labelSelector: selector })).items);
        },
    };
}

/**
 * The pods to report now: unschedulable for REPORT_AFTER_MS, and not yet reported with that
 * message (`reported` is updated). A pod reported again is one whose reason changed.
 */
export function podsToReport(pods: UnschedulablePod[], now: number, reported: Set<string>): UnschedulablePod[] {
    return pods.filter((pod) => {
        const key = `${pod.name}\n${pod.message}`;
        if (now - pod.since.getTime() < REPORT_AFTER_MS || reported.has(key)) {
            return false;
        }
        reported.add(key);
        return true;
    });
}

/** The warning for one pod: the scheduler's reason, what pulumi up does meanwhile, and where to look. */
export function unschedulableWarning(app: string, pod: UnschedulablePod, rolloutTimeoutSeconds: number): string {
    return `${app}: pod ${pod.name} cannot be scheduled: ${pod.message.trim()} ` +
        `pulumi up keeps waiting for it until the rollout timeout (rolloutTimeout: ${rolloutTimeoutSeconds} s), then fails. ` +
        `Check the app's placement settings (podAntiAffinityPreset, topologySpreadConstraints, nodeSelector, tolerations, affinity, replicas) ` +
        `against the cluster's nodes (kubectl describe pod ${pod.name}), or cancel with Ctrl-C.`;
}

export interface SchedulingReportArgs {
    app: string;
    namespace: pulumi.Input<string>;
    podSelector: Record<string, string>;
    rolloutTimeoutSeconds: number;
    /** The workload whose create or update is awaited: the report stops when it is done. */
    workload: pulumi.Resource;
    /** The resource the warnings are logged on (the app's component). */
    parent: pulumi.Resource;
}

/**
 * Starts the report for one app during `pulumi up` (never in a preview). Its timers do not keep
 * the program alive: when the workload's registration ends, in success or failure, it stops.
 */
export function reportUnschedulablePods(args: SchedulingReportArgs, api: () => SchedulingApi = kubernetesSchedulingApi, pollMs = POLL_MS): void {
    if (pulumi.runtime.isDryRun()) {
        return;
    }
    let done = false;
    // Resolves when the engine has finished the workload's step (its await included).
    args.workload.urn.apply(() => {
        done = true;
    });
    const reported = new Set<string>();
    let client: SchedulingApi | undefined;
    let failures = 0;
    const poll = async (namespace: string) => {
        if (done) {
            return;
        }
        try {
            client ??= api();
            const pods = await client.unschedulablePods(namespace, labelSelector(args.podSelector));
            for (const pod of done ? [] : podsToReport(pods, Date.now(), reported)) {
                pulumi.log.warn(unschedulableWarning(args.app, pod, args.rolloutTimeoutSeconds), args.parent);
            }
        } catch (e) {
            // Only a report: the await still decides. Say once why it is silent.
            if (failures++ === 0) {
                pulumi.log.debug(`${args.app}: cannot list pods for the scheduling report: ${describeApiError(e, namespace)}`, args.parent);
            }
        }
        if (!done) {
            setTimeout(() => void poll(namespace), pollMs).unref();
        }
    };
    pulumi.output(args.namespace).apply((namespace) => {
        setTimeout(() => void poll(namespace), pollMs).unref();
    });
}
