// Names by which code outside the program (the PR summary in ci/, the tests) recognizes what the
// program deploys. A leaf module without the Pulumi SDK, so ci/ reads it without loading the SDK.

/** The config namespace of every key this program reads (`stateful-apps:<key>`). */
export const CONFIG_NAMESPACE = "stateful-apps";

export const DEPLOY_METHODS = ["raw", "helm"] as const;
export type DeployMethod = (typeof DEPLOY_METHODS)[number];

/** The type token of each deploy method's ComponentResource (statefulApp.ts, helmApp.ts). */
export const APP_COMPONENT_TYPES = {
    raw: "stateful-apps:index:StatefulApp",
    helm: "stateful-apps:index:HelmStatefulApp",
} as const satisfies Record<DeployMethod, string>;

/**
 * The Pulumi type tokens of the Kubernetes resources the program declares (and of the PVCs it
 * recognizes), as they appear in URNs, previews, the policy analyzer and the tests.
 */
export const K8S_TYPES = {
    namespace: "kubernetes:core/v1:Namespace",
    statefulSet: "kubernetes:apps/v1:StatefulSet",
    service: "kubernetes:core/v1:Service",
    serviceAccount: "kubernetes:core/v1:ServiceAccount",
    secret: "kubernetes:core/v1:Secret",
    pdb: "kubernetes:policy/v1:PodDisruptionBudget",
    networkPolicy: "kubernetes:networking.k8s.io/v1:NetworkPolicy",
    pvc: "kubernetes:core/v1:PersistentVolumeClaim",
    pvcPatch: "kubernetes:core/v1:PersistentVolumeClaimPatch",
    release: "kubernetes:helm.sh/v3:Release",
} as const;

/**
 * Server-side apply with force: the provider takes a field back from another field manager
 * (`kubectl scale`, `kubectl set image`) instead of failing with a conflict.
 */
export const PATCH_FORCE_ANNOTATION = "pulumi.com/patchForce";

/** What the provider waits for after applying an object, instead of its built-in readiness logic. */
export const WAIT_FOR_ANNOTATION = "pulumi.com/waitFor";

/** The provider returns what the API server answered to the apply and waits for nothing. */
export const SKIP_AWAIT_ANNOTATION = "pulumi.com/skipAwait";

/** How Pulumi's Kubernetes provider deletes an object: `orphan`, `background` or (its default) `foreground`. */
export const DELETION_PROPAGATION_ANNOTATION = "pulumi.com/deletionPropagationPolicy";

/**
 * The pod-template annotation holding a hash of the app's Secret data (raw mode), and the chart
 * value it is rendered from (Helm mode): a changed secret value restarts the pods.
 */
export const SECRET_CHECKSUM_ANNOTATION = "stateful-apps.dev/secret-checksum";
export const SECRET_CHECKSUM_VALUE = "secretChecksum";
