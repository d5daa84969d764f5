// Stack config: parsing, defaults and validation. Nothing here declares a resource,
// so a bad config fails the program before anything is registered or applied.
import * as fs from "fs";
import * as path from "path";
import * as yaml from "js-yaml";
import * as pulumi from "@pulumi/pulumi";
import { checkEnvName } from "./env";
import { parseQuantity } from "./quantity";
import { CONFIG_NAMESPACE, ConfigError, isObject, Json, oneOf, Problems, show } from "./problems";
import { checkSecretPlacement, SECRET_ENV_KEY, secretConfigKeys, secretEnvOutput, validateSecretEnv } from "./secrets";

export { CONFIG_NAMESPACE, ConfigError } from "./problems";
export { RESERVED_ENV } from "./env";

/** The project's Helm chart; its values.yaml is the single source of per-app defaults. */
export const CHART_DIR = path.join(__dirname, "..", "charts", "stateful-app");

export const DEPLOY_METHODS = ["raw", "helm"] as const;
export type DeployMethod = (typeof DEPLOY_METHODS)[number];

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

export const RESOURCE_NAMES = ["cpu", "memory", "ephemeral-storage"] as const;
export type ResourceName = (typeof RESOURCE_NAMES)[number];
export type ResourceList = Partial<Record<ResourceName, string>>;

/** Where each pod's PVC is mounted; the apps keep their `visits` file there. */
export const DATA_DIR = "/data";

/**
 * Longest app name: pods carry the label `controller-revision-hash: <app>-<10-char hash>`,
 * which must fit the 63-character label value limit.
 */
export const MAX_APP_NAME_LENGTH = 52;

export type UpdateStrategy =
    /** Pods are replaced in reverse ordinal order; only ordinals >= partition are updated. */
    | { type: "RollingUpdate"; partition: number; maxUnavailable?: number }
    /** Pods are updated only when you delete them. */
    | { type: "OnDelete" };

/** One app, fully defaulted and validated. */
export interface AppSettings {
    /** The app name: names the StatefulSet, its Services, Secret, ServiceAccount, PDB and NetworkPolicy. */
    name: string;
    /** Container image. Required. */
    image: string;
    /** @default "IfNotPresent" */
    imagePullPolicy: ImagePullPolicy;
    /** Port the app listens on. @default 8080 */
    port: number;
    /** Number of pods. @default 1 */
    replicas: number;
    /** Size of each pod's `data` PVC. @default "1Gi" */
    storageSize: string;
    /** StorageClass of the PVCs. @default "" (the cluster's default StorageClass) */
    storageClass: string;
    /** @default ["ReadWriteOnce"] */
    accessModes: AccessMode[];
    /** @default "OrderedReady" */
    podManagementPolicy: PodManagementPolicy;
    /** @default { type: "RollingUpdate", partition: 0 } */
    updateStrategy: UpdateStrategy;
    /** @default { whenDeleted: "Retain", whenScaled: "Retain" } */
    pvcRetentionPolicy: { whenDeleted: RetentionAction; whenScaled: RetentionAction };
    /** @default requests cpu 50m / memory 64Mi, limits cpu 500m / memory 256Mi */
    resources: { requests: ResourceList; limits: ResourceList };
    /** Extra plain environment variables, values as strings. @default {} */
    env: Record<string, string>;
    /**
     * Names of the app's secret environment variables (`stateful-apps:secretEnv.<app>`), sorted.
     * Only the names: the values stay in StackSettings.secretEnv, a Pulumi secret.
     */
    secretEnvNames: string[];
}

/** The whole stack's settings. */
export interface StackSettings {
    /** Namespace the program creates and deploys into. @default "stateful-apps" */
    namespace: string;
    /** `raw` Kubernetes resources or a Helm release of charts/stateful-app. @default "raw" */
    deployMethod: DeployMethod;
    /** Apps in config order. */
    apps: AppSettings[];
    /** Each app's secret env values (possibly empty), as a Pulumi secret; keyed by app name. */
    secretEnv: Record<string, pulumi.Output<Record<string, string>>>;
}

const TOP_LEVEL_KEYS = ["namespace", "deployMethod", "apps", SECRET_ENV_KEY] as const;
export const APP_KEYS = [
    "image", "imagePullPolicy", "port", "replicas", "storageSize", "storageClass", "accessModes",
    "podManagementPolicy", "updateStrategy", "pvcRetentionPolicy", "resources", "env",
] as const;

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
// Service names must also start with a letter (RFC 1035); every app name names a Service.
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** The chart's values.yaml, minus the keys the program fills in (not per-app settings). */
export function chartDefaults(): Record<string, unknown> {
    const values = yaml.load(fs.readFileSync(path.join(CHART_DIR, "values.yaml"), "utf8")) as Record<string, unknown>;
    const { adminTokenSecret: _secret, secretEnvNames: _names, ...defaults } = values;
    return defaults;
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

function validateResources(p: Problems, key: string, v: Json): v is AppSettings["resources"] {
    if (!p.object(key, v, ["requests", "limits"])) {
        return false;
    }
    let ok = true;
    for (const kind of ["requests", "limits"] as const) {
        const list = v[kind] === undefined ? {} : v[kind];
        if (!p.object(`${key}.${kind}`, list, RESOURCE_NAMES)) {
            ok = false;
            continue;
        }
        for (const [name, q] of Object.entries(list)) {
            if (RESOURCE_NAMES.includes(name as ResourceName)) {
                ok = p.quantity(`${key}.${kind}.${name}`, q, `${name} ${kind === "requests" ? "request" : "limit"}`) && ok;
            }
        }
    }
    if (!ok) {
        return false;
    }
    const requests = (v.requests ?? {}) as ResourceList; // not null: checked above
    const limits = (v.limits ?? {}) as ResourceList;
    for (const name of RESOURCE_NAMES) {
        const [req, lim] = [requests[name], limits[name]];
        if (req !== undefined && lim !== undefined && parseQuantity(req)! > parseQuantity(lim)!) {
            p.add(`${key}.requests.${name}`, req, `at most the limit ${lim}`);
            ok = false;
        }
    }
    return ok;
}

function validateUpdateStrategy(p: Problems, key: string, v: Json, replicas: Json): UpdateStrategy | undefined {
    if (!p.object(key, v, ["type", "partition", "maxUnavailable"])) {
        return undefined;
    }
    if (!p.choice(`${key}.type`, v.type, UPDATE_STRATEGY_TYPES)) {
        return undefined;
    }
    if (v.type === "OnDelete") {
        for (const k of ["partition", "maxUnavailable"]) {
            if (v[k] !== undefined) {
                p.add(`${key}.${k}`, v[k], `no ${k} with updateStrategy.type OnDelete (it applies to RollingUpdate only)`);
            }
        }
        return { type: "OnDelete" };
    }
    const partition = v.partition === undefined ? 0 : v.partition;
    let ok = p.integer(`${key}.partition`, partition, 0);
    if (ok && Number.isInteger(replicas) && (replicas as number) >= 0 && (partition as number) > (replicas as number)) {
        const replicasKey = key.replace(/updateStrategy$/, "replicas");
        p.add(`${key}.partition`, partition, `at most ${CONFIG_NAMESPACE}:${replicasKey} (${replicas})`);
        ok = false;
    }
    if (v.maxUnavailable !== undefined) {
        ok = p.integer(`${key}.maxUnavailable`, v.maxUnavailable, 1) && ok;
    }
    if (!ok) {
        return undefined;
    }
    return v.maxUnavailable === undefined
        ? { type: "RollingUpdate", partition: partition as number }
        : { type: "RollingUpdate", partition: partition as number, maxUnavailable: v.maxUnavailable as number };
}

function validateEnv(p: Problems, key: string, v: Json): Record<string, string> | undefined {
    if (!isObject(v)) {
        p.add(key, v, "a map of environment variable names to plain values");
        return undefined;
    }
    const env: Record<string, string> = {};
    let ok = true;
    for (const [name, value] of Object.entries(v)) {
        if (!checkEnvName(p, `${key}.${name}`, name)) {
            ok = false;
        } else if (!["string", "number", "boolean"].includes(typeof value)) {
            p.add(`${key}.${name}`, value, `a plain string, number or boolean (secret values belong in ${CONFIG_NAMESPACE}:${SECRET_ENV_KEY})`);
            ok = false;
        } else {
            env[name] = String(value);
        }
    }
    return ok ? env : undefined;
}

function validateApp(p: Problems, name: string, userValue: Json, defaults: Record<string, Json>): AppSettings | undefined {
    const key = `apps.${name}`;
    const before = p.list.length;
    if (!(DNS1035_LABEL.test(name) && name.length <= MAX_APP_NAME_LENGTH)) {
        p.list.push(
            `${CONFIG_NAMESPACE}:apps: app name ${show(name)} is not allowed; expected a DNS label of at most ` +
                `${MAX_APP_NAME_LENGTH} characters: lowercase letters, digits and '-', starting with a letter`,
        );
    }
    if (!isObject(userValue)) {
        p.add(key, userValue, `a map with keys ${APP_KEYS.join(", ")}`);
        return undefined;
    }
    p.unknownKeys(key, userValue, APP_KEYS);
    const v = deepMerge(defaults, userValue) as Record<string, Json>;

    if (typeof v.image !== "string" || v.image.trim() === "" || /\s/.test(v.image)) {
        p.add(`${key}.image`, userValue.image, "a container image reference such as registry.example.com/app:1.0 (required)");
    }
    p.choice(`${key}.imagePullPolicy`, v.imagePullPolicy, IMAGE_PULL_POLICIES);
    p.integer(`${key}.port`, v.port, 1, 65535);
    p.integer(`${key}.replicas`, v.replicas, 0);
    p.quantity(`${key}.storageSize`, v.storageSize, "a storage size");
    if (typeof v.storageClass !== "string" || (v.storageClass !== "" && !DNS1123_SUBDOMAIN.test(v.storageClass))) {
        p.add(`${key}.storageClass`, v.storageClass, "a StorageClass name (DNS subdomain), or empty for the cluster default");
    }
    if (!Array.isArray(v.accessModes) || v.accessModes.length === 0) {
        p.add(`${key}.accessModes`, v.accessModes, `a non-empty list of ${oneOf(ACCESS_MODES)}`);
    } else {
        v.accessModes.forEach((m, i) => p.choice(`${key}.accessModes[${i}]`, m, ACCESS_MODES));
    }
    p.choice(`${key}.podManagementPolicy`, v.podManagementPolicy, POD_MANAGEMENT_POLICIES);
    const updateStrategy = validateUpdateStrategy(p, `${key}.updateStrategy`, v.updateStrategy, v.replicas);
    const retention = v.pvcRetentionPolicy;
    if (p.object(`${key}.pvcRetentionPolicy`, retention, ["whenDeleted", "whenScaled"])) {
        p.choice(`${key}.pvcRetentionPolicy.whenDeleted`, retention.whenDeleted, RETENTION_ACTIONS);
        p.choice(`${key}.pvcRetentionPolicy.whenScaled`, retention.whenScaled, RETENTION_ACTIONS);
    }
    validateResources(p, `${key}.resources`, v.resources);
    const env = validateEnv(p, `${key}.env`, v.env);

    if (p.list.length > before || !updateStrategy || !env) {
        return undefined;
    }
    return {
        name,
        image: v.image as string,
        imagePullPolicy: v.imagePullPolicy as ImagePullPolicy,
        port: v.port as number,
        replicas: v.replicas as number,
        storageSize: v.storageSize as string,
        storageClass: v.storageClass as string,
        accessModes: v.accessModes as AccessMode[],
        podManagementPolicy: v.podManagementPolicy as PodManagementPolicy,
        updateStrategy,
        pvcRetentionPolicy: retention as AppSettings["pvcRetentionPolicy"],
        resources: { requests: {}, limits: {}, ...(v.resources as object) } as AppSettings["resources"],
        env,
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
    const namespace = config.namespace ?? "stateful-apps";
    if (!unreadable.has("namespace") && (typeof namespace !== "string" || !DNS1123_LABEL.test(namespace) || namespace.length > 63)) {
        p.add("namespace", namespace, "a DNS label: at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit");
    }
    const deployMethod = config.deployMethod ?? "raw";
    if (!unreadable.has("deployMethod")) {
        p.choice("deployMethod", deployMethod, DEPLOY_METHODS);
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
        apps,
        secretEnv: Object.fromEntries(apps.map((app) => [app.name, secretEnvOutput(secretEnv[app.name])])),
    };
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
