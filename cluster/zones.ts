// Zones for the scheduler only. The local cluster's two real nodes are one machine and carry no
// zone label; spreading over zones is tested against simulated nodes beside them: kwok nodes
// (the cluster's kwok controller runs only nodes annotated kwok.x-k8s.io/node=fake) labelled with
// a zone, tainted so that nothing lands there by accident, each with local PVs of a class of its
// own. The scheduler places pods and binds volumes on them exactly as on real nodes; kwok then
// marks the pods Running and Ready without running anything (no container, no data, no traffic).

/** The zones, one simulated node each. */
export const SIMULATED_ZONES = ["zone-a", "zone-b", "zone-c"] as const;
/** The StorageClass of their volumes: local PVs bound when a pod is scheduled (WaitForFirstConsumer). */
export const ZONE_STORAGE_CLASS = "zone-sim";
/** What a pod needs to go there: the taint every simulated node has. */
export const ZONE_TOLERATION = { key: "kwok.x-k8s.io/node", operator: "Exists", effect: "NoSchedule" } as const;
export const ZONE_LABEL = "topology.kubernetes.io/zone";

export const zoneNodeName = (zone: string) => `stateful-apps-sim-${zone}`;

/**
 * The nodes, their PVs (`volumesPerNode` each, 1Gi) and the class, as one List for `kubectl apply -f -`
 * and `kubectl delete -f -`. Pod addresses come from each node's podCIDR, inside the cluster CIDR
 * (cluster/network.env: routed onto the first node's bridge, so none can leave the machine) and
 * apart from the real nodes' 10.244.0-1.0/24.
 */
export function simulatedZones(volumesPerNode: number): object {
    const nodes = SIMULATED_ZONES.map((zone, i) => ({
        apiVersion: "v1",
        kind: "Node",
        metadata: {
            name: zoneNodeName(zone),
            annotations: { "kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0" },
            labels: { "kubernetes.io/hostname": zoneNodeName(zone), "kubernetes.io/os": "linux", [ZONE_LABEL]: zone, type: "kwok" },
        },
        spec: { podCIDR: `10.244.${200 + i}.0/24`, taints: [{ key: ZONE_TOLERATION.key, value: "fake", effect: ZONE_TOLERATION.effect }] },
    }));
    const volumes = SIMULATED_ZONES.flatMap((zone) => Array.from({ length: volumesPerNode }, (_, v) => ({
        apiVersion: "v1",
        kind: "PersistentVolume",
        metadata: { name: `${zoneNodeName(zone)}-pv-${v}`, labels: { "stateful-apps/simulated": "true" } },
        spec: {
            capacity: { storage: "1Gi" },
            accessModes: ["ReadWriteOnce"],
            persistentVolumeReclaimPolicy: "Retain",
            storageClassName: ZONE_STORAGE_CLASS,
            // Never mounted: kwok runs no container.
            local: { path: "/simulated" },
            nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: "kubernetes.io/hostname", operator: "In", values: [zoneNodeName(zone)] }] }] } },
        },
    })));
    const storageClass = {
        apiVersion: "storage.k8s.io/v1",
        kind: "StorageClass",
        metadata: { name: ZONE_STORAGE_CLASS },
        provisioner: "kubernetes.io/no-provisioner",
        volumeBindingMode: "WaitForFirstConsumer",
    };
    return { apiVersion: "v1", kind: "List", items: [storageClass, ...nodes, ...volumes] };
}
