// `pulumi destroy` and removing an app from the config must leave none of the app's pods running,
// while a replacement of its StatefulSet (storage resize, podManagementPolicy) must keep them.
// The StatefulSet is always deleted with orphan propagation (the annotation has to be on the live
// object before a replacement, and the provider cannot tell a replacement from a delete), so the
// pods survive both. What tells them apart is the app's ComponentResource: it is deleted only when
// the app goes away, never when a child is replaced. A named `afterDelete` resource hook on the
// component therefore deletes the app's pods, and waits until they are gone, exactly then.
//
// Delete hooks need the program: `pulumi destroy --run-program`. A plain `pulumi destroy` of a
// stack whose components carry the hook fails in the engine before deleting anything ("You must
// run with the `--run-program` flag to use delete hooks during destroy."), so pods never leak
// silently.
import * as pulumi from "@pulumi/pulumi";
import { coreV1Api, labelSelector } from "./kubeClient";
import { hookRegistration, HOOKS_UNSUPPORTED, monitorLacksHookRpc } from "./sdkInternals";

/** The hook's name: the engine records it in the state and calls it by name on a later run. */
export const POD_CLEANUP_HOOK = "stateful-apps-delete-app-pods";

/** How long the hook waits for the pods to terminate (their grace period is 30 s by default). */
export const POD_CLEANUP_TIMEOUT_MS = 5 * 60 * 1000;
const POLL_MS = 1000;

/** What the hook needs to find an app's pods; each app component registers it as outputs. */
export interface PodCleanupTarget {
    namespace: string;
    /** Labels of the app's pods, and of its PVCs (the claim template carries them too). */
    podSelector: Record<string, string>;
    /**
     * pvcRetentionPolicy.whenDeleted was Delete. The orphan propagation that keeps pods through a
     * replacement also strips the StatefulSet's ownerReference from the PVCs, so Kubernetes would
     * keep them: the hook deletes them, after the pods, as that policy asks.
     */
    deletePvcs?: boolean;
}

/** The few Kubernetes calls the hook makes (an interface so the tests can fake the API server). */
export interface PodApi {
    /** Deletes the pods matching the selector; resolves to false if the namespace does not exist. */
    deletePods(namespace: string, labelSelector: string): Promise<boolean>;
    /** Names of the pods (terminating or not) matching the selector. */
    listPods(namespace: string, labelSelector: string): Promise<string[]>;
    /** Deletes the PVCs matching the selector. */
    deletePvcs(namespace: string, labelSelector: string): Promise<void>;
}


const podCommand = (t: PodCleanupTarget) => `kubectl delete pod -n ${t.namespace} -l ${labelSelector(t.podSelector)}`;
const pvcCommand = (t: PodCleanupTarget) => `kubectl delete pvc -n ${t.namespace} -l ${labelSelector(t.podSelector)}`;

/** The RBAC the hook needs in the app's namespace (README: "The pod-cleanup hook's permissions"). */
export const HOOK_RBAC = "list and deletecollection on pods, and deletecollection on persistentvolumeclaims when whenDeleted is Delete";

/** HTTP statuses worth another try: the API server is busy, restarting or behind a flaky proxy. */
const TRANSIENT_STATUS = new Set([429, 500, 502, 503, 504]);
/** Socket-level failures of the same kind (the client reports them as error codes or causes). */
const TRANSIENT_NETWORK = /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EAI_AGAIN|EPIPE|socket hang up|fetch failed/;

/** A failure a later attempt can fix; permissions, a missing object or a bad request cannot be. */
export function isTransient(e: unknown): boolean {
    const code = (e as { code?: unknown })?.code;
    if (typeof code === "number") {
        return TRANSIENT_STATUS.has(code);
    }
    const text = `${String(code ?? "")} ${(e as Error)?.message ?? ""} ${String((e as { cause?: unknown })?.cause ?? "")}`;
    return TRANSIENT_NETWORK.test(text);
}

export interface RetryOptions {
    /** Attempts in all, the first included. @default 5 */
    attempts?: number;
    /** Wait before the second attempt; doubled after each. @default 500 */
    backoffMs?: number;
    log?: (msg: string) => void;
}

/** Runs `call`, again after a doubling pause while it fails transiently, at most `attempts` times. */
export async function withRetries<T>(what: string, call: () => Promise<T>, opts: RetryOptions = {}): Promise<T> {
    const { attempts = 5, backoffMs = 500, log = () => undefined } = opts;
    for (let attempt = 1; ; attempt++) {
        try {
            return await call();
        } catch (e) {
            if (attempt >= attempts || !isTransient(e)) {
                throw e;
            }
            const wait = backoffMs * 2 ** (attempt - 1);
            log(`${what} failed (${describe(e)}); attempt ${attempt + 1} of ${attempts} in ${wait} ms`);
            await new Promise((resolve) => setTimeout(resolve, wait));
        }
    }
}

/** One line for an error: the API server's own message when it sent one (the client's ApiException body). */
const describe = (e: unknown) => {
    const code = (e as { code?: unknown })?.code;
    const body = (e as { body?: unknown })?.body;
    let message = ((e as Error)?.message ?? String(e)).split("\n")[0];
    try {
        const status = typeof body === "string" ? JSON.parse(body) : body;
        if (typeof status?.message === "string") {
            message = status.message;
        }
    } catch {
        // not a Kubernetes Status: keep the error's own message
    }
    return code !== undefined && !message.includes(String(code)) ? `${code}: ${message}` : message;
};

/** The error the engine shows when the hook gives up: what is left, and the command that finishes it. */
function cleanupFailed(step: string, e: unknown, target: PodCleanupTarget, left: string, finish: string[]): Error {
    const code = (e as { code?: unknown })?.code;
    const permissions = code === 401 || code === 403 ? ` The hook needs ${HOOK_RBAC} in ${target.namespace}.` : "";
    return new Error(`${step} failed: ${describe(e)}.${permissions} Left behind: ${left}; finish with: ${finish.join(" && ")}`);
}

/** The commands that finish what the hook does, pods first. */
const finishCommands = (t: PodCleanupTarget) => [podCommand(t), ...(t.deletePvcs ? [pvcCommand(t)] : [])];

/** Deletes the target's pods and waits until none is left; then its PVCs if asked to. */
export async function deleteAppPods(
    api: PodApi,
    target: PodCleanupTarget,
    opts: { timeoutMs?: number; pollMs?: number; log?: (msg: string) => void; retry?: RetryOptions } = {},
): Promise<void> {
    const { timeoutMs = POD_CLEANUP_TIMEOUT_MS, pollMs = POLL_MS, log = () => undefined } = opts;
    const retry = { log, ...opts.retry };
    const selector = labelSelector(target.podSelector);
    const pvcsLeft = target.deletePvcs ? ` and the PVCs of ${selector} (pvcRetentionPolicy.whenDeleted: Delete)` : "";
    const podsLeft = `the pods of ${selector} in namespace ${target.namespace}${pvcsLeft}`;
    let exists: boolean;
    try {
        exists = await withRetries("deleting the pods", () => api.deletePods(target.namespace, selector), retry);
    } catch (e) {
        throw cleanupFailed("deleting the pods", e, target, podsLeft, finishCommands(target));
    }
    if (!exists) {
        log(`namespace ${target.namespace} does not exist: no pods to delete`);
        return;
    }
    const deadline = Date.now() + timeoutMs;
    for (;;) {
        let left: string[];
        try {
            left = await withRetries("listing the pods", () => api.listPods(target.namespace, selector), retry);
        } catch (e) {
            throw cleanupFailed("waiting for the pods to terminate", e, target, `possibly ${podsLeft}`, finishCommands(target));
        }
        if (left.length === 0) {
            log(`deleted the pods of ${selector} in ${target.namespace}`);
            break;
        }
        if (Date.now() >= deadline) {
            throw new Error(
                `pods still present after ${Math.round(timeoutMs / 1000)} s in namespace ${target.namespace}: ${left.join(", ")}${pvcsLeft ? `, and the PVCs of ${selector} were not deleted` : ""}; ` +
                    `check them and delete them with: ${finishCommands(target).join(" && ")}`,
            );
        }
        await new Promise((resolve) => setTimeout(resolve, pollMs));
    }
    if (target.deletePvcs) {
        try {
            await withRetries("deleting the PVCs", () => api.deletePvcs(target.namespace, selector), retry);
        } catch (e) {
            throw cleanupFailed("the pods are gone, but deleting the PVCs", e, target, `the PVCs of ${selector} in namespace ${target.namespace}`, [pvcCommand(target)]);
        }
        log(`deleted the PVCs of ${selector} in ${target.namespace} (pvcRetentionPolicy.whenDeleted: Delete)`);
    }
}

/** The hook's calls, through the Kubernetes API as the provider sees it (kubeClient.ts). */
export function kubernetesPodApi(config: Record<string, string> = pulumi.runtime.allConfig()): PodApi {
    const core = coreV1Api(config);
    return {
        async deletePods(namespace, labelSelector) {
            try {
                await core.deleteCollectionNamespacedPod({ namespace, labelSelector });
                return true;
            } catch (e) {
                if ((e as { code?: number }).code === 404) {
                    return false;
                }
                throw e;
            }
        },
        async deletePvcs(namespace, labelSelector) {
            await core.deleteCollectionNamespacedPersistentVolumeClaim({ namespace, labelSelector });
        },
        async listPods(namespace, labelSelector) {
            const pods = await core.listNamespacedPod({ namespace, labelSelector });
            return pods.items.map((p) => p.metadata?.name ?? "?");
        },
    };
}

/** The hook body: the deleted component's registered outputs say which pods to delete. */
export async function onAppDeleted(args: pulumi.ResourceHookArgs, api: () => PodApi = kubernetesPodApi): Promise<void> {
    const target = args.oldOutputs as Partial<PodCleanupTarget> | undefined;
    if (typeof target?.namespace !== "string" || !target.podSelector) {
        // A component from before this hook existed would have no target, but it has no hook either.
        pulumi.log.warn(`${args.name}: no namespace/podSelector in the deleted component's outputs; its pods were not deleted`);
        return;
    }
    await deleteAppPods(api(), target as PodCleanupTarget, { log: (msg) => pulumi.log.info(`${args.name}: ${msg}`) });
}

/**
 * Registers the hook. Resolves to undefined, with a warning, when the hook cannot be registered:
 * under Pulumi's unit-test mocks (setMocks), or when the Pulumi language host cannot register
 * hooks (a nodejs language host whose monitor proxy predates RegisterResourceHook): the stack
 * then deploys without the hook, and destroy leaves pods running.
 */
export async function registerPodCleanupHook(): Promise<pulumi.ResourceHook | undefined> {
    if (monitorLacksHookRpc()) {
        await warnWithoutHook("the engine's monitor has no RegisterResourceHook, as under Pulumi's unit-test mocks");
        return undefined;
    }
    // The stack config as the program saw it: the engine calls the hook later, through its
    // callback server, outside the program's own context.
    const config = pulumi.runtime.allConfig();
    const hook = new pulumi.ResourceHook(POD_CLEANUP_HOOK, (args) => onAppDeleted(args, () => kubernetesPodApi(config)));
    try {
        // The SDK registers a hook asynchronously and only fails when a resource uses it.
        await hookRegistration(hook);
        return hook;
    } catch (e) {
        const message = (e as Error).message ?? String(e);
        if (!HOOKS_UNSUPPORTED.test(message)) {
            throw e;
        }
        await warnWithoutHook(message.split("\n")[0]);
        return undefined;
    }
}

function warnWithoutHook(reason: string): Promise<void> {
    return pulumi.log.warn(
        `This Pulumi CLI or language host cannot register resource hooks (${reason}). ` +
            `Without the hook, \`pulumi destroy\` and removing an app leave the app's pods running (PVCs and namespace are kept anyway); ` +
            `delete them with: kubectl delete pod -n <namespace> -l app.kubernetes.io/instance=<app>. ` +
            `Use a Pulumi CLI and pulumi-language-nodejs >= 3.248 to get the hook.`,
    );
}

/** Resource options that attach the hook to an app component (none without a hook). */
export function podCleanupOptions(hook: pulumi.ResourceHook | undefined): pulumi.ComponentResourceOptions {
    return hook ? { hooks: { afterDelete: [hook] } } : {};
}
