// Program entry: reads and validates the stack config, then wires one component per app.
import * as pulumi from "@pulumi/pulumi";
import { loadStackConfig } from "./components/config";
import { appNamespace } from "./components/namespace";
import { StatefulApp } from "./components/statefulApp";
import { HelmStatefulApp } from "./components/helmApp";
import { AppOutputs } from "./components/appResources";

const settings = loadStackConfig();
const ns = appNamespace(settings.namespace);

const appOutputs: Record<string, AppOutputs> = {};
for (const app of settings.apps) {
    const args = { app, namespace: ns, secretEnv: settings.secretEnv[app.name] };
    const component = settings.deployMethod === "helm"
        ? new HelmStatefulApp(app.name, args)
        : new StatefulApp(app.name, args);
    appOutputs[app.name] = component.outputs;
}

export const namespace = ns.metadata.name;
export const deployMethod = settings.deployMethod;
export const apps = appOutputs;
