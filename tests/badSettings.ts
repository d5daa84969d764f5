// One table of bad settings, run through the program (tests/validation.test.ts, under mocks)
// and, for every row the chart can see, through `helm template` of charts/stateful-app
// (tests/equivalence.chart-test.ts): both must reject it, naming the key.
import { chartDefaults } from "../components/config";
import { appsOf } from "./harness";

/** values.yaml's default memory limit: a row that sets only a request is checked against it. */
const DEFAULT_MEMORY_LIMIT = (chartDefaults() as any).resources.limits.memory;

type Config = Record<string, any>;

/** Why no namespace row reaches the chart. */
const NAMESPACE_NOT_IN_CHART = "stack-level key: the namespace is the release's, chosen by the program";

export interface BadSetting {
    rule: string;
    /** Settings assigned over one app's settings in the dev stack (the app is added if new)... */
    app?: string;
    set?: Record<string, unknown>;
    /** ...or any other change of the stack config. */
    change?: (config: Config) => void;
    /** Every one of these must appear in the program's error; the first names the key. */
    messages: string[];
    /** Why the chart cannot see this row; absent: `helm template` must reject it too. */
    notInChart?: string;
}

/** Applies a row to a (cloned) stack config. */
export function applyBadSetting(config: Config, row: BadSetting) {
    if (row.app) {
        appsOf(config)[row.app] = Object.assign(appsOf(config)[row.app] ?? {}, row.set);
    }
    row.change?.(config);
}

export const BAD_SETTINGS: BadSetting[] = [
    {
        rule: "replicas must be a number, not a string",
        app: "python-app", set: { replicas: "3" },
        messages: ['stateful-apps:apps.python-app.replicas: got "3"; expected an integer from 0 to 1000'],
    },
    {
        rule: "replicas must not be negative",
        app: "python-app", set: { replicas: -1 },
        messages: ["stateful-apps:apps.python-app.replicas: got -1; expected an integer from 0 to 1000"],
    },
    {
        rule: "replicas must be an integer",
        app: "js-app", set: { replicas: 1.5 },
        messages: ["stateful-apps:apps.js-app.replicas: got 1.5; expected an integer from 0 to 1000"],
    },
    {
        rule: "storageSize must be a Kubernetes quantity",
        app: "python-app", set: { storageSize: "100MB" },
        messages: ['stateful-apps:apps.python-app.storageSize: got "100MB"; expected a storage size as a positive Kubernetes quantity'],
    },
    {
        rule: "storageSize must be positive",
        app: "python-app", set: { storageSize: "0" },
        messages: ['stateful-apps:apps.python-app.storageSize: got "0"'],
    },
    {
        rule: "updateStrategy.type must be RollingUpdate or OnDelete",
        app: "python-app", set: { updateStrategy: { type: "BlueGreen" } },
        messages: ['stateful-apps:apps.python-app.updateStrategy.type: got "BlueGreen"; expected one of RollingUpdate, OnDelete'],
    },
    {
        rule: "podManagementPolicy must be OrderedReady or Parallel",
        app: "js-app", set: { podManagementPolicy: "Sequential" },
        messages: ['stateful-apps:apps.js-app.podManagementPolicy: got "Sequential"; expected one of OrderedReady, Parallel'],
    },
    {
        rule: "partition must not exceed replicas",
        app: "python-app", set: { replicas: 3, updateStrategy: { type: "RollingUpdate", partition: 4 } },
        messages: ["stateful-apps:apps.python-app.updateStrategy.partition: got 4; expected at most stateful-apps:apps.python-app.replicas (3)"],
    },
    {
        rule: "partition is not allowed with OnDelete",
        app: "python-app", set: { updateStrategy: { type: "OnDelete", partition: 1 } },
        messages: ["stateful-apps:apps.python-app.updateStrategy.partition: got 1; expected no partition with updateStrategy.type OnDelete"],
    },
    {
        rule: "maxUnavailable must be at least 1",
        app: "python-app", set: { updateStrategy: { type: "RollingUpdate", maxUnavailable: 0 } },
        messages: ["stateful-apps:apps.python-app.updateStrategy.maxUnavailable: got 0; expected an integer >= 1"],
    },
    {
        rule: "port must be 1-65535",
        app: "python-app", set: { port: 70000 },
        messages: ["stateful-apps:apps.python-app.port: got 70000; expected an integer from 1 to 65535"],
    },
    {
        rule: "port 0 is out of range too",
        app: "js-app", set: { port: 0 },
        messages: ["stateful-apps:apps.js-app.port: got 0; expected an integer from 1 to 65535"],
    },
    {
        rule: "app names must be DNS labels starting with a letter",
        app: "Python_App", set: { image: "x:1" },
        messages: ['stateful-apps:apps: app name "Python_App" is not allowed; expected a DNS label'],
    },
    {
        rule: "app names must leave room for the pods' revision label",
        app: "a".repeat(53), set: { image: "x:1" },
        messages: ["is not allowed; expected a DNS label of at most 52 characters"],
    },
    {
        rule: "namespace must be a DNS label",
        change: (c) => { c["stateful-apps:namespace"] = "Stateful_Apps"; },
        notInChart: NAMESPACE_NOT_IN_CHART,
        messages: ['stateful-apps:namespace: got "Stateful_Apps"; expected a DNS label'],
    },
    {
        rule: "unknown app keys (typos) are rejected, listing the allowed keys",
        app: "python-app", set: { replica: 3 },
        messages: ["stateful-apps:apps.python-app.replica: unknown key; allowed keys: image, imagePullPolicy, port, replicas,"],
    },
    {
        rule: "unknown nested keys are rejected",
        app: "python-app", set: { updateStrategy: { type: "RollingUpdate", partion: 1 } },
        messages: ["stateful-apps:apps.python-app.updateStrategy.partion: unknown key; allowed keys: type, partition, maxUnavailable"],
    },
    {
        rule: "the images' fixed pod facts (values.yaml pod) are not stack config",
        app: "python-app", set: { pod: { runAsId: 0 } },
        notInChart: "a chart value of its own: Helm users may set it (the schema checks it: '/pod/runAsId': minimum 1), the program's users may not",
        messages: ["stateful-apps:apps.python-app.pod: unknown key; allowed keys: image,"],
    },
    {
        rule: "unknown top-level keys are rejected",
        change: (c) => { c["stateful-apps:replicas"] = "3"; },
        notInChart: "stack-level key",
        messages: ["stateful-apps:replicas: unknown key; allowed keys: namespace, deployMethod, rolloutTimeout, apps"],
    },
    {
        rule: "image is required",
        app: "js-app", set: { image: undefined },
        messages: ["stateful-apps:apps.js-app.image: got nothing; expected a container image reference"],
    },
    {
        rule: "imagePullPolicy must be Always, IfNotPresent or Never",
        app: "python-app", set: { imagePullPolicy: "never" },
        messages: ['stateful-apps:apps.python-app.imagePullPolicy: got "never"; expected one of Always, IfNotPresent, Never'],
    },
    {
        rule: "deployMethod must be raw or helm",
        change: (c) => { c["stateful-apps:deployMethod"] = "kustomize"; },
        notInChart: "stack-level key: chooses whether the chart is used at all",
        messages: ['stateful-apps:deployMethod: got "kustomize"; expected one of raw, helm'],
    },
    {
        rule: "rolloutTimeout must be whole seconds from 30 to 86400",
        change: (c) => { c["stateful-apps:rolloutTimeout"] = "10m"; },
        notInChart: "stack-level key: how long pulumi up waits (the release's timeout in Helm mode), not a value of the chart",
        messages: ['stateful-apps:rolloutTimeout: got "10m"; expected a whole number of seconds from 30 to 86400'],
    },
    {
        rule: "rolloutTimeout below 30 s is refused (every rollout would fail)",
        change: (c) => { c["stateful-apps:rolloutTimeout"] = 5; },
        notInChart: "stack-level key: how long pulumi up waits (the release's timeout in Helm mode), not a value of the chart",
        messages: ['stateful-apps:rolloutTimeout: got "5"; expected a whole number of seconds from 30 to 86400'],
    },
    {
        rule: "pvcRetentionPolicy actions must be Retain or Delete",
        app: "python-app", set: { pvcRetentionPolicy: { whenDeleted: "Keep" } },
        messages: ['stateful-apps:apps.python-app.pvcRetentionPolicy.whenDeleted: got "Keep"; expected one of Retain, Delete'],
    },
    {
        rule: "accessModes must be Kubernetes access modes",
        app: "python-app", set: { accessModes: ["RWO"] },
        messages: ['stateful-apps:apps.python-app.accessModes[0]: got "RWO"; expected one of ReadWriteOnce, ReadOnlyMany, ReadWriteMany, ReadWriteOncePod'],
    },
    {
        rule: "resource quantities must be valid",
        app: "python-app", set: { resources: { limits: { memory: "lots" } } },
        messages: ['stateful-apps:apps.python-app.resources.limits.memory: got "lots"'],
    },
    {
        rule: "requests must not exceed limits",
        app: "python-app", set: { resources: { requests: { memory: "1Gi" } } },
        messages: [`stateful-apps:apps.python-app.resources.requests.memory: got "1Gi"; expected at most the limit ${DEFAULT_MEMORY_LIMIT}`],
    },
    {
        rule: "env may not override what the program sets",
        app: "python-app", set: { env: { PORT: "1" } },
        messages: ["stateful-apps:apps.python-app.env.PORT", "PORT is set by the program"],
    },
    {
        rule: "env values must be plain",
        app: "python-app", set: { env: { NESTED: { a: 1 } } },
        messages: ['stateful-apps:apps.python-app.env.NESTED: got {"a":1}; expected a plain string, number or boolean'],
    },
    {
        rule: "storageClass must be a StorageClass name (DNS subdomain)",
        app: "python-app", set: { storageClass: "Fast_SSD" },
        messages: ['stateful-apps:apps.python-app.storageClass: got "Fast_SSD"; expected a StorageClass name (DNS subdomain'],
    },
    {
        rule: "volumeClaimName must be a DNS label",
        app: "python-app", set: { volumeClaimName: "Python_PVC" },
        messages: ['stateful-apps:apps.python-app.volumeClaimName: got "Python_PVC"; expected a DNS label: at most 63 lowercase letters, digits and \'-\''],
    },
    {
        rule: "volumeClaimName is at most 63 characters",
        app: "python-app", set: { volumeClaimName: "a".repeat(64) },
        messages: ["stateful-apps:apps.python-app.volumeClaimName: got", "expected a DNS label: at most 63 lowercase letters"],
    },
    {
        rule: "accessModes must not be empty",
        app: "python-app", set: { accessModes: [] },
        messages: ["stateful-apps:apps.python-app.accessModes: got []; expected a non-empty list of one of ReadWriteOnce, ReadOnlyMany, ReadWriteMany, ReadWriteOncePod"],
    },
    {
        rule: "env names must be environment variable names",
        app: "python-app", set: { env: { "LOG-LEVEL": "debug" } },
        messages: ['stateful-apps:apps.python-app.env.LOG-LEVEL: "LOG-LEVEL" is not an environment variable name; expected a name matching ^[A-Za-z_][A-Za-z0-9_]*$'],
    },
    {
        rule: "env names must not start with a digit",
        app: "js-app", set: { env: { "1ST": "x" } },
        messages: ['stateful-apps:apps.js-app.env.1ST: "1ST" is not an environment variable name'],
    },
    {
        rule: "image must not contain whitespace",
        app: "python-app", set: { image: "registry.example.com/python-app :1.0" },
        messages: ['stateful-apps:apps.python-app.image: got "registry.example.com/python-app :1.0"; expected a container image reference'],
    },
    {
        rule: "maxUnavailable is not allowed with OnDelete",
        app: "python-app", set: { updateStrategy: { type: "OnDelete", maxUnavailable: 2 } },
        messages: ["stateful-apps:apps.python-app.updateStrategy.maxUnavailable: got 2; expected no maxUnavailable with updateStrategy.type OnDelete"],
    },
    {
        // Helm would drop a null map and fall back to the chart's default limits, raw mode would
        // render none: the two deploy methods would differ.
        rule: "resources.limits: null is rejected (Helm would fall back to the default limits)",
        app: "python-app", set: { resources: { limits: null } },
        messages: ["stateful-apps:apps.python-app.resources.limits: got null; expected a map with keys cpu, memory, ephemeral-storage"],
    },
    {
        rule: "a null partition is rejected, not read as 0",
        app: "python-app", set: { updateStrategy: { type: "RollingUpdate", partition: null } },
        messages: ["stateful-apps:apps.python-app.updateStrategy.partition: got null; expected an integer >= 0"],
    },
    {
        rule: "a null setting is rejected, not defaulted",
        app: "python-app", set: { replicas: null },
        messages: ["stateful-apps:apps.python-app.replicas: got null; expected an integer from 0 to 1000"],
    },
    {
        rule: "a zero quantity with a suffix is not positive",
        app: "python-app", set: { resources: { requests: { cpu: "0m" } } },
        messages: ['stateful-apps:apps.python-app.resources.requests.cpu: got "0m"; expected a positive Kubernetes quantity'],
    },
    {
        rule: "requests are compared with limits as quantities (1500m > 1)",
        app: "python-app", set: { resources: { requests: { cpu: "1500m" }, limits: { cpu: "1" } } },
        messages: ['stateful-apps:apps.python-app.resources.requests.cpu: got "1500m"; expected at most the limit 1'],
    },
    {
        rule: "apps must be a map",
        change: (c) => { c["stateful-apps:apps"] = ["python-app"]; },
        notInChart: "stack-level key: the chart gets one app's values",
        messages: ['stateful-apps:apps: got ["python-app"]; expected a map from app name to its settings'],
    },
    {
        rule: "replicas has a documented upper bound (a typo must not schedule 20000 pods)",
        app: "python-app", set: { replicas: 20000 },
        messages: ["stateful-apps:apps.python-app.replicas: got 20000; expected an integer from 0 to 1000"],
    },
    {
        rule: "storageSize must be whole bytes (1m is a thousandth of a byte)",
        app: "python-app", set: { storageSize: "1m" },
        messages: ['stateful-apps:apps.python-app.storageSize: got "1m"; expected a storage size as a positive Kubernetes quantity of whole bytes'],
    },
    {
        rule: "storageSize must not have a negative exponent",
        app: "python-app", set: { storageSize: "1e-3" },
        messages: ['stateful-apps:apps.python-app.storageSize: got "1e-3"; expected a storage size as a positive Kubernetes quantity of whole bytes'],
    },
    {
        rule: "a memory request must be whole bytes",
        app: "python-app", set: { resources: { requests: { memory: "100m" } } },
        messages: ['stateful-apps:apps.python-app.resources.requests.memory: got "100m"; expected a positive whole number of bytes'],
    },
    {
        rule: "ReadWriteOncePod cannot be combined with another access mode",
        app: "python-app", set: { accessModes: ["ReadWriteOncePod", "ReadWriteOnce"] },
        messages: ['stateful-apps:apps.python-app.accessModes: got ["ReadWriteOncePod","ReadWriteOnce"]; expected a non-empty list of one of ReadWriteOnce'],
    },
    {
        rule: "storageClass is at most 253 characters",
        app: "python-app", set: { storageClass: "a".repeat(254) },
        messages: ["stateful-apps:apps.python-app.storageClass: got", "DNS subdomain of at most 253 characters"],
    },
    {
        rule: "an image reference with an uppercase repository is rejected",
        app: "python-app", set: { image: "registry.example.com/Python-App:1.0" },
        messages: ['stateful-apps:apps.python-app.image: got "registry.example.com/Python-App:1.0"; expected a container image reference'],
    },
    {
        rule: "a malformed image reference is rejected",
        app: "python-app", set: { image: "registry.example.com/app::1.0" },
        messages: ['stateful-apps:apps.python-app.image: got "registry.example.com/app::1.0"; expected a container image reference'],
    },
    {
        rule: "the namespace must not be kube-system (the program would label it PSS restricted)",
        change: (c) => { c["stateful-apps:namespace"] = "kube-system"; },
        notInChart: NAMESPACE_NOT_IN_CHART,
        messages: ['stateful-apps:namespace: got "kube-system"; expected a namespace of the program\'s own, not one of default, kube-system, kube-public, kube-node-lease'],
    },
    {
        rule: "the namespace must not be default",
        change: (c) => { c["stateful-apps:namespace"] = "default"; },
        notInChart: NAMESPACE_NOT_IN_CHART,
        messages: ['stateful-apps:namespace: got "default"; expected a namespace of the program\'s own'],
    },
    {
        rule: "an app name must not be another app's headless Service",
        app: "js-app-headless", set: { image: "localhost/js-app:1" },
        notInChart: "across apps: the chart gets one app's values",
        messages: ['stateful-apps:apps: app name "js-app-headless" collides with the headless Service of the app "js-app"'],
    },
    {
        rule: "Helm mode refuses pvcRetentionPolicy.whenDeleted Delete (a release replacement would delete every PVC)",
        app: "python-app", set: { pvcRetentionPolicy: { whenDeleted: "Delete", whenScaled: "Retain" } },
        change: (c) => { c["stateful-apps:deployMethod"] = "helm"; },
        notInChart: "depends on the deploy method: the chart alone cannot know it is installed by the program",
        messages: ["stateful-apps:apps.python-app.pvcRetentionPolicy.whenDeleted: got \"Delete\"; expected Retain with deployMethod helm"],
    },
    // Placement (issue 15 §1): Kubernetes' own shapes, checked before anything reaches the API server.
    {
        rule: "terminationGracePeriodSeconds must not be negative",
        app: "python-app", set: { terminationGracePeriodSeconds: -1 },
        messages: ["stateful-apps:apps.python-app.terminationGracePeriodSeconds: got -1; expected an integer >= 0"],
    },
    {
        rule: "terminationGracePeriodSeconds must be an integer, not a string",
        app: "python-app", set: { terminationGracePeriodSeconds: "30s" },
        messages: ['stateful-apps:apps.python-app.terminationGracePeriodSeconds: got "30s"; expected an integer >= 0'],
    },
    {
        rule: "priorityClassName must be a PriorityClass name (DNS subdomain)",
        app: "python-app", set: { priorityClassName: "High_Priority" },
        messages: ['stateful-apps:apps.python-app.priorityClassName: got "High_Priority"; expected a PriorityClass name (DNS subdomain of at most 253 characters)'],
    },
    {
        rule: "priorityClassName is at most 253 characters",
        app: "js-app", set: { priorityClassName: "p".repeat(254) },
        messages: ["stateful-apps:apps.js-app.priorityClassName: got", "expected a PriorityClass name (DNS subdomain of at most 253 characters)"],
    },
    {
        rule: "nodeSelector must be a map",
        app: "python-app", set: { nodeSelector: ["disktype=ssd"] },
        messages: ['stateful-apps:apps.python-app.nodeSelector: got ["disktype=ssd"]; expected a map of node label keys to label values'],
    },
    {
        rule: "nodeSelector values must be label values (strings)",
        app: "python-app", set: { nodeSelector: { gpu: true } },
        messages: ["stateful-apps:apps.python-app.nodeSelector.gpu: got true; expected a label value: a string of at most 63 letters"],
    },
    {
        rule: "tolerations must be a list",
        app: "python-app", set: { tolerations: { key: "dedicated", operator: "Exists" } },
        messages: ['stateful-apps:apps.python-app.tolerations: got {"key":"dedicated","operator":"Exists"}; expected a list of tolerations'],
    },
    {
        rule: "a toleration's operator must be Exists or Equal",
        app: "python-app", set: { tolerations: [{ key: "dedicated", operator: "In", value: "db" }] },
        messages: ['stateful-apps:apps.python-app.tolerations[0].operator: got "In"; expected one of Exists, Equal'],
    },
    {
        rule: "a toleration's keys are Kubernetes' (a typo is rejected)",
        app: "python-app", set: { tolerations: [{ key: "dedicated", operator: "Exists", efect: "NoSchedule" }] },
        messages: ["stateful-apps:apps.python-app.tolerations[0].efect: unknown key; allowed keys: key, operator, value, effect, tolerationSeconds"],
    },
    {
        rule: "a toleration with operator Exists has no value (Kubernetes' rule)",
        app: "python-app", set: { tolerations: [{ key: "dedicated", operator: "Exists", value: "db" }] },
        messages: ['stateful-apps:apps.python-app.tolerations[0].value: got "db"; expected no value with operator Exists'],
    },
    {
        rule: "a toleration without a key needs operator Exists (Kubernetes' rule)",
        app: "python-app", set: { tolerations: [{ operator: "Equal", value: "db" }] },
        messages: ['stateful-apps:apps.python-app.tolerations[0].operator: got "Equal"; expected Exists when the toleration has no key'],
    },
    {
        rule: "tolerationSeconds needs effect NoExecute (Kubernetes' rule)",
        app: "python-app", set: { tolerations: [{ key: "node.kubernetes.io/unreachable", operator: "Exists", effect: "NoSchedule", tolerationSeconds: 30 }] },
        messages: ['stateful-apps:apps.python-app.tolerations[0].effect: got "NoSchedule"; expected NoExecute with tolerationSeconds'],
    },
    {
        rule: "tolerations: null is rejected (Helm would fall back to the default)",
        app: "python-app", set: { tolerations: null },
        messages: ["stateful-apps:apps.python-app.tolerations: got null; expected a list of tolerations"],
    },
    {
        rule: "podAntiAffinityPreset must be empty, soft or hard",
        app: "python-app", set: { podAntiAffinityPreset: "required" },
        messages: ['stateful-apps:apps.python-app.podAntiAffinityPreset: got "required"; expected one of "", soft, hard'],
    },
    {
        rule: "affinity must be a map",
        app: "python-app", set: { affinity: [] },
        messages: ["stateful-apps:apps.python-app.affinity: got []; expected a map with keys nodeAffinity, podAffinity, podAntiAffinity"],
    },
    {
        rule: "affinity's keys are Kubernetes' (a typo is rejected)",
        app: "python-app", set: { affinity: { podAntiAfinity: {} } },
        messages: ["stateful-apps:apps.python-app.affinity.podAntiAfinity: unknown key; allowed keys: nodeAffinity, podAffinity, podAntiAffinity"],
    },
    {
        rule: "topologySpreadConstraints must be a list",
        app: "python-app", set: { topologySpreadConstraints: { maxSkew: 1 } },
        messages: ['stateful-apps:apps.python-app.topologySpreadConstraints: got {"maxSkew":1}; expected a list of topology spread constraints'],
    },
    {
        rule: "a topology spread constraint needs whenUnsatisfiable",
        app: "python-app", set: { topologySpreadConstraints: [{ maxSkew: 1, topologyKey: "kubernetes.io/hostname" }] },
        messages: ["stateful-apps:apps.python-app.topologySpreadConstraints[0].whenUnsatisfiable: got nothing; expected one of DoNotSchedule, ScheduleAnyway"],
    },
    {
        rule: "a topology spread constraint's maxSkew is at least 1",
        app: "js-app", set: { topologySpreadConstraints: [{ maxSkew: 0, topologyKey: "kubernetes.io/hostname", whenUnsatisfiable: "ScheduleAnyway" }] },
        messages: ["stateful-apps:apps.js-app.topologySpreadConstraints[0].maxSkew: got 0; expected an integer >= 1"],
    },
    {
        rule: "minDomains only with whenUnsatisfiable DoNotSchedule (Kubernetes' rule)",
        app: "python-app", set: { topologySpreadConstraints: [{ maxSkew: 1, topologyKey: "topology.kubernetes.io/zone", whenUnsatisfiable: "ScheduleAnyway", minDomains: 3 }] },
        messages: ["stateful-apps:apps.python-app.topologySpreadConstraints[0].minDomains: got 3; expected no minDomains with whenUnsatisfiable ScheduleAnyway"],
    },
    {
        rule: "a topology spread constraint's labelSelector labels are strings",
        app: "python-app",
        set: { topologySpreadConstraints: [{ maxSkew: 1, topologyKey: "zone", whenUnsatisfiable: "DoNotSchedule", labelSelector: { matchLabels: { tier: 1 } } }] },
        messages: ["stateful-apps:apps.python-app.topologySpreadConstraints[0].labelSelector.matchLabels.tier: got 1; expected a label value"],
    },
    // NetworkPolicy (issue 16 §1): Kubernetes' NetworkPolicyPeer shape, and its rules.
    {
        rule: "networkPolicy.enabled must be a boolean",
        app: "python-app", set: { networkPolicy: { enabled: "no" } },
        messages: ['stateful-apps:apps.python-app.networkPolicy.enabled: got "no"; expected a boolean'],
    },
    {
        rule: "networkPolicy.allowFrom must be a list of peers",
        app: "js-app", set: { networkPolicy: { allowFrom: "all" } },
        messages: ['stateful-apps:apps.js-app.networkPolicy.allowFrom: got "all"; expected a list of NetworkPolicy peers (maps with keys podSelector, namespaceSelector, ipBlock)'],
    },
    {
        rule: "a NetworkPolicy peer's keys are Kubernetes' (a typo is rejected)",
        app: "python-app", set: { networkPolicy: { allowFrom: [{ podselector: {} }] } },
        messages: ["stateful-apps:apps.python-app.networkPolicy.allowFrom[0].podselector: unknown key; allowed keys: podSelector, namespaceSelector, ipBlock"],
    },
    {
        rule: "an empty NetworkPolicy peer is rejected (it would select nothing and hide a typo)",
        app: "python-app", set: { networkPolicy: { allowFrom: [{}] } },
        messages: ["stateful-apps:apps.python-app.networkPolicy.allowFrom[0]: got {}; expected a NetworkPolicy peer: a map with podSelector and/or namespaceSelector, or ipBlock alone"],
    },
    {
        rule: "an ipBlock peer has no selector beside it (Kubernetes' rule)",
        app: "python-app", set: { networkPolicy: { allowFrom: [{ ipBlock: { cidr: "10.0.0.0/8" }, namespaceSelector: {} }] } },
        messages: ["stateful-apps:apps.python-app.networkPolicy.allowFrom[0].namespaceSelector: got {}; expected no podSelector or namespaceSelector beside ipBlock"],
    },
    {
        rule: "an ipBlock's cidr is a CIDR",
        app: "python-app", set: { networkPolicy: { allowFrom: [{ ipBlock: { cidr: "10.0.0.0" } }] } },
        messages: ['stateful-apps:apps.python-app.networkPolicy.allowFrom[0].ipBlock.cidr: got "10.0.0.0"; expected a CIDR, e.g. 10.0.0.0/8'],
    },
];
