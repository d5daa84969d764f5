// Spreading over zones (issue #15), for the scheduler only: the real nodes have no zone, so three
// simulated kwok nodes, one per zone, stand beside them (cluster/zones.ts). A constraint on
// topology.kubernetes.io/zone, as users write it in stack config, must be enforced (a pod waits
// rather than break the skew), put 3 replicas in 3 zones and keep 5 within a skew of 1, each
// pod's volume bound on its own node, in both deploy methods.
// What this does not test: pods running in a zone (kwok runs no container), zone failure.
import * as assert from "assert";
import { SIMULATED_ZONES, simulatedZones, ZONE_LABEL, ZONE_STORAGE_CLASS, ZONE_TOLERATION, zoneNodeName } from "../../cluster/zones";
import { cleanupNamespace, eventually, kubectl, kubectlJson, loadShippedConfig, podNamed, pvNodes, readyPods, scheduled, Stack } from "./harness";

const APP = "python-app";
const MAX_REPLICAS = 5;
/** Enough volumes on every node for all the replicas in one zone (none is reused: Retain). */
const ZONES = JSON.stringify(simulatedZones(MAX_REPLICAS));

/** Replica count per zone of the app's ready pods, and each pod's volume checked to be on its node. */
function zonesOfPods(ns: string): Record<string, number> {
    const zoneOf = Object.fromEntries(SIMULATED_ZONES.map((z) => [zoneNodeName(z), z]));
    const perZone: Record<string, number> = {};
    for (const pod of readyPods(ns, APP)) {
        const zone = zoneOf[pod.spec.nodeName];
        assert.ok(zone, `${pod.metadata.name} is on ${pod.spec.nodeName}, a node without a zone`);
        const claim = kubectlJson(["get", "pvc", `data-${pod.metadata.name}`, "-n", ns]);
        assert.deepStrictEqual(pvNodes(kubectlJson(["get", "pv", claim.spec.volumeName])), [pod.spec.nodeName],
            `${pod.metadata.name}'s volume ${claim.spec.volumeName} is on its node`);
        perZone[zone] = (perZone[zone] ?? 0) + 1;
    }
    return perZone;
}

describe("zones (simulated nodes, scheduling only)", function () {
    for (const [i, method] of ["raw", "helm"].entries()) {
        describe(`zone spread, ${method} mode`, function () {
            const ns = `e2e-zones-${method}`;
            let stack: Stack;
            const config = loadShippedConfig("dev");
            config["stateful-apps:namespace"] = ns;
            config["stateful-apps:deployMethod"] = method;
            delete config["stateful-apps:apps"]["js-app"];
            Object.assign(config["stateful-apps:apps"][APP], {
                replicas: 2,
                storageClass: ZONE_STORAGE_CLASS,
                tolerations: [ZONE_TOLERATION],
                // As a user writes it: no labelSelector (the program adds the app's own).
                topologySpreadConstraints: [{ maxSkew: 1, topologyKey: ZONE_LABEL, whenUnsatisfiable: "DoNotSchedule" }],
            });

            before(async () => {
                kubectl(["apply", "-f", "-"], { input: ZONES });
                await eventually("the simulated zone nodes Ready", () => SIMULATED_ZONES.every((z) =>
                    kubectlJson(["get", "node", zoneNodeName(z)]).status?.conditions?.some((c: any) => c.type === "Ready" && c.status === "True")));
            });
            after(() => {
                stack?.destroy();
                stack?.remove();
                cleanupNamespace(ns);
                kubectl(["delete", "-f", "-", "--ignore-not-found", "--wait=true"], { input: ZONES });
            });

            it(`scenario ${27 + i}: ${method}: a zone constraint (DoNotSchedule) is enforced: 2 replicas in 2 zones; the third waits for the empty zone while its node is cordoned, then goes there; 5 stay within a skew of 1; never on the nodes without a zone; each volume on its pod's node`, async () => {
                stack = new Stack(`zones-${method}`, config);
                stack.up();
                await eventually("2 ready pods", () => readyPods(ns, APP).length === 2);
                const two = zonesOfPods(ns);
                assert.strictEqual(Object.keys(two).length, 2, `2 replicas in 2 zones: ${JSON.stringify(two)}`);
                const empty = SIMULATED_ZONES.find((z) => !two[z])!;

                // Only the empty zone keeps the skew at 1: with its node cordoned the third pod must
                // wait (without the constraint it would go to another zone at once).
                kubectl(["cordon", zoneNodeName(empty)]);
                try {
                    config["stateful-apps:apps"][APP].replicas = 3;
                    stack.writeConfig(config);
                    const up = stack.pulumiAsync(["up", "--yes", "--skip-preview"], { log: `zones-${method}-3` });
                    const third = `${APP}-2`;
                    const pending = await eventually(`${third} unschedulable`, () => {
                        const cond = scheduled(podNamed(ns, third));
                        return cond?.status === "False" && cond;
                    }, 60000);
                    assert.match(pending.message, /didn't match pod topology spread constraints/, `why ${third} waits: ${pending.message}`);
                    console.log(`      ${third} waits while ${zoneNodeName(empty)} is cordoned: ${pending.message}`);
                    kubectl(["uncordon", zoneNodeName(empty)]);
                    await up;
                } finally {
                    kubectl(["uncordon", zoneNodeName(empty)], { allowFailure: true });
                }
                await eventually("3 ready pods", () => readyPods(ns, APP).length === 3);
                assert.deepStrictEqual(zonesOfPods(ns), { "zone-a": 1, "zone-b": 1, "zone-c": 1 });

                config["stateful-apps:apps"][APP].replicas = MAX_REPLICAS;
                stack.writeConfig(config);
                stack.up(`zones-${method}-5`);
                await eventually(`${MAX_REPLICAS} ready pods`, () => readyPods(ns, APP).length === MAX_REPLICAS);
                const counts = Object.values(zonesOfPods(ns)).sort();
                assert.deepStrictEqual(counts, [1, 2, 2], `5 replicas over 3 zones, skew at most 1: ${JSON.stringify(zonesOfPods(ns))}`);
            });
        });
    }
});
