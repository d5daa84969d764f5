// Helm mode: one app as a Helm release of the project's own chart, charts/stateful-app.
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { AppSettings } from "./config";
import { APP_COMPONENT_TYPES, SECRET_CHECKSUM_VALUE } from "./identifiers";
import { CHART_RELATIVE_PATH } from "./paths";
import { RELEASE_REPLACING_VALUES } from "./replacement";
import { appSecret, AppComponentArgs, appOutputs, AppOutputs, componentOutputs, volumeResizePatches } from "./appResources";

/** Chart path as the Release records it: relative, so state does not depend on the checkout path. */
export const CHART_PATH = `./${CHART_RELATIVE_PATH}`;

/** The chart values for an app: its validated settings, plus the Pulumi-managed Secret's name and data hash. */
export function helmValues(app: AppSettings, secretChecksum: pulumi.Input<string>): Record<string, unknown> {
    const { name, ...settings } = app;
    return { ...settings, adminTokenSecret: name, [SECRET_CHECKSUM_VALUE]: secretChecksum };
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
        const resize = volumeResizePatches(app, ns, args.deployedReplicas, this);
        this.release = new k8s.helm.v3.Release(
            app.name,
            {
                name: app.name,
                chart: CHART_PATH,
                namespace: ns,
                values: helmValues(app, checksum),
                createNamespace: false,
                timeout: 600,
                maxHistory: 10,
            },
            {
                parent: this,
                // The existing PVCs are resized first (appResources.ts says why).
                dependsOn: [namespace, secret, ...resize.existing],
                // helm upgrade cannot apply these; the PVCs (not part of the release) survive and are re-attached.
                replaceOnChanges: RELEASE_REPLACING_VALUES,
                deleteBeforeReplace: true,
            },
        );
        const newPatches = resize.afterWorkload(this.release);

        this.outputs = appOutputs(app, ns, token, [this.release, ...resize.existing, ...newPatches]);
        this.registerOutputs(componentOutputs(app, ns, this.outputs));
    }
}
