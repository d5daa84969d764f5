// Helm mode: one app as a Helm release of the project's own chart, charts/stateful-app.
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { AppSettings, chartDefaults } from "./config";
import { APP_COMPONENT_TYPES, SECRET_CHECKSUM_VALUE } from "./identifiers";
import { CHART_RELATIVE_PATH } from "./paths";
import { RELEASE_REPLACING_VALUES } from "./replacement";
import { appSecret, AppComponentArgs, appOutputs, AppOutputs, componentOutputs, volumeResizePatches, watchScheduling } from "./appResources";

/** Chart path as the Release records it: relative, so state does not depend on the checkout path. */
export const CHART_PATH = `./${CHART_RELATIVE_PATH}`;

/** The chart's own volume claim name (values.yaml), which the chart renders without being told. */
const DEFAULT_CLAIM_NAME = chartDefaults().volumeClaimName;

/**
 * The chart values for an app: its validated settings, plus the Pulumi-managed Secret's name and
 * data hash. `volumeClaimName` only when it is not the chart's default: releases deployed before
 * the setting existed have no such value, and adding it would show them a release update that
 * changes nothing.
 */
export function helmValues(app: AppSettings, secretChecksum: pulumi.Input<string>): Record<string, unknown> {
    const { name, volumeClaimName, ...settings } = app;
    const claim = volumeClaimName === DEFAULT_CLAIM_NAME ? {} : { volumeClaimName };
    return { ...settings, ...claim, adminTokenSecret: name, [SECRET_CHECKSUM_VALUE]: secretChecksum };
}

export type HelmStatefulAppArgs = AppComponentArgs;

/**
 * The same objects as StatefulApp, deployed as the Helm release `<app>` so `helm list` and
 * `helm history` work. The admin-token Secret and the namespace stay Pulumi-managed.
 */
export class HelmStatefulApp extends pulumi.ComponentResource {
    public readonly release: k8s.helm.v3.Release;
    public readonly outputs: AppOutputs;

    constructor(name: string, args: HelmStatefulAppArgs, opts?: pulumi.ComponentResourceOptions) {
        super(APP_COMPONENT_TYPES.helm, name, {}, opts);
        const { app, namespace } = args;
        const ns = namespace.metadata.name;

        const { token, secret, checksum } = appSecret(app, ns, args.secretEnv, this);
        const resize = volumeResizePatches(app, ns, args.deployedReplicas, this, args.lostClaims);
        this.release = new k8s.helm.v3.Release(
            app.name,
            {
                name: app.name,
                chart: CHART_PATH,
                namespace: ns,
                values: helmValues(app, checksum),
                createNamespace: false,
                // helm --wait's limit for the pods to be ready.
                timeout: args.rolloutTimeout,
                maxHistory: 10,
            },
            {
                parent: this,
                // The existing PVCs are resized first (appResources.ts says why).
                dependsOn: [namespace, secret, ...resize.existing],
                // helm upgrade cannot apply these; the PVCs (not part of the release) survive and are
                // re-attached. Only for a release this stack deployed (its outputs record the app): a
                // release adopted by `pulumi import` has only the values its `helm install` was given,
                // so the first update adds the rest (e.g. `storageClass: ""`), which would read as a
                // replacing change. Without the option, a real change of a replacing value there
                // fails `helm upgrade` (the API server refuses it); nothing is deleted.
                replaceOnChanges: args.deployedBefore ? RELEASE_REPLACING_VALUES : [],
                deleteBeforeReplace: true,
                // A release adopted with `pulumi import` (README: Moving an existing helm install)
                // sits at the stack's top level; this moves it into the component without a change.
                aliases: [{ parent: pulumi.rootStackResource }],
            },
        );
        watchScheduling(this, args, this.release);
        const newPatches = resize.afterWorkload(this.release);

        this.outputs = appOutputs(app, ns, token, [this.release, ...resize.existing, ...newPatches]);
        this.registerOutputs(componentOutputs(app, ns, this.outputs));
    }
}
