// The namespace the program creates and deploys every app into.
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";

/** Pod Security Standards level enforced on the namespace (and warned/audited at). */
export const POD_SECURITY_LEVEL = "restricted";

/**
 * A namespace that enforces Pod Security Standards `restricted`. It is never deleted by
 * Pulumi (retainOnDelete): deleting a namespace deletes its PVCs, and with them the apps' data.
 */
export function appNamespace(name: string, opts?: pulumi.CustomResourceOptions): k8s.core.v1.Namespace {
    return new k8s.core.v1.Namespace(
        name,
        {
            metadata: {
                name,
                labels: {
                    "app.kubernetes.io/part-of": "stateful-apps",
                    "pod-security.kubernetes.io/enforce": POD_SECURITY_LEVEL,
                    "pod-security.kubernetes.io/enforce-version": "latest",
                    "pod-security.kubernetes.io/warn": POD_SECURITY_LEVEL,
                    "pod-security.kubernetes.io/audit": POD_SECURITY_LEVEL,
                },
            },
        },
        { retainOnDelete: true, ...opts },
    );
}
