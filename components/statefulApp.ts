// Raw mode: one app as plain Kubernetes resources declared through Pulumi.
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import * as random from "@pulumi/random";
import { AppSettings } from "./config";
import { APP_COMPONENT_TYPES } from "./identifiers";
import * as manifests from "./manifests";
import { replacingSettings, STATEFULSET_REPLACING_FIELDS } from "./replacement";
import { appSecret, AppComponentArgs, appOutputs, AppOutputs, componentOutputs, volumeResizePatches, watchScheduling } from "./appResources";

export type StatefulAppArgs = AppComponentArgs;

/**
 * An app as a StatefulSet with per-pod PVCs, a headless Service for stable pod DNS names, a
 * ClusterIP Service, its own ServiceAccount, admin-token Secret, PodDisruptionBudget (when
 * replicas > 1) and NetworkPolicy.
 */
export class StatefulApp extends pulumi.ComponentResource {
    public readonly statefulSet: k8s.apps.v1.StatefulSet;
    public readonly headlessService: k8s.core.v1.Service;
    public readonly service: k8s.core.v1.Service;
    public readonly outputs: AppOutputs;

    constructor(name: string, args: StatefulAppArgs, opts?: pulumi.ComponentResourceOptions) {
        super(APP_COMPONENT_TYPES.raw, name, {}, opts);
        const { app, namespace } = args;
        const ns = namespace.metadata.name;
        const child = { parent: this, dependsOn: [namespace] };

        const { token, secret, checksum } = appSecret(app, ns, args.secretEnv, this);
        const serviceAccount = new k8s.core.v1.ServiceAccount(app.name, manifests.serviceAccount(app, ns), child);
        this.headlessService = new k8s.core.v1.Service(`${app.name}-headless`, manifests.headlessService(app, ns), child);
        this.service = new k8s.core.v1.Service(app.name, manifests.clientService(app, ns), child);
        // A new id whenever a setting that forces replacement changes. It is unknown during that
        // preview, which makes the Kubernetes provider skip its server-side dry run of the
        // replacement: a provider without the fix of pulumi-kubernetes#4328 would dry-run it as an
        // update of the live StatefulSet, which the API server forbids.
        const replacementId = new random.RandomId(
            `${app.name}-replacement`,
            { byteLength: 4, keepers: replacingSettings(app) },
            { parent: this },
        );
        const resize = volumeResizePatches(app, ns, args.deployedReplicas, this, args.lostClaims);
        const stsArgs = manifests.statefulSet(app, ns, { [manifests.REPLACEMENT_ID_ANNOTATION]: replacementId.hex }, checksum);
        this.statefulSet = new k8s.apps.v1.StatefulSet(app.name, stsArgs, {
            parent: this,
            // Pods need their ServiceAccount and Secret at admission/start, and their stable DNS
            // names; the existing PVCs are resized first (appResources.ts says why).
            dependsOn: [namespace, serviceAccount, secret, this.headlessService, ...resize.existing],
            // Kubernetes rejects in-place changes of these fields; say so to the engine rather than
            // rely on the provider version's own list. The name is fixed (so the new StatefulSet
            // finds the old PVCs), hence delete first; the orphan annotation keeps the pods.
            replaceOnChanges: STATEFULSET_REPLACING_FIELDS,
            deleteBeforeReplace: true,
            // How long the provider's await waits for the pods to be ready (create and update).
            customTimeouts: { create: `${args.rolloutTimeout}s`, update: `${args.rolloutTimeout}s` },
        });
        watchScheduling(this, args, this.statefulSet);
        if (app.replicas > 1) {
            new k8s.policy.v1.PodDisruptionBudget(app.name, manifests.podDisruptionBudget(app, ns), child);
        }
        if (app.networkPolicy.enabled) {
            new k8s.networking.v1.NetworkPolicy(app.name, manifests.networkPolicy(app, ns), child);
        }
        const newPatches = resize.afterWorkload(this.statefulSet);

        this.outputs = appOutputs(app, ns, token, [this.statefulSet, ...resize.existing, ...newPatches]);
        this.registerOutputs(componentOutputs(app, ns, this.outputs));
    }
}
