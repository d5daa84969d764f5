// The rules of an app's settings that a JSON schema cannot express. The chart mirrors each one,
// with the same wording, in templates/_validate.tpl, so `helm install` of the chart rejects them too.
import { CONFIG_NAMESPACE, isObject, Json, Problems, show } from "./problems";
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
 * Cross-field rules: the partition is bounded by the replicas, and each resource request by its
 * limit (compared as quantities). `valid(key)` says whether the schema accepted the setting at
 * `key` (and everything under it): a rule runs only on valid settings, beside the schema's
 * problems, so every problem is still reported at once.
 */
export function checkCrossFieldRules(p: Problems, app: string, s: Record<string, any>, valid: (key: string) => boolean) {
    const key = `apps.${app}`;
    if (valid("updateStrategy") && valid("replicas") && s.updateStrategy.type === "RollingUpdate") {
        const partition: number = s.updateStrategy.partition;
        if (partition > s.replicas) {
            p.add(`${key}.updateStrategy.partition`, partition, `at most ${CONFIG_NAMESPACE}:${key}.replicas (${s.replicas})`);
        }
    }
    const requests = s.resources?.requests;
    const limits = s.resources?.limits;
    if (!isObject(requests) || !isObject(limits)) {
        return; // the schema says so
    }
    for (const [name, request] of Object.entries(requests)) {
        const limit = limits[name];
        if (!valid(`resources.requests.${name}`) || !valid(`resources.limits.${name}`) || limit === undefined) {
            continue;
        }
        if (parseQuantity(request as string)! > parseQuantity(limit as string)!) {
            p.add(`${key}.resources.requests.${name}`, request as Json, `at most the limit ${limit}`);
        }
    }
}
