// The Kubernetes objects one app becomes, as plain data. The raw component declares them as
// Pulumi resources; charts/stateful-app renders the same objects (tests/equivalence.chart-test.ts).
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { AppSettings } from "./config";
import { DELETION_PROPAGATION_ANNOTATION, PATCH_FORCE_ANNOTATION, SECRET_CHECKSUM_ANNOTATION, WAIT_FOR_ANNOTATION } from "./identifiers";
import { httpProbe, POD_FACTS } from "./podFacts";

type Metadata = k8s.types.input.meta.v1.ObjectMeta;

/** The Secret (one per app, named after it) holds the admin token under this key, and the app's secretEnv. */
export const ADMIN_TOKEN_KEY = "ADMIN_TOKEN";
/** Where each pod's PVC is mounted; the apps keep their `visits` file there. */
export const DATA_DIR = "/data";

/** Suffix of an app's headless Service name (the chart's `stateful-app.headlessServiceName` repeats it: a Go template cannot import it). */
export const HEADLESS_SUFFIX = "-headless";
export const headlessServiceName = (app: string) => `${app}${HEADLESS_SUFFIX}`;

/** Labels that select an app's pods; never change them, the StatefulSet selector is immutable. */
export function selectorLabels(app: AppSettings): Record<string, string> {
    return { "app.kubernetes.io/name": app.name, "app.kubernetes.io/instance": app.name };
}

export function commonLabels(app: AppSettings): Record<string, string> {
    return {
        ...selectorLabels(app),
        "app.kubernetes.io/component": "web",
        "app.kubernetes.io/part-of": "stateful-apps",
        "app.kubernetes.io/managed-by": "pulumi",
    };
}

/**
 * Every object of an app but the StatefulSet (see statefulSetAnnotations) is deleted in the
 * background. With the provider's default, foreground, the object stays until the garbage
 * collector has deleted its dependents, and the provider waits for that, object by object; none
 * of these objects has a dependent that needs it (a Service's EndpointSlices are removed with it
 * either way), so destroy and app removal take far fewer API requests (docs/bench/notes.md).
 * Nothing they own holds data: the PVCs belong to no object here.
 */
export const BACKGROUND_DELETION: Record<string, string> = { [DELETION_PROPAGATION_ANNOTATION]: "background" };

/**
 * Metadata of an app's object: named after the app, its labels, background deletion (unless
 * `annotations` says otherwise, as the StatefulSet's orphan does), and forced server-side apply:
 * the stack owns these objects, so a field someone changed with kubectl is taken back by the
 * next `pulumi up` (and shown by its preview) instead of failing it with a field-manager conflict.
 */
export function metadata(app: AppSettings, namespace: pulumi.Input<string>, name = app.name, annotations?: Record<string, pulumi.Input<string>>): Metadata {
    return { name, namespace, labels: commonLabels(app), annotations: { ...BACKGROUND_DELETION, [PATCH_FORCE_ANNOTATION]: "true", ...annotations } };
}

/** `<app>-<i>.<app>-headless.<namespace>.svc.cluster.local` for every ordinal. */
export function podDnsNames(app: AppSettings, namespace: string): string[] {
    return Array.from({ length: app.replicas }, (_, i) => `${app.name}-${i}.${headlessServiceName(app.name)}.${namespace}.svc.cluster.local`);
}

export function serviceUrl(app: AppSettings, namespace: string): string {
    return `http://${app.name}.${namespace}.svc.cluster.local:${app.port}`;
}

export function serviceAccount(app: AppSettings, namespace: pulumi.Input<string>): k8s.core.v1.ServiceAccountArgs {
    return { metadata: metadata(app, namespace), automountServiceAccountToken: false };
}

const httpPort = (app: AppSettings) => ({ name: "http", port: app.port, targetPort: "http", protocol: "TCP" });

/** Gives every pod a stable DNS name; lists pods before they are ready so peers can find each other. */
export function headlessService(app: AppSettings, namespace: pulumi.Input<string>): k8s.core.v1.ServiceArgs {
    return {
        metadata: metadata(app, namespace, headlessServiceName(app.name)),
        spec: {
            clusterIP: "None",
            publishNotReadyAddresses: true,
            selector: selectorLabels(app),
            ports: [httpPort(app)],
        },
    };
}

/**
 * Load-balanced access to ready pods. Pulumi does not await it: the StatefulSet's await already
 * proves the pods behind it are ready, and with 0 replicas it would wait for endpoints forever.
 */
export function clientService(app: AppSettings, namespace: pulumi.Input<string>): k8s.core.v1.ServiceArgs {
    return {
        metadata: metadata(app, namespace, app.name, { "pulumi.com/skipAwait": "true" }),
        spec: { type: "ClusterIP", selector: selectorLabels(app), ports: [httpPort(app)] },
    };
}

/**
 * What `pulumi up` waits for after changing the StatefulSet (`pulumi.com/waitFor`: each condition
 * is also held back until the controller has observed the new generation). Not the provider's own
 * StatefulSet await: it reads the status without checking `observedGeneration`, so right after an
 * update it sees the previous generation's finished rollout and returns at once, before any pod
 * was replaced (docs/bench/notes.md).
 * - RollingUpdate without a partition: every pod on the new revision and ready.
 * - A partition (canary) or OnDelete: pods below the partition, or not deleted by hand, keep the
 *   old revision by design, so every replica ready.
 * With 0 replicas there is nothing to wait for (and the status then omits the counts).
 */
export function rolloutConditions(app: AppSettings): string[] {
    if (app.replicas === 0) {
        return [];
    }
    const ready = `jsonpath={.status.readyReplicas}=${app.replicas}`;
    const strategy = app.updateStrategy;
    if (strategy.type === "RollingUpdate" && strategy.partition === 0) {
        return [`jsonpath={.status.updatedReplicas}=${app.replicas}`, ready];
    }
    return [ready];
}

/**
 * Annotations that tell the Kubernetes provider how to handle the StatefulSet:
 * - deletionPropagationPolicy orphan: when a change forces replacement (volumeClaimTemplates,
 *   podManagementPolicy), the old StatefulSet is deleted without its pods and the new one
 *   adopts them, so pods are never all deleted at once. It must be on the live object
 *   before the replacement, so it is always set.
 * - waitFor: rolloutConditions (one condition as a string, several as a JSON list).
 */
export function statefulSetAnnotations(app: AppSettings): Record<string, string> {
    const annotations: Record<string, string> = { [DELETION_PROPAGATION_ANNOTATION]: "orphan" };
    const conditions = rolloutConditions(app);
    if (conditions.length > 0) {
        annotations[WAIT_FOR_ANNOTATION] = conditions.length === 1 ? conditions[0] : JSON.stringify(conditions);
    }
    return annotations;
}

function updateStrategy(app: AppSettings): k8s.types.input.apps.v1.StatefulSetUpdateStrategy {
    const strategy = app.updateStrategy;
    if (strategy.type === "OnDelete") {
        return { type: "OnDelete" };
    }
    return {
        type: "RollingUpdate",
        rollingUpdate: {
            partition: strategy.partition,
            ...(strategy.maxUnavailable !== undefined ? { maxUnavailable: strategy.maxUnavailable } : {}),
        },
    };
}

function containerEnv(app: AppSettings): k8s.types.input.core.v1.EnvVar[] {
    return [
        { name: "PORT", value: String(app.port) },
        { name: "DATA_DIR", value: DATA_DIR },
        { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
        ...Object.keys(app.env).sort().map((name) => ({ name, value: app.env[name] })),
        // Secret values only by reference: the manifest (and so every preview, diff and the
        // StatefulSet's state) carries names, never values.
        ...[...app.secretEnvNames, ADMIN_TOKEN_KEY].map((name) => ({ name, valueFrom: { secretKeyRef: { name: app.name, key: name } } })),
    ];
}

/**
 * The node label podAntiAffinityPreset spreads over, and the weight of its `soft` term. The chart's
 * `stateful-app.affinity` repeats both (a Go template cannot import them).
 */
export const ANTI_AFFINITY_TOPOLOGY_KEY = "kubernetes.io/hostname";
export const SOFT_ANTI_AFFINITY_WEIGHT = 1;

/** The podAntiAffinity of podAntiAffinityPreset, selecting the app's own pods; none for "". */
export function presetPodAntiAffinity(app: AppSettings): k8s.types.input.core.v1.PodAntiAffinity | undefined {
    const term = { labelSelector: { matchLabels: selectorLabels(app) }, topologyKey: ANTI_AFFINITY_TOPOLOGY_KEY };
    switch (app.podAntiAffinityPreset) {
        case "soft":
            return { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: SOFT_ANTI_AFFINITY_WEIGHT, podAffinityTerm: term }] };
        case "hard":
            return { requiredDuringSchedulingIgnoredDuringExecution: [term] };
        case "":
            return undefined;
    }
}

/**
 * Where the pods run and how long they get to stop: the pod spec's fields from the placement
 * settings, each omitted while its setting is empty (as the chart's `with` omits it).
 * - affinity: the user's, plus the preset's podAntiAffinity unless the user wrote one (an explicit
 *   podAntiAffinity wins, but adding a nodeAffinity does not silently drop the preset's spread);
 * - topologySpreadConstraints: a constraint without labelSelector counts the app's own pods (the
 *   Bitnami convention): Kubernetes would otherwise count no pod at all and never spread.
 */
export function podPlacement(app: AppSettings): Partial<k8s.types.input.core.v1.PodSpec> {
    const copy = <T>(v: T): T => JSON.parse(JSON.stringify(v));
    const preset = presetPodAntiAffinity(app);
    const affinity = { ...(preset ? { podAntiAffinity: preset } : {}), ...copy(app.affinity) };
    const constraints = app.topologySpreadConstraints.map((c) => ("labelSelector" in c ? copy(c) : { ...copy(c), labelSelector: { matchLabels: selectorLabels(app) } }));
    return {
        terminationGracePeriodSeconds: app.terminationGracePeriodSeconds,
        ...(app.priorityClassName ? { priorityClassName: app.priorityClassName } : {}),
        ...(Object.keys(app.nodeSelector).length > 0 ? { nodeSelector: { ...app.nodeSelector } } : {}),
        ...(app.tolerations.length > 0 ? { tolerations: copy(app.tolerations) } : {}),
        ...(Object.keys(affinity).length > 0 ? { affinity } : {}),
        ...(constraints.length > 0 ? { topologySpreadConstraints: constraints } : {}),
    };
}

/**
 * Pod-template annotation with a hash of the app's Secret data: Kubernetes does not restart pods
 * when a Secret they read at start changes, so a changed secret value changes the template and
 * rolls the pods. A hash, never the values (it covers the 32-character random admin token, so it
 * cannot be guessed back). The chart renders the same annotation from `secretChecksum`.
 */
export { SECRET_CHECKSUM_ANNOTATION };

/** Annotation carrying the id of the StatefulSet's current replacement generation (raw mode). */
export const REPLACEMENT_ID_ANNOTATION = "stateful-apps.dev/replacement-id";

export function statefulSet(
    app: AppSettings,
    namespace: pulumi.Input<string>,
    extraAnnotations: Record<string, pulumi.Input<string>>,
    secretChecksum: pulumi.Input<string>,
): k8s.apps.v1.StatefulSetArgs {
    return {
        metadata: metadata(app, namespace, app.name, { ...statefulSetAnnotations(app), ...extraAnnotations }),
        spec: {
            serviceName: headlessServiceName(app.name),
            replicas: app.replicas,
            podManagementPolicy: app.podManagementPolicy,
            updateStrategy: updateStrategy(app),
            persistentVolumeClaimRetentionPolicy: { ...app.pvcRetentionPolicy },
            selector: { matchLabels: selectorLabels(app) },
            template: {
                metadata: {
                    labels: commonLabels(app),
                    annotations: { [SECRET_CHECKSUM_ANNOTATION]: secretChecksum },
                },
                spec: {
                    serviceAccountName: app.name,
                    automountServiceAccountToken: false,
                    ...podPlacement(app),
                    // Pod Security Standards "restricted", plus a read-only root filesystem.
                    securityContext: {
                        runAsNonRoot: true,
                        runAsUser: POD_FACTS.runAsId,
                        runAsGroup: POD_FACTS.runAsId,
                        fsGroup: POD_FACTS.runAsId,
                        fsGroupChangePolicy: "OnRootMismatch",
                        seccompProfile: { type: "RuntimeDefault" },
                    },
                    containers: [
                        {
                            name: "app",
                            image: app.image,
                            imagePullPolicy: app.imagePullPolicy,
                            ports: [{ name: "http", containerPort: app.port, protocol: "TCP" }],
                            env: containerEnv(app),
                            resources: { requests: { ...app.resources.requests }, limits: { ...app.resources.limits } },
                            securityContext: {
                                allowPrivilegeEscalation: false,
                                readOnlyRootFilesystem: true,
                                runAsNonRoot: true,
                                capabilities: { drop: ["ALL"] },
                            },
                            // Dedicated endpoints: GET / counts a visit.
                            livenessProbe: httpProbe(POD_FACTS.livenessProbe),
                            readinessProbe: httpProbe(POD_FACTS.readinessProbe),
                            // Keep serving while the pod's removal from the endpoints reaches every
                            // kube-proxy: without it, requests routed in that gap are refused.
                            lifecycle: { preStop: { sleep: { seconds: POD_FACTS.preStopSleepSeconds } } },
                            volumeMounts: [
                                { name: app.volumeClaimName, mountPath: DATA_DIR },
                                { name: "tmp", mountPath: "/tmp" },
                            ],
                        },
                    ],
                    volumes: [{ name: "tmp", emptyDir: { sizeLimit: POD_FACTS.tmpSizeLimit } }],
                },
            },
            volumeClaimTemplates: [
                {
                    metadata: { name: app.volumeClaimName, labels: selectorLabels(app) },
                    spec: {
                        accessModes: [...app.accessModes],
                        ...(app.storageClass ? { storageClassName: app.storageClass } : {}),
                        resources: { requests: { storage: app.storageSize } },
                    },
                },
            ],
        },
    };
}

/**
 * Voluntary disruptions (node drains) take at most one pod at a time; only for replicas > 1. An unready pod (e.g. a corrupt visits file keeps it out of
 * readiness by design) may always be evicted: with the default policy it would count as disrupted
 * and leave 0 allowed disruptions, so one broken pod would block every drain of its nodes.
 */
export function podDisruptionBudget(app: AppSettings, namespace: pulumi.Input<string>): k8s.policy.v1.PodDisruptionBudgetArgs {
    return {
        metadata: metadata(app, namespace),
        spec: { maxUnavailable: 1, unhealthyPodEvictionPolicy: "AlwaysAllow", selector: { matchLabels: selectorLabels(app) } },
    };
}

/** DNS, wherever the resolver runs (a CoreDNS pod, NodeLocal DNSCache, a host process): port 53 to any address. */
const DNS_EGRESS = { ports: [{ protocol: "UDP", port: 53 }, { protocol: "TCP", port: 53 }] };

/**
 * Ingress to the app port from `allowFrom` only; egress to DNS and to the app's own pods on the
 * app port only. An empty `allowFrom` renders no ingress rule at all: a rule with an empty `from`
 * would admit every source.
 */
export function networkPolicy(app: AppSettings, namespace: pulumi.Input<string>): k8s.networking.v1.NetworkPolicyArgs {
    const appPort = [{ protocol: "TCP", port: app.port }];
    const ownPods = [{ podSelector: { matchLabels: selectorLabels(app) } }];
    const allowFrom = app.networkPolicy.allowFrom;
    return {
        metadata: metadata(app, namespace),
        spec: {
            podSelector: { matchLabels: selectorLabels(app) },
            policyTypes: ["Ingress", "Egress"],
            ingress: allowFrom.length > 0 ? [{ from: allowFrom, ports: appPort }] : [],
            egress: [DNS_EGRESS, { to: ownPods, ports: appPort }],
        },
    };
}

/** Name of the PVC the StatefulSet controller creates for ordinal `i`. */
export const pvcName = (app: Pick<AppSettings, "name" | "volumeClaimName">, ordinal: number) => `${app.volumeClaimName}-${app.name}-${ordinal}`;
