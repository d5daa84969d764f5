// What the apps' images expect of their pods (user, probes, preStop sleep, /tmp size): the
// chart's `pod` value in values.yaml, read here so that raw mode (manifests.ts) and the chart's
// template render one definition. Not a per-app setting: stack config cannot set it.
import * as fs from "fs";
import * as path from "path";
import * as yaml from "js-yaml";
import { CHART_DIR } from "./paths";

export interface Probe {
    path: string;
    periodSeconds: number;
    timeoutSeconds: number;
    failureThreshold: number;
}

export interface PodFacts {
    runAsId: number;
    livenessProbe: Probe;
    readinessProbe: Probe;
    preStopSleepSeconds: number;
    tmpSizeLimit: string;
}

/** The chart value holding the facts. */
export const POD_FACTS_KEY = "pod";

export const POD_FACTS: PodFacts = (yaml.load(fs.readFileSync(path.join(CHART_DIR, "values.yaml"), "utf8")) as Record<string, PodFacts>)[POD_FACTS_KEY];

/** A probe of the app's `http` port. */
export function httpProbe(probe: Probe) {
    const { path: probePath, ...timing } = probe;
    return { httpGet: { path: probePath, port: "http" }, ...timing };
}
