// Kubernetes resource quantities (https://kubernetes.io/docs/reference/kubernetes-api/common-definitions/quantity/),
// parsed just far enough to validate them and compare requests with limits.

const SUFFIX_FACTORS: Record<string, number> = {
    "": 1,
    n: 1e-9, u: 1e-6, m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18,
    Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60,
};

const QUANTITY = /^([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)|[eE]([-+]?[0-9]+))?$/;

/** The quantity's value in base units (bytes, cores), or undefined if it is not a valid quantity. */
export function parseQuantity(quantity: string): number | undefined {
    const match = QUANTITY.exec(quantity);
    if (!match) {
        return undefined;
    }
    const [, number, suffix, exponent] = match;
    const factor = exponent !== undefined ? 10 ** Number(exponent) : SUFFIX_FACTORS[suffix ?? ""];
    return Number(number) * factor;
}
