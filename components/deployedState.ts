// What this stack deployed before this run, read from its own last outputs, and the guards that
// refuse changes Kubernetes cannot make to what is deployed: moving deployed apps to another
// namespace (a StatefulSet created in a new namespace gets new, empty PVCs, and the old pods and
// volumes stay behind in the old one), shrinking a volume and renaming its claims.
import * as pulumi from "@pulumi/pulumi";
import { ConfigError, Problems } from "./problems";
import { parseQuantity } from "./quantity";
import { readChartValues } from "./chartValues";
import type { StackSettings } from "./config";

/** What the last update deployed of one app (its stack outputs, index.ts). */
export interface DeployedApp {
    /** Its replicas: the PVCs of ordinals below exist. */
    replicas: number;
    /** Its PVCs' requested size; undefined for a stack deployed before the output existed. */
    storageSize?: string;
    /** Its volume claim template name; undefined for a stack deployed before the output existed (it had the chart's default). */
    volumeClaimName?: string;
}

/** The parts of the stack's last outputs (index.ts) the guards read. */
export interface DeployedState {
    /** The namespace the apps were deployed into; undefined before the first update. */
    namespace?: string;
    /** The namespace was a secret config value: messages must not show it. */
    namespaceIsSecret?: boolean;
    /** The apps deployed there, by name. */
    apps: Record<string, DeployedApp>;
}

/**
 * The stack's own outputs of its last update, through a StackReference to itself (public API;
 * the engine reads the stack's checkpoint, before this run changes anything). A mock that echoes
 * inputs as state (as Pulumi's unit-test docs show) has no outputs: that reads as a stack
 * that has deployed nothing, with a warning, so plain mocks still run the program.
 */
export async function deployedState(parent?: pulumi.Resource): Promise<DeployedState> {
    const self = `${organization()}/${pulumi.getProject()}/${pulumi.getStack()}`;
    const ref = new pulumi.StackReference(self, { name: self }, { parent });
    try {
        const [namespace, apps] = await Promise.all([ref.getOutputDetails("namespace"), ref.getOutputDetails("apps")]);
        const deployedNamespace = namespace.value ?? namespace.secretValue;
        return {
            namespace: typeof deployedNamespace === "string" ? deployedNamespace : undefined,
            namespaceIsSecret: namespace.secretValue !== undefined,
            // Secret as a whole (each app's adminToken is): only names, replicas and sizes are read.
            apps: deployedApps(apps.value ?? apps.secretValue),
        };
    } catch (e) {
        pulumi.log.warn(`cannot read this stack's last outputs (${e}); a namespace change is not checked in this run`);
        return { apps: {} };
    }
}

function deployedApps(value: unknown): Record<string, DeployedApp> {
    const apps: Record<string, DeployedApp> = {};
    for (const [name, outputs] of Object.entries(value && typeof value === "object" ? value : {})) {
        const { replicas, storageSize, volumeClaimName } = (outputs ?? {}) as Record<string, unknown>;
        apps[name] = {
            replicas: typeof replicas === "number" ? replicas : 0,
            storageSize: typeof storageSize === "string" ? storageSize : undefined,
            volumeClaimName: typeof volumeClaimName === "string" ? volumeClaimName : undefined,
        };
    }
    return apps;
}

/**
 * The stack's organization. Mocks set up without one (as Pulumi's docs show) make the SDK throw;
 * "organization" is what the engine itself uses for a DIY (file or bucket) backend.
 */
function organization(): string {
    try {
        return pulumi.getOrganization();
    } catch {
        return "organization";
    }
}

/** How to move apps to another namespace without losing track of their data (README, "Changing the namespace"). */
const NAMESPACE_MIGRATION =
    "to move them, first remove them from stateful-apps:apps (pulumi up: their pods are deleted, their PVCs stay in the old namespace), " +
    "then change the namespace and add them again: they start with new, empty volumes; copy the data over from the old PVCs if you need it " +
    "(README: Changing the namespace)";

/** Every guard against what is deployed, all problems at once, before anything is declared. */
export function checkAgainstDeployed(deployed: DeployedState, settings: Pick<StackSettings, "namespace" | "apps">): void {
    const p = new Problems();
    checkNamespaceChange(p, deployed, settings);
    checkStorageShrink(p, deployed, settings);
    checkClaimNameChange(p, deployed, settings);
    if (p.list.length > 0) {
        throw new ConfigError(p.list);
    }
}

/**
 * Refuses to change the namespace while apps this stack deployed are still in the old one:
 * the engine would create new StatefulSets with empty volumes in the new namespace, orphan the
 * old pods (still running, still writing) and keep the old PVCs out of reach of the program.
 */
function checkNamespaceChange(p: Problems, deployed: DeployedState, settings: Pick<StackSettings, "namespace" | "apps">): void {
    if (deployed.namespace === undefined || deployed.namespace === settings.namespace) {
        return;
    }
    const stillThere = Object.keys(deployed.apps).filter((name) => settings.apps.some((app) => app.name === name)).sort();
    if (stillThere.length === 0) {
        return;
    }
    const change = deployed.namespaceIsSecret
        ? "differs from the namespace"
        : `got ${JSON.stringify(settings.namespace)}; expected ${JSON.stringify(deployed.namespace)},`;
    const one = stillThere.length === 1;
    p.say("namespace", `${change} where ${stillThere.join(", ")} ${one ? "is" : "are"} deployed with ${one ? "its" : "their"} volumes; ${NAMESPACE_MIGRATION}`);
}

/**
 * Refuses a smaller storageSize than deployed: Kubernetes never shrinks a PVC (the API server
 * rejects the patch), and a replaced StatefulSet would ask new ordinals for less than the
 * others have. Sizes are compared as quantities (`0.5Gi` is `512Mi`).
 */
function checkStorageShrink(p: Problems, deployed: DeployedState, settings: Pick<StackSettings, "apps">): void {
    for (const app of settings.apps) {
        const before = deployed.apps[app.name]?.storageSize;
        const [from, to] = [before && parseQuantity(before), parseQuantity(app.storageSize)];
        if (typeof from === "number" && typeof to === "number" && to < from) {
            p.add(`apps.${app.name}.storageSize`, app.storageSize,
                `at least ${JSON.stringify(before)}, the size deployed: Kubernetes cannot shrink a volume (to start smaller, remove the app, delete its PVCs and add it again)`);
        }
    }
}

/**
 * Refuses to rename the volume claim template of a deployed app: each pod would get a new, empty
 * PVC (`<new name>-<app>-<i>`), and its data would stay behind in the old one, out of the
 * program's reach. An app deployed before the output existed has the chart's default name, the
 * only one there was.
 */
function checkClaimNameChange(p: Problems, deployed: DeployedState, settings: Pick<StackSettings, "apps">): void {
    for (const app of settings.apps) {
        const was = deployed.apps[app.name];
        const before = was && (was.volumeClaimName ?? readChartValues().volumeClaimName);
        if (typeof before === "string" && before !== app.volumeClaimName) {
            p.add(`apps.${app.name}.volumeClaimName`, app.volumeClaimName,
                `${JSON.stringify(before)}, the name its PVCs were created with: a new name gives every pod a new, empty volume (to start over, remove the app, delete its PVCs and add it again)`);
        }
    }
}

/**
 * The settings with each storageSize spelled as deployed when it is the same quantity
 * (`0.5Gi` for a deployed `512Mi`): the claim template is compared as a string, and a new
 * spelling of the same size would replace the StatefulSet for nothing.
 */
export function keepDeployedSpelling<S extends Pick<StackSettings, "apps">>(deployed: DeployedState, settings: S): S {
    const apps = settings.apps.map((app) => {
        const before = deployed.apps[app.name]?.storageSize;
        const same = before !== undefined && before !== app.storageSize && parseQuantity(before) !== undefined && parseQuantity(before) === parseQuantity(app.storageSize);
        return same ? { ...app, storageSize: before } : app;
    });
    return { ...settings, apps };
}
