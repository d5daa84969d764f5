// Program entry: reads and validates the stack config, then wires one component per app.
import { loadStackConfig } from "./components/config";
import { appNamespace } from "./components/namespace";
import { StatefulApp } from "./components/statefulApp";
import { HelmStatefulApp } from "./components/helmApp";
import { AppOutputs } from "./components/appResources";
import { podCleanupOptions, registerPodCleanupHook } from "./components/podCleanup";
import { lostClaims } from "./components/lostClaims";
import { checkAgainstDeployed, deployedState, keepDeployedSpelling } from "./components/deployedState";

// Async because the stack's last outputs are read, and the pod-cleanup hook registered (and its
// support checked), before any app is declared.
export = async () => {
    const config = loadStackConfig();
    const deployed = await deployedState();
    const settings = keepDeployedSpelling(deployed, config);
    checkAgainstDeployed(deployed, settings);
    // Registered on every run, also when no app is left: the engine calls it by name for the
    // apps being deleted (removed from the config, or `pulumi destroy --run-program`).
    const cleanup = podCleanupOptions(await registerPodCleanupHook());
    const ns = appNamespace(settings.namespace);

    const apps: Record<string, AppOutputs> = {};
    for (const app of settings.apps) {
        const before = deployed.apps[app.name];
        const deployedReplicas = before?.replicas ?? 0;
        const args = {
            app, namespace: ns, secretEnv: settings.secretEnv[app.name], deployedReplicas, deployedBefore: before !== undefined,
            rolloutTimeout: settings.rolloutTimeout, lostClaims: await lostClaims(app, deployed.namespace, deployedReplicas),
        };
        const component = settings.deployMethod === "helm"
            ? new HelmStatefulApp(app.name, args, cleanup)
            : new StatefulApp(app.name, args, cleanup);
        apps[app.name] = component.outputs;
    }

    return { namespace: ns.metadata.name, deployMethod: settings.deployMethod, apps };
};
