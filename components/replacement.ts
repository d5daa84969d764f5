// The one replacement policy: which app settings Kubernetes cannot apply to a live StatefulSet,
// and so force a replacement. Raw mode's replaceOnChanges and replacement id, and Helm mode's
// release replacement, are all derived from REPLACING_SETTINGS.
import type { AppSettings } from "./config";

/**
 * Each replacing setting and the StatefulSet spec field it renders into. The API server
 * rejects updates of volumeClaimTemplates and podManagementPolicy (everything else under
 * spec is updatable in place).
 */
export const REPLACING_SETTINGS = {
    storageSize: "spec.volumeClaimTemplates",
    storageClass: "spec.volumeClaimTemplates",
    accessModes: "spec.volumeClaimTemplates",
    podManagementPolicy: "spec.podManagementPolicy",
} as const satisfies Partial<Record<keyof AppSettings, string>>;

export type ReplacingSetting = keyof typeof REPLACING_SETTINGS;
const SETTINGS = Object.keys(REPLACING_SETTINGS) as ReplacingSetting[];

/** The settings that render into another object than the StatefulSet (the app's NetworkPolicy). */
export const OUTSIDE_STATEFULSET_SETTINGS: readonly (keyof AppSettings)[] = ["networkPolicy"];

/**
 * The settings that render only into the StatefulSet's spec around its pod template (raw mode's
 * manifests.statefulSet, the chart's statefulset.yaml) or outside the StatefulSet: changing only
 * these restarts no pod. The PR summary (ci/preview-summary) takes a change of any other Helm
 * value as a pod template change.
 */
export const POD_TEMPLATE_FREE_SETTINGS: readonly (keyof AppSettings)[] = ["replicas", "updateStrategy", "pvcRetentionPolicy", ...SETTINGS, ...OUTSIDE_STATEFULSET_SETTINGS];

/** Raw mode: the StatefulSet fields whose change makes the engine replace it. */
export const STATEFULSET_REPLACING_FIELDS: string[] = [...new Set(Object.values(REPLACING_SETTINGS))];

/**
 * Helm mode: the release values `helm upgrade` cannot apply (it would patch the StatefulSet in
 * place, which the API server forbids), so the release is uninstalled and installed again.
 */
export const RELEASE_REPLACING_VALUES: string[] = SETTINGS.map((setting) => `values.${setting}`);

/** Raw mode's replacement id keepers: the replacing settings' current values, as strings. */
export function replacingSettings(app: AppSettings): Record<string, string> {
    return Object.fromEntries(SETTINGS.map((s) => [s, Array.isArray(app[s]) ? (app[s] as string[]).join(",") : String(app[s])]));
}
