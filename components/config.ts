// Stack config: parsing, defaults and validation. Nothing here declares a resource,
// so a bad config fails the program before anything is registered or applied.
import * as pulumi from "@pulumi/pulumi";
import type * as k8s from "@pulumi/kubernetes";
import { APP_KEYS, PROGRAM_FILLED_KEYS, schemaProblems } from "./appSchema";
import { checkAppName, checkCrossFieldRules } from "./appRules";
import { readChartValues } from "./chartValues";
import { checkEnvName } from "./env";
import { DEPLOY_METHODS, DeployMethod } from "./identifiers";
import { HEADLESS_SUFFIX } from "./manifests";
import { CONFIG_NAMESPACE, ConfigError, isObject, Json, Problems } from "./problems";
import { checkSecretPlacement, SECRET_ENV_KEY, secretConfigKeys, secretEnvOutput, validateSecretEnv } from "./secrets";

export { APP_KEYS } from "./appSchema";

/** Stack-level defaults (per-app defaults are in the chart's values.yaml). */
export const STACK_DEFAULTS = { namespace: "stateful-apps", deployMethod: "raw", rolloutTimeout: 600 } as const;

/**
 * rolloutTimeout's range, in seconds: how long `pulumi up` waits for an app's pods to be ready
 * (the StatefulSet's customTimeouts in raw mode, the release's `timeout` in Helm mode). The
 * default, 10 min, is the provider's and helm's own.
 */
export const ROLLOUT_TIMEOUT_RANGE = { min: 30, max: 86_400 } as const;

export const POD_MANAGEMENT_POLICIES = ["OrderedReady", "Parallel"] as const;
export type PodManagementPolicy = (typeof POD_MANAGEMENT_POLICIES)[number];

export const UPDATE_STRATEGY_TYPES = ["RollingUpdate", "OnDelete"] as const;

/** When the kubelet pulls the image; `Never` runs only images already on the node (locally built). */
export const IMAGE_PULL_POLICIES = ["Always", "IfNotPresent", "Never"] as const;
export type ImagePullPolicy = (typeof IMAGE_PULL_POLICIES)[number];

export const RETENTION_ACTIONS = ["Retain", "Delete"] as const;
export type RetentionAction = (typeof RETENTION_ACTIONS)[number];

export const ACCESS_MODES = ["ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany", "ReadWriteOncePod"] as const;
export type AccessMode = (typeof ACCESS_MODES)[number];

/** podAntiAffinityPreset: none, preferred or required anti-affinity of an app's pods on kubernetes.io/hostname. */
export const POD_ANTI_AFFINITY_PRESETS = ["", "soft", "hard"] as const;
export type PodAntiAffinityPreset = (typeof POD_ANTI_AFFINITY_PRESETS)[number];

export const RESOURCE_NAMES = ["cpu", "memory", "ephemeral-storage"] as const;
export type ResourceName = (typeof RESOURCE_NAMES)[number];
export type ResourceList = Partial<Record<ResourceName, string>>;



export type UpdateStrategy =
    /** Pods are replaced in reverse ordinal order; only ordinals >= partition are updated. */
    | { type: "RollingUpdate"; partition: number; maxUnavailable?: number }
    /** Pods are updated only when you delete them. */
    | { type: "OnDelete" };

/** One app, fully defaulted and validated. Every default is in charts/stateful-app/values.yaml, and only there. */
export interface AppSettings {
    /** The app name: names the StatefulSet, its Services, Secret, ServiceAccount, PDB and NetworkPolicy. */
    name: string;
    /** Container image. Required. */
    image: string;
    imagePullPolicy: ImagePullPolicy;
    /** Port the app listens on. */
    port: number;
    /** Number of pods. */
    replicas: number;
    /** Size of each pod's PVC. */
    storageSize: string;
    /** StorageClass of the PVCs. */
    storageClass: string;
    /** Name of the volume claim template: the PVCs are `<volumeClaimName>-<name>-<ordinal>`. */
    volumeClaimName: string;
    accessModes: AccessMode[];
    podManagementPolicy: PodManagementPolicy;
    updateStrategy: UpdateStrategy;
    pvcRetentionPolicy: { whenDeleted: RetentionAction; whenScaled: RetentionAction };
    resources: { requests: ResourceList; limits: ResourceList };
    /** Extra plain environment variables, values as strings. */
    env: Record<string, string>;
    // Placement: Kubernetes' own pod-spec shapes, validated by the schema and passed through
    // (manifests.ts podPlacement derives the pod spec's fields from them).
    terminationGracePeriodSeconds: number;
    /** Empty: no priorityClassName. */
    priorityClassName: string;
    nodeSelector: Record<string, string>;
    tolerations: k8s.types.input.core.v1.Toleration[];
    podAntiAffinityPreset: PodAntiAffinityPreset;
    affinity: k8s.types.input.core.v1.Affinity;
    /** As the user wrote them: a constraint without labelSelector gets the app's selector when rendered. */
    topologySpreadConstraints: k8s.types.input.core.v1.TopologySpreadConstraint[];
    /** The app's NetworkPolicy (manifests.ts networkPolicy): none when `enabled` is false. */
    networkPolicy: { enabled: boolean; allowFrom: k8s.types.input.networking.v1.NetworkPolicyPeer[] };
    /**
     * Names of the app's secret environment variables (`stateful-apps:secretEnv.<app>`), sorted.
     * Only the names: the values stay in StackSettings.secretEnv, a Pulumi secret.
     */
    secretEnvNames: string[];
}

/** The whole stack's settings. */
export interface StackSettings {
    /** Namespace the program creates and deploys into. Default: STACK_DEFAULTS. */
    namespace: string;
    /** `raw` Kubernetes resources or a Helm release of charts/stateful-app. Default: STACK_DEFAULTS. */
    deployMethod: DeployMethod;
    /** Seconds `pulumi up` waits for each app's pods to be ready before it fails. Default: STACK_DEFAULTS. */
    rolloutTimeout: number;
    /** Apps in config order. */
    apps: AppSettings[];
    /** Each app's secret env values (possibly empty), as a Pulumi secret; keyed by app name. */
    secretEnv: Record<string, pulumi.Output<Record<string, string>>>;
}

const TOP_LEVEL_KEYS = ["namespace", "deployMethod", "rolloutTimeout", "apps", SECRET_ENV_KEY] as const;

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/**
 * Namespaces the program must never take over: it labels its namespace Pod Security `restricted`,
 * which would stop the cluster's own pods (kube-system) or every workload of the default namespace.
 */
export const RESERVED_NAMESPACES = ["default", "kube-system", "kube-public", "kube-node-lease"] as const;

/** The chart's values.yaml, minus the keys the program fills in (not per-app settings). */
export function chartDefaults(): Record<string, unknown> {
    const values = readChartValues();
    for (const k of PROGRAM_FILLED_KEYS) {
        delete values[k];
    }
    return values;
}

/**
 * Maps merge key by key (like Helm values); anything else is replaced. A null is kept, and
 * validation rejects it: Helm would drop the key and fall back to the chart default for a map
 * (`resources.limits: null`) but not for a value the program passes, so the two deploy methods
 * would render different objects.
 */
export function deepMerge(base: Json, override: Json): Json {
    if (!isObject(base) || !isObject(override)) {
        return override === undefined ? base : override;
    }
    const merged: Record<string, Json> = { ...base };
    for (const [k, v] of Object.entries(override)) {
        merged[k] = deepMerge(base[k], v);
    }
    return merged;
}

/** Plain env values as strings; names checked like secretEnv's (env.ts), values by the schema. */
function envStrings(p: Problems, key: string, env: Record<string, Json>): Record<string, string> {
    const result: Record<string, string> = {};
    for (const [name, value] of Object.entries(env)) {
        if (checkEnvName(p, `${key}.${name}`, name)) {
            result[name] = String(value);
        }
    }
    return result;
}

function validateApp(p: Problems, name: string, userValue: Json, defaults: Record<string, Json>): AppSettings | undefined {
    const key = `apps.${name}`;
    const before = p.list.length;
    checkAppName(p, name);
    if (!isObject(userValue)) {
        p.add(key, userValue, `a map with keys ${APP_KEYS.join(", ")}`);
        return undefined;
    }
    // The chart's own keys (adminTokenSecret, secretEnvNames) are the program's to fill in.
    for (const k of PROGRAM_FILLED_KEYS) {
        if (k in userValue) {
            p.say(`${key}.${k}`, `unknown key; allowed keys: ${APP_KEYS.join(", ")}`);
        }
    }
    const v = deepMerge(defaults, userValue) as Record<string, any>;
    const schema = schemaProblems(name, v, userValue);
    p.list.push(...schema);
    const env = isObject(v.env) ? envStrings(p, `${key}.env`, v.env) : {};
    // A setting is valid when no schema problem names it or anything under it.
    const badKeys = schema.map((m) => m.slice(`${CONFIG_NAMESPACE}:${key}.`.length).split(":")[0]);
    const valid = (k: string) => !badKeys.some((bad) => bad === k || bad.startsWith(`${k}.`) || bad.startsWith(`${k}[`));
    checkCrossFieldRules(p, name, v, valid);
    if (p.list.length > before) {
        return undefined;
    }
    const strategy = v.updateStrategy;
    return {
        name,
        image: v.image,
        imagePullPolicy: v.imagePullPolicy,
        port: v.port,
        replicas: v.replicas,
        storageSize: v.storageSize,
        storageClass: v.storageClass,
        volumeClaimName: v.volumeClaimName,
        accessModes: v.accessModes,
        podManagementPolicy: v.podManagementPolicy,
        updateStrategy: strategy.type === "OnDelete"
            ? { type: "OnDelete" }
            : { type: "RollingUpdate", partition: strategy.partition, ...(strategy.maxUnavailable !== undefined ? { maxUnavailable: strategy.maxUnavailable } : {}) },
        pvcRetentionPolicy: v.pvcRetentionPolicy,
        resources: { requests: {}, limits: {}, ...v.resources },
        env,
        terminationGracePeriodSeconds: v.terminationGracePeriodSeconds,
        priorityClassName: v.priorityClassName,
        nodeSelector: v.nodeSelector,
        tolerations: v.tolerations,
        podAntiAffinityPreset: v.podAntiAffinityPreset,
        affinity: v.affinity,
        topologySpreadConstraints: v.topologySpreadConstraints,
        networkPolicy: v.networkPolicy,
        secretEnvNames: [],
    };
}

/**
 * Validates a stack's config (`stateful-apps:*` keys without the namespace prefix, values
 * already JSON-decoded) and applies defaults. `secretKeys` are the keys Pulumi marks secret.
 * Throws ConfigError listing every problem.
 */
export function parseStackConfig(config: Record<string, Json>, secretKeys: readonly string[] = []): StackSettings {
    const p = new Problems();
    for (const k of Object.keys(config)) {
        if (!(TOP_LEVEL_KEYS as readonly string[]).includes(k)) {
            p.say(k, `unknown key; allowed keys: ${TOP_LEVEL_KEYS.join(", ")}`);
        }
    }
    // A misplaced secret is reported once, and its key is not validated further: the other
    // messages would echo the value.
    const unreadable = checkSecretPlacement(p, secretKeys);
    const namespace = config.namespace ?? STACK_DEFAULTS.namespace;
    if (!unreadable.has("namespace") && (typeof namespace !== "string" || !DNS1123_LABEL.test(namespace) || namespace.length > 63)) {
        p.add("namespace", namespace, "a DNS label: at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit");
    } else if (!unreadable.has("namespace") && (RESERVED_NAMESPACES as readonly unknown[]).includes(namespace)) {
        p.add("namespace", namespace, `a namespace of the program's own, not one of ${RESERVED_NAMESPACES.join(", ")} (the program labels it Pod Security restricted)`);
    }
    const deployMethod = config.deployMethod ?? STACK_DEFAULTS.deployMethod;
    if (!unreadable.has("deployMethod")) {
        p.choice("deployMethod", deployMethod, DEPLOY_METHODS);
    }
    // `pulumi config set rolloutTimeout 900` stores the string "900".
    const timeoutValue = config.rolloutTimeout ?? STACK_DEFAULTS.rolloutTimeout;
    const rolloutTimeout = typeof timeoutValue === "string" && /^[0-9]+$/.test(timeoutValue) ? Number(timeoutValue) : timeoutValue;
    const { min, max } = ROLLOUT_TIMEOUT_RANGE;
    if (!unreadable.has("rolloutTimeout") && (!Number.isInteger(rolloutTimeout) || (rolloutTimeout as number) < min || (rolloutTimeout as number) > max)) {
        p.add("rolloutTimeout", timeoutValue, `a whole number of seconds from ${min} to ${max}`);
    }

    const apps: AppSettings[] = [];
    if (unreadable.has("apps")) {
        // reported above
    } else if (!isObject(config.apps)) {
        p.add("apps", config.apps, "a map from app name to its settings, e.g. apps: {python-app: {image: ...}}");
    } else {
        const defaults = chartDefaults();
        for (const [name, value] of Object.entries(config.apps)) {
            const app = validateApp(p, name, value, defaults);
            if (app) {
                apps.push(app);
            }
        }
    }
    checkStackRules(p, apps, deployMethod);
    // Every app named in `apps` (valid or not), with its plain env names: secretEnv refers to them.
    const plainEnv = unreadable.has("apps") ? undefined : new Map<string, string[]>(
        Object.entries(isObject(config.apps) ? config.apps : {}).map(([name, app]) => [
            name,
            isObject(app) && isObject(app.env) ? Object.keys(app.env) : [],
        ]),
    );
    const secretEnv = validateSecretEnv(p, config[SECRET_ENV_KEY], secretKeys.includes(SECRET_ENV_KEY), plainEnv);

    if (p.list.length > 0 || !secretEnv) {
        throw new ConfigError(p.list);
    }
    for (const app of apps) {
        app.secretEnvNames = Object.keys(secretEnv[app.name] ?? {}).sort();
    }
    return {
        namespace: namespace as string,
        deployMethod: deployMethod as DeployMethod,
        rolloutTimeout: rolloutTimeout as number,
        apps,
        secretEnv: Object.fromEntries(apps.map((app) => [app.name, secretEnvOutput(secretEnv[app.name])])),
    };
}

/**
 * Rules across apps and the stack: names the apps' objects would share, and settings that are
 * safe in one deploy method only.
 */
function checkStackRules(p: Problems, apps: AppSettings[], deployMethod: Json) {
    const names = new Set(apps.map((app) => app.name));
    for (const app of apps) {
        // Each app owns the Services `<app>` and `<app>-headless`: `js-app-headless` beside `js-app` would be one object twice.
        const owner = app.name.endsWith(HEADLESS_SUFFIX) ? app.name.slice(0, -HEADLESS_SUFFIX.length) : undefined;
        if (owner && names.has(owner)) {
            p.say("apps", `app name "${app.name}" collides with the headless Service of the app "${owner}"; expected an app name not ending in ${HEADLESS_SUFFIX} of another app`);
        }
        // Helm mode replaces the release for a replacing change (storageSize, storageClass, accessModes,
        // podManagementPolicy): helm uninstall deletes the StatefulSet, and with whenDeleted Delete the
        // garbage collector would then delete every PVC, i.e. all the app's data.
        if (deployMethod === "helm" && app.pvcRetentionPolicy.whenDeleted === "Delete") {
            p.add(
                `apps.${app.name}.pvcRetentionPolicy.whenDeleted`,
                "Delete",
                "Retain with deployMethod helm: a storage or podManagementPolicy change replaces the Helm release, and its uninstall would delete every PVC of the app; " +
                    "use deployMethod raw (the program deletes the PVCs only when the app is removed) or delete the PVCs yourself after removing the app",
            );
        }
    }
}

/** Reads every `stateful-apps:*` key of the current stack and validates it. */
export function loadStackConfig(): StackSettings {
    const prefix = `${CONFIG_NAMESPACE}:`;
    const raw: Record<string, Json> = {};
    const all = pulumi.runtime.allConfig();
    const keys = Object.keys(all).filter((key) => key.startsWith(prefix));
    for (const key of keys) {
        raw[key.slice(prefix.length)] = decodeConfigValue(all[key]);
    }
    const secretKeys = secretConfigKeys(keys).map((key) => key.slice(prefix.length));
    return parseStackConfig(raw, secretKeys);
}

/** Pulumi hands every config value over as a string; structured values (maps, lists) as JSON. */
function decodeConfigValue(value: string): Json {
    if (/^\s*[[{]/.test(value)) {
        try {
            return JSON.parse(value);
        } catch {
            // not JSON after all: keep the string, validation names it
        }
    }
    return value;
}
