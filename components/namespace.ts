// The namespace the program creates and deploys every app into.
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";

/** Pod Security Standards level enforced on the namespace (and warned/audited at). */
export const POD_SECURITY_LEVEL = "restricted";

/**
 * The provider of the namespace alone: the stack's cluster (the default provider's
 * kubernetes:kubeconfig, context and cluster, else $KUBECONFIG like it), with
 * upsertExistingObjects. The namespace outlives `pulumi destroy` (retainOnDelete) while leaving
 * the state, so the next `pulumi up` creates it again: providers from v4.29 on refuse that with
 * AlreadyExists unless upserting (pulumi-kubernetes#4278); earlier ones always upsert. Only the
 * namespace gets it: for the other objects an unexpected existing object must stay an error.
 */
export function namespaceProvider(): k8s.Provider {
    const config = new pulumi.Config("kubernetes");
    return new k8s.Provider("namespace", {
        // A secret: a kubeconfig given as config may be the file's contents, credentials included.
        // Without it "", the provider's own word for "$KUBECONFIG or ~/.kube/config" (as the default
        // provider reads them): left undefined, the SDK would store $KUBECONFIG's path as an input, and
        // a preview with another kubeconfig (a CI account, another path) would replace this provider
        // and plan the namespace's replacement (seen in e2e scenario 16).
        kubeconfig: config.getSecret("kubeconfig") ?? "",
        context: config.get("context"),
        cluster: config.get("cluster"),
        upsertExistingObjects: true,
    });
}

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
        { retainOnDelete: true, provider: namespaceProvider(), ...opts },
    );
}
