// Scenario 13 (issue 20 item 3): the pod-cleanup hook with only the RBAC the README documents,
// through a restricted ServiceAccount on the real node. The hook's own code (kubernetesPodApi +
// deleteAppPods, exactly what the engine calls) runs with a kubeconfig holding that account's token.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import * as yaml from "js-yaml";
import { labelSelector } from "../../components/kubeClient";
import { deleteAppPods, HOOK_RBAC, kubernetesPodApi } from "../../components/podCleanup";
import { cleanupNamespace, eventually, kubectl, kubectlJson, PROJECT_DIR, serviceAccountKubeconfig } from "./harness";

const NS = "e2e-hook-rbac";
const LABELS = { "app.kubernetes.io/name": "rbac-probe", "app.kubernetes.io/instance": "rbac-probe" };
// The node's own sandbox image: present on the node, never pulled.
const IMAGES_ENV = fs.readFileSync(path.join(PROJECT_DIR, "cluster/images.env"), "utf8");
const PAUSE_IMAGE = /PAUSE_IMAGE="\$IMAGE_PREFIX\/([^"]+)"/.exec(IMAGES_ENV)![1];
const IMAGE_PREFIX = /IMAGE_PREFIX="([^"]+)"/.exec(IMAGES_ENV)![1];

/** A Role and a ServiceAccount bound to it; returns a kubeconfig (contents) with the account's token. */
function restrictedKubeconfig(name: string, rules: object[]): string {
    kubectl(["apply", "-f", "-"], {
        input: yaml.dump({
            apiVersion: "v1", kind: "List", items: [
                { apiVersion: "v1", kind: "ServiceAccount", metadata: { name, namespace: NS } },
                { apiVersion: "rbac.authorization.k8s.io/v1", kind: "Role", metadata: { name, namespace: NS }, rules },
                {
                    apiVersion: "rbac.authorization.k8s.io/v1", kind: "RoleBinding", metadata: { name, namespace: NS },
                    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name },
                    subjects: [{ kind: "ServiceAccount", name, namespace: NS }],
                },
            ],
        }),
    });
    return serviceAccountKubeconfig(NS, name);
}

async function startPods(n: number) {
    for (let i = 0; i < n; i++) {
        kubectl(["run", `probe-${i}`, "-n", NS, `--image=${IMAGE_PREFIX}/${PAUSE_IMAGE}`, "--image-pull-policy=Never", "--restart=Never",
            `--labels=${labelSelector(LABELS)}`]);
    }
    await eventually(`${n} probe pods running`, () =>
        kubectlJson(["get", "pods", "-n", NS, "-l", labelSelector(LABELS)]).items.filter((p: any) => p.status.phase === "Running").length === n);
}

describe("pod-cleanup hook with a restricted ServiceAccount (real node)", function () {
    before(() => {
        cleanupNamespace(NS);
        kubectl(["create", "namespace", NS]);
    });
    after(() => cleanupNamespace(NS));

    it("scenario 13: with exactly the documented RBAC the hook deletes the pods (and PVCs); without deletecollection it fails naming the permission and the command", async () => {
        assert.match(HOOK_RBAC, /list and deletecollection on pods, and deletecollection on persistentvolumeclaims/);
        const documented = restrictedKubeconfig("cleanup", [
            { apiGroups: [""], resources: ["pods"], verbs: ["list", "deletecollection"] },
            { apiGroups: [""], resources: ["persistentvolumeclaims"], verbs: ["deletecollection"] },
        ]);
        const listOnly = restrictedKubeconfig("cleanup-list-only", [{ apiGroups: [""], resources: ["pods"], verbs: ["list"] }]);
        await startPods(2);
        const target = { namespace: NS, podSelector: LABELS, deletePvcs: true };

        await assert.rejects(
            deleteAppPods(kubernetesPodApi({ "kubernetes:kubeconfig": listOnly }), target, { retry: { backoffMs: 100 } }),
            (e: Error) => {
                assert.match(e.message, /deleting the pods failed: .*cannot deletecollection resource "pods"/s);
                assert.ok(e.message.includes(`The hook needs ${HOOK_RBAC} in ${NS}.`), e.message);
                assert.match(e.message, new RegExp(`finish with: kubectl delete pod -n ${NS} -l \\S+ && kubectl delete pvc -n ${NS} -l \\S+$`));
                return true;
            },
        );
        assert.strictEqual(kubectlJson(["get", "pods", "-n", NS, "-l", labelSelector(LABELS)]).items.length, 2, "nothing was deleted");

        await deleteAppPods(kubernetesPodApi({ "kubernetes:kubeconfig": documented }), target, { pollMs: 500 });
        assert.strictEqual(kubectlJson(["get", "pods", "-n", NS, "-l", labelSelector(LABELS)]).items.length, 0);
    });
});
