// What this stack deployed before this run, read from its own last outputs, and the guard that
// refuses a change Kubernetes cannot make without losing data: moving deployed apps to another
// namespace (a StatefulSet created in a new namespace gets new, empty PVCs, and the old pods and
// volumes stay behind in the old one).
import * as pulumi from "@pulumi/pulumi";
import { CONFIG_NAMESPACE, ConfigError } from "./problems";
import type { StackSettings } from "./config";

/** The parts of the stack's last outputs (index.ts) the guards read. */
export interface DeployedState {
    /** The namespace the apps were deployed into; undefined before the first update. */
    namespace?: string;
    /** The namespace was a secret config value: messages must not show it. */
    namespaceIsSecret?: boolean;
    /** The apps deployed there. */
    apps: string[];
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
            apps: apps.value && typeof apps.value === "object" ? Object.keys(apps.value) : [],
        };
    } catch (e) {
        pulumi.log.warn(`cannot read this stack's last outputs (${e}); a namespace change is not checked in this run`);
        return { apps: [] };
    }
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

/**
 * Refuses to change the namespace while apps this stack deployed are still in the old one:
 * the engine would create new StatefulSets with empty volumes in the new namespace, orphan the
 * old pods (still running, still writing) and keep the old PVCs out of reach of the program.
 */
export function checkNamespaceChange(deployed: DeployedState, settings: Pick<StackSettings, "namespace" | "apps">): void {
    if (deployed.namespace === undefined || deployed.namespace === settings.namespace) {
        return;
    }
    const stillThere = deployed.apps.filter((name) => settings.apps.some((app) => app.name === name)).sort();
    if (stillThere.length === 0) {
        return;
    }
    const change = deployed.namespaceIsSecret
        ? "differs from the namespace"
        : `got ${JSON.stringify(settings.namespace)}; expected ${JSON.stringify(deployed.namespace)},`;
    throw new ConfigError([
        `${CONFIG_NAMESPACE}:namespace: ${change} ` +
            `where ${stillThere.join(", ")} ${stillThere.length === 1 ? "is" : "are"} deployed with ${stillThere.length === 1 ? "its" : "their"} volumes; ` +
            NAMESPACE_MIGRATION,
    ]);
}
