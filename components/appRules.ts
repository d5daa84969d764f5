// The rules of an app's settings that a JSON schema cannot express. The chart mirrors each one,
// with the same wording, in templates/_validate.tpl, so `helm install` of the chart rejects them too.
import { CONFIG_NAMESPACE, Json, Problems, show } from "./problems";
import { parseQuantity } from "./quantity";

/**
 * Longest app name: pods carry the label `controller-revision-hash: <app>-<10-char hash>`,
 * which must fit the 63-character label value limit.
 */
export const MAX_APP_NAME_LENGTH = 52;
// Service names must also start with a letter (RFC 1035); every app name names a Service.
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

/** The app name (a key of `apps`): it names every object of the app. */
export function checkAppName(p: Problems, name: string): boolean {
    if (DNS1035_LABEL.test(name) && name.length <= MAX_APP_NAME_LENGTH) {
        return true;
    }
    p.say(
        "apps",
        `app name ${show(name)} is not allowed; expected a DNS label of at most ${MAX_APP_NAME_LENGTH} characters: ` +
            "lowercase letters, digits and '-', starting with a letter",
    );
    return false;
}

/**
 * Cross-field rules, on settings that already satisfy the schema: the partition is bounded by
 * the replicas, and each resource request by its limit (compared as quantities).
 */
export function checkCrossFieldRules(p: Problems, app: string, s: Record<string, any>) {
    const key = `apps.${app}`;
    const partition: number = s.updateStrategy.type === "RollingUpdate" ? (s.updateStrategy.partition ?? 0) : 0;
    if (partition > s.replicas) {
        p.add(`${key}.updateStrategy.partition`, partition, `at most ${CONFIG_NAMESPACE}:${key}.replicas (${s.replicas})`);
    }
    const requests: Record<string, string> = s.resources.requests;
    const limits: Record<string, string> = s.resources.limits;
    for (const [name, request] of Object.entries(requests)) {
        const limit = limits[name];
        if (limit !== undefined && parseQuantity(request)! > parseQuantity(limit)!) {
            p.add(`${key}.resources.requests.${name}`, request as Json, `at most the limit ${limit}`);
        }
    }
}
