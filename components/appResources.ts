// Pulumi-managed pieces every app has in both deploy methods: the admin-token Secret, the
// PVC resize patches and the stack outputs.
import * as crypto from "crypto";
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import * as random from "@pulumi/random";
import { AppSettings } from "./config";
import { PATCH_FORCE_ANNOTATION, SKIP_AWAIT_ANNOTATION } from "./identifiers";
import { reportUnschedulablePods } from "./schedulingReport";
import { ADMIN_TOKEN_KEY, headlessServiceName, metadata, podDnsNames, pvcName, selectorLabels, serviceUrl } from "./manifests";

/** What both app components take. */
export interface AppComponentArgs {
    /** Validated settings of this app (components/config.ts). */
    app: AppSettings;
    /** The namespace to deploy into; created by the program. */
    namespace: k8s.core.v1.Namespace;
    /** The app's secret env values (stateful-apps:secretEnv.<app>), a Pulumi secret. */
    secretEnv: pulumi.Output<Record<string, string>>;
    /** The app's replicas in the stack's last update (0 if it was not deployed): their PVCs exist. */
    deployedReplicas: number;
    /** The stack's last outputs record the app: this stack deployed it (rather than, say, imported it). */
    deployedBefore: boolean;
    /** Seconds `pulumi up` waits for the app's pods to be ready (stateful-apps:rolloutTimeout). */
    rolloutTimeout: number;
    /** Deployed ordinals whose PVC is gone from the cluster (lostClaims.ts). */
    lostClaims: number[];
}

/**
 * While the app's workload is created or updated, warns on the component when a pod cannot be
 * scheduled (schedulingReport.ts says why the await alone does not).
 */
export function watchScheduling(component: pulumi.Resource, args: AppComponentArgs, workload: pulumi.Resource): void {
    reportUnschedulablePods({
        app: args.app.name,
        namespace: args.namespace.metadata.name,
        podSelector: selectorLabels(args.app),
        rolloutTimeoutSeconds: args.rolloutTimeout,
        workload,
        parent: component,
    });
}

/** What the stack exports for each app. */
export interface AppOutputs {
    statefulSet: string;
    headlessService: string;
    service: string;
    /**
     * What is deployed: it resolves only once the workload and every PVC patch are applied, so a
     * failed update leaves the last good values, which the next run reads (deployedState.ts).
     */
    replicas: pulumi.Output<number>;
    /** The PVCs' requested size, as `replicas`: the next run refuses a smaller one. */
    storageSize: pulumi.Output<string>;
    /** The volume claim template name, as `replicas`: the next run refuses another one. */
    volumeClaimName: pulumi.Output<string>;
    /** One full DNS name per replica, in ordinal order. */
    podDnsNames: pulumi.Output<string[]>;
    serviceUrl: pulumi.Output<string>;
    /** Secret: `pulumi stack output --show-secrets` reveals it. */
    adminToken: pulumi.Output<string>;
}

/**
 * The Secret `<app>`: a random admin token (generated once per stack and app) under ADMIN_TOKEN,
 * and the app's secretEnv values under their env names, all a Pulumi secret. Pulumi owns it in
 * both deploy methods; the StatefulSet (raw or chart) only references its keys.
 */
export function appSecret(
    app: AppSettings,
    namespace: pulumi.Input<string>,
    secretEnv: pulumi.Output<Record<string, string>>,
    parent: pulumi.Resource,
) {
    const token = new random.RandomPassword(`${app.name}-admin-token`, { length: 32, special: false }, { parent });
    const data = pulumi.all([secretEnv, token.result]).apply(([env, adminToken]): Record<string, string> => ({ ...env, [ADMIN_TOKEN_KEY]: adminToken }));
    const secret = new k8s.core.v1.Secret(
        `${app.name}-admin-token`,
        {
            metadata: metadata(app, namespace),
            type: "Opaque",
            stringData: pulumi.secret(data),
        },
        { parent },
    );
    return { token: token.result, secret, checksum: secretChecksum(data) };
}

/**
 * Kubernetes never propagates a changed volumeClaimTemplate to existing PVCs, so each live
 * ordinal's PVC gets a server-side-apply patch of its requested size (forced: the StatefulSet
 * controller created the PVC and co-owns the field). Kept on delete: dropping a patch must
 * never touch the PVC.
 *
 * The PVCs the last update left (ordinals below its replicas) are patched BEFORE the workload
 * (`existing`, for the workload's dependsOn): when the API server refuses the resize (a
 * StorageClass without allowVolumeExpansion), the command fails before the StatefulSet is
 * replaced, also under `--skip-preview`. The PVCs of new ordinals exist only once the workload
 * has created them, so their patches wait for it (`afterWorkload`).
 *
 * Each patch skips the provider's await: there is nothing to wait for (a patched claim is Bound
 * already: the workload's pods run on it), and both awaits the provider offers are wrong here
 * (v4.25 source). Its built-in PVC await waits for phase Pending when the StorageClass binds
 * WaitForFirstConsumer, so on such a class (most local-volume and many cloud classes) a patch of a
 * bound claim timed out after 5 minutes (found by e2e scenario 17 on the local class `sized`). A
 * `pulumi.com/waitFor` condition is evaluated on the provider's shared informer cache, which
 * treats an object as current unless its generation is older; an annotation-only patch keeps the
 * generation, so the stale cached claim (without the patch's annotations) satisfied the condition
 * and became the patch's outputs, and the next preview showed a spurious update (CI, scenario 1).
 */
const PVC_PATCH_ANNOTATIONS = { [PATCH_FORCE_ANNOTATION]: "true", [SKIP_AWAIT_ANNOTATION]: "true" };

export function volumeResizePatches(app: AppSettings, namespace: pulumi.Input<string>, deployedReplicas: number, parent: pulumi.Resource, lost: number[] = []) {
    const patch = (ordinal: number, dependsOn: pulumi.Resource[]) =>
        new k8s.core.v1.PersistentVolumeClaimPatch(
            pvcName(app, ordinal),
            {
                metadata: { name: pvcName(app, ordinal), namespace, annotations: PVC_PATCH_ANNOTATIONS },
                spec: { resources: { requests: { storage: app.storageSize } } },
            },
            { parent, dependsOn, retainOnDelete: true },
        );
    // A deployed ordinal whose claim is gone (lostClaims.ts) is patched like a new one.
    const ordinals = Array.from({ length: app.replicas }, (_, i) => i);
    const exists = (i: number) => i < deployedReplicas && !lost.includes(i);
    return {
        existing: ordinals.filter(exists).map((i) => patch(i, [])),
        afterWorkload: (workload: pulumi.Resource) => ordinals.filter((i) => !exists(i)).map((i) => patch(i, [workload])),
    };
}

export function appOutputs(
    app: AppSettings,
    namespace: pulumi.Input<string>,
    adminToken: pulumi.Output<string>,
    /** The workload and the PVC patches: the deployed values wait for all of them (their ids). */
    applied: pulumi.CustomResource[],
): AppOutputs {
    const ns = pulumi.output(namespace);
    const done = pulumi.all(applied.map((r) => r.id));
    return {
        statefulSet: app.name,
        headlessService: headlessServiceName(app.name),
        service: app.name,
        replicas: done.apply(() => app.replicas),
        storageSize: done.apply(() => app.storageSize),
        volumeClaimName: done.apply(() => app.volumeClaimName),
        podDnsNames: ns.apply((n) => podDnsNames(app, n)),
        serviceUrl: ns.apply((n) => serviceUrl(app, n)),
        adminToken: pulumi.secret(adminToken),
    };
}

/**
 * What an app component registers as its outputs: the stack outputs, plus where its pods are,
 * which the pod-cleanup hook reads from the state when the component is deleted (podCleanup.ts).
 */
export function componentOutputs(app: AppSettings, namespace: pulumi.Input<string>, outputs: AppOutputs): pulumi.Inputs {
    return { ...outputs, namespace, podSelector: selectorLabels(app), deletePvcs: app.pvcRetentionPolicy.whenDeleted === "Delete" };
}

/**
 * sha256 of the Secret's data, keys sorted: changes exactly when a value or a name does. Not a
 * Pulumi secret (unsecret): it is a hash over a random 32-character token, it reveals no value,
 * and as a secret it would hide the whole pod template from every preview diff.
 */
export function secretChecksum(data: pulumi.Output<Record<string, string>>): pulumi.Output<string> {
    return pulumi.unsecret(
        data.apply((d) => crypto.createHash("sha256").update(JSON.stringify(Object.keys(d).sort().map((k) => [k, d[k]]))).digest("hex")),
    );
}
