// What the apps' images expect of their pods (user, probes, preStop sleep, /tmp size): the
// chart's `pod` value in values.yaml, read here so that raw mode (manifests.ts) and the chart's
// template render one definition. Not a per-app setting: stack config cannot set it.
import { readChartValues } from "./chartValues";

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

export const POD_FACTS = readChartValues()[POD_FACTS_KEY] as PodFacts;

/** A probe of the app's `http` port. */
export function httpProbe(probe: Probe) {
    const { path: probePath, ...timing } = probe;
    return { httpGet: { path: probePath, port: "http" }, ...timing };
}
