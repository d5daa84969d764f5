// The program's own calls to the Kubernetes API (the pod-cleanup hook, the scheduling report),
// made to the cluster the provider deploys to.
import * as os from "os";
import * as pulumi from "@pulumi/pulumi";
import type { CoreV1Api } from "@kubernetes/client-node";

/** A label selector string (`a=b,c=d`) for list and delete calls. */
export const labelSelector = (labels: Record<string, string>) =>
    Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(",");

/**
 * The core API as the provider sees it: the stack's `kubernetes:kubeconfig` (a path or the
 * kubeconfig itself) and `kubernetes:context` if set, else $KUBECONFIG / ~/.kube/config / in-cluster.
 * @kubernetes/client-node (not kubectl) so the program needs no binary on PATH and handles every
 * kubeconfig auth method (certificates, tokens, exec plugins). Loaded only when a call is made.
 */
export function coreV1Api(config: Record<string, string> = pulumi.runtime.allConfig()): CoreV1Api {
    // 1.4.0 is the newest release that runs on Node 20 (2.x needs Node 22); an ES module, which
    // Node >= 20.19 loads through require().
    const k8s = require("@kubernetes/client-node") as typeof import("@kubernetes/client-node");
    const kc = new k8s.KubeConfig();
    const kubeconfig = config["kubernetes:kubeconfig"];
    if (kubeconfig) {
        const isContent = kubeconfig.includes("\n") || kubeconfig.trim().startsWith("{");
        isContent ? kc.loadFromString(kubeconfig) : kc.loadFromFile(kubeconfig.replace(/^~(?=\/)/, os.homedir()));
    } else {
        kc.loadFromDefault();
    }
    if (config["kubernetes:context"]) {
        kc.setCurrentContext(config["kubernetes:context"]);
    }
    // kubernetes:cluster, like the provider's `cluster` option: the current context's user, at
    // that kubeconfig cluster.
    const cluster = config["kubernetes:cluster"];
    if (cluster) {
        if (!kc.getCluster(cluster)) {
            throw new Error(`kubernetes:cluster ${JSON.stringify(cluster)} is not a cluster of the kubeconfig (it has: ${kc.getClusters().map((c) => c.name).join(", ")})`);
        }
        const current = kc.getContextObject(kc.getCurrentContext());
        const name = `${current?.name ?? "default"}@${cluster}`;
        kc.addContext({ name, cluster, user: current?.user ?? "", namespace: current?.namespace });
        kc.setCurrentContext(name);
    }
    return kc.makeApiClient(k8s.CoreV1Api);
}

/**
 * One line for a failed call, for a debug log: the namespace (which may be a secret config value)
 * is replaced by `<namespace>` wherever the client quotes it, e.g. in the request's URL.
 */
export function describeApiError(e: unknown, namespace: string): string {
    const text = ((e as Error)?.message ?? String(e)).split("\n")[0];
    return namespace ? text.split(namespace).join("<namespace>") : text;
}
