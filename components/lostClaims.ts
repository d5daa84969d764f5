// A PVC of a deployed ordinal that is gone from the cluster (deleted by hand while its pod was
// scaled away). Its resize patch runs before the workload (appResources.ts), and a server-side
// apply of a claim that does not exist creates one: a PVC with only a size, which the API server
// refuses ("spec.accessModes: Required value"), so `pulumi up` failed and the replica never came
// back (found by e2e scenario 29). The program therefore asks the cluster which of those claims
// still exist, in the preview as in the update (so the plan is the one applied): a lost one's
// patch waits for the workload, which creates the claim again, empty, and the program says so.
import * as pulumi from "@pulumi/pulumi";
import { coreV1Api, describeApiError, labelSelector } from "./kubeClient";
import { pvcName, selectorLabels } from "./manifests";
import type { AppSettings } from "./config";
import { monitorLacksHookRpc } from "./sdkInternals";

/** How long the program waits for the cluster's answer before it assumes every claim is there. */
const QUERY_TIMEOUT_MS = 10_000;

/** The ordinals below `deployedReplicas` (and the new replicas) whose PVC is not among `existing`. */
export function lostOrdinals(app: Pick<AppSettings, "name" | "volumeClaimName" | "replicas">, deployedReplicas: number, existing: string[]): number[] {
    const names = new Set(existing);
    return Array.from({ length: Math.min(deployedReplicas, app.replicas) }, (_, i) => i).filter((i) => !names.has(pvcName(app, i)));
}

export const lostClaimWarning = (app: Pick<AppSettings, "name" | "volumeClaimName">, ordinal: number) =>
    `${app.name}: PVC ${pvcName(app, ordinal)} is gone from the cluster, and its data with it; pulumi up cannot restore the data: ` +
    `the StatefulSet creates the claim again, empty, when pod ${app.name}-${ordinal} starts, and its size is applied after that`;

/**
 * The deployed ordinals of an app whose claim is gone, each warned about. Empty when nothing was
 * deployed, under Pulumi's unit-test mocks (no cluster), or when the cluster cannot be asked
 * (then the patches run first, as before, and a lost claim makes the update fail as described).
 */
export async function lostClaims(app: AppSettings, namespace: string | undefined, deployedReplicas: number): Promise<number[]> {
    if (!namespace || deployedReplicas === 0 || monitorLacksHookRpc()) {
        return [];
    }
    let timer: NodeJS.Timeout | undefined;
    try {
        const list = coreV1Api().listNamespacedPersistentVolumeClaim({ namespace, labelSelector: labelSelector(selectorLabels(app)) });
        const timeout = new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new Error(`no answer in ${QUERY_TIMEOUT_MS / 1000} s`)), QUERY_TIMEOUT_MS);
        });
        const claims = await Promise.race([list, timeout]);
        const lost = lostOrdinals(app, deployedReplicas, claims.items.filter((c) => !c.metadata?.deletionTimestamp).map((c) => c.metadata?.name ?? ""));
        for (const ordinal of lost) {
            await pulumi.log.warn(lostClaimWarning(app, ordinal));
        }
        return lost;
    } catch (e) {
        await pulumi.log.debug(`${app.name}: cannot list its PVCs (${describeApiError(e, namespace)}); assuming every deployed claim exists`);
        return [];
    } finally {
        clearTimeout(timer);
    }
}
