// Two real nodes (issue #15 §3): prod's spread really puts each app's pods on different nodes,
// each on a volume of its own node, in both deploy methods; draining a node under traffic goes
// one pod at a time (the PDB refuses a second eviction), the evicted pod waits Pending for its
// volume's node and comes back there with its count, and no answered visit is lost; a lost node
// (kubelet and containerd killed) is never replaced behind its back (at most one pod per name),
// the other pod keeps serving, and both recovery paths of the runbook work: the out-of-service
// taint (the pod is deleted, its replacement waits for its local volume) and the node coming back.
// More replicas than nodes under `hard` anti-affinity: the left-over pod stays Pending, and pulumi
// up says why (the scheduler's reason, through the program's scheduling report) and ends at the
// stack's rolloutTimeout, in both deploy methods.
import * as assert from "assert";
import { execFile, execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { promisify } from "util";
import {
    cleanupNamespace, countsOf, eventually, kubectl, kubectlJson, loadShippedConfig, NODE0, NODE1, podNamed, pods, PROJECT_DIR, pvNodes, readyPods,
    readyEndpointIps, scheduled, serviceServing, sleep, Stack, steadyTraffic, secs, visitPod, visitsOnDisk, visitThroughService,
} from "./harness";

const APP = "python-app";
const APPS = ["python-app", "js-app"];
const SIZE = "300Mi"; // the sized class's smallest volume
const OUT_OF_SERVICE = "node.kubernetes.io/out-of-service";
const CACHE = process.env.STATEFUL_APPS_CACHE ?? path.join(os.homedir(), ".cache", "stateful-apps");
const NODE1_HOME = path.join(CACHE, "node-1");

const execFileAsync = promisify(execFile);

const nodeReady = (node: string) =>
    kubectlJson(["get", "node", node]).status.conditions.some((c: any) => c.type === "Ready" && c.status === "True");
function readyPodOn(ns: string, node: string): any {
    const pod = readyPods(ns, APP).find((p) => p.spec.nodeName === node);
    assert.ok(pod, `${APP}: no ready pod on ${node}`);
    return pod;
}
const total = (counts: Record<string, number>) => Object.values(counts).reduce((a, b) => a + b, 0);

/** python-app alone (less CPU), 2 pods kept apart by `hard`, on volumes of the node they were scheduled to. */
function onePodPerNode(ns: string): Record<string, any> {
    const config = loadShippedConfig("dev");
    config["stateful-apps:namespace"] = ns;
    config["stateful-apps:deployMethod"] = "raw";
    delete config["stateful-apps:apps"]["js-app"];
    Object.assign(config["stateful-apps:apps"][APP], { replicas: 2, podAntiAffinityPreset: "hard", storageClass: "sized", storageSize: SIZE });
    return config;
}
async function deployOnePodPerNode(name: string, ns: string): Promise<Stack> {
    const stack = new Stack(name, onePodPerNode(ns));
    stack.up();
    await eventually(`a ready ${APP} pod on each node`, () => readyPods(ns, APP).map((p) => p.spec.nodeName).sort().join() === `${NODE0},${NODE1}`);
    return stack;
}

/** SIGKILL to node 1's recorded process, checked first to be it (a recorded PID may have been reused). */
function killNode1(name: "kubelet" | "containerd") {
    const file = path.join(NODE1_HOME, "run", "pids", `${name}.pid`);
    const pid = Number(fs.readFileSync(file, "utf8").trim());
    const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ");
    assert.ok(cmdline.includes(name) && cmdline.includes(NODE1_HOME), `${file}: PID ${pid} is not node 1's ${name} (${cmdline})`);
    process.kill(pid, "SIGKILL");
}
/** The runbook's restart: starts only node 1's processes that are not running (blocks until the node is Ready). */
function startNode1() {
    assert.ok(process.env.KUBECONFIG, "KUBECONFIG must name the local cluster's kubeconfig");
    try {
        execFileSync("bash", [path.join(PROJECT_DIR, "cluster", "node.sh"), "up", process.env.KUBECONFIG], {
            cwd: PROJECT_DIR, env: { ...process.env, NODE_INDEX: "1" }, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 5 * 60 * 1000,
        });
    } catch (e: any) {
        throw new Error(`NODE_INDEX=1 cluster/node.sh up failed: ${e.stderr ?? e.message}`);
    }
}

describe("two real nodes: placement, drain under the PDB, node loss", function () {
    before(() => {
        const ready = kubectlJson(["get", "nodes"]).items.filter((n: any) => nodeReady(n.metadata.name)).map((n: any) => n.metadata.name).sort();
        assert.deepStrictEqual(ready, [NODE0, NODE1], "these scenarios need the local cluster's two real nodes, both Ready");
    });

    for (const [i, method] of ["raw", "helm"].entries()) {
        describe(`prod's spread, ${method} mode`, function () {
            const ns = `e2e-spread-${method}`;
            // loadShippedConfig already runs the locally built images (as the dev stack does here);
            // prod's requests (100m, 128Mi) fit on either node.
            const config = loadShippedConfig("prod");
            config["stateful-apps:namespace"] = ns;
            config["stateful-apps:deployMethod"] = method;
            for (const app of APPS) {
                Object.assign(config["stateful-apps:apps"][app], { replicas: 2, storageClass: "sized", storageSize: SIZE });
            }
            let stack: Stack;

            before(async () => {
                stack = new Stack(`spread-${method}`, config);
                stack.up();
                for (const app of APPS) {
                    await eventually(`2 ready ${app} pods`, () => readyPods(ns, app).length === 2);
                }
            });
            after(() => {
                stack?.destroy();
                stack?.remove();
                cleanupNamespace(ns);
            });

            it(`scenario ${20 + i}: ${method}: prod's spread (maxSkew 1 on the hostname) puts each app's 2 pods on the 2 nodes, each pod's volume on its own node`, () => {
                for (const app of APPS) {
                    const constraints = kubectlJson(["get", "statefulset", app, "-n", ns]).spec.template.spec.topologySpreadConstraints ?? [];
                    assert.deepStrictEqual(constraints.map((c: any) => [c.topologyKey, c.maxSkew, c.whenUnsatisfiable, c.labelSelector?.matchLabels?.["app.kubernetes.io/instance"]]),
                        [["kubernetes.io/hostname", 1, "ScheduleAnyway", app]], `${app}: prod's constraint, counting the app's own pods`);
                    // ScheduleAnyway is a preference; with the sized class (WaitForFirstConsumer) no
                    // volume pins a pod beforehand, so on an empty 2-node cluster the preference is
                    // all that decides, and it must spread.
                    const ready = readyPods(ns, app);
                    assert.strictEqual(ready.length, 2, `${app}: 2 ready pods`);
                    assert.deepStrictEqual(ready.map((p) => p.spec.nodeName).sort(), [NODE0, NODE1],
                        `${app}: one pod per node (${ready.map((p) => `${p.metadata.name} on ${p.spec.nodeName}`).join(", ")})`);
                    for (const pod of ready) {
                        const claim = kubectlJson(["get", "pvc", `data-${pod.metadata.name}`, "-n", ns]);
                        assert.strictEqual(claim.spec.storageClassName, "sized", `${app}: ${claim.metadata.name} of the sized class`);
                        assert.deepStrictEqual(pvNodes(kubectlJson(["get", "pv", claim.spec.volumeName])), [pod.spec.nodeName],
                            `${app}: ${pod.metadata.name}'s volume is on its node`);
                    }
                }
            });
        });
    }

    describe("drain under traffic (raw)", function () {
        const NS = "e2e-drain";
        let stack: Stack;

        before(async () => {
            stack = await deployOnePodPerNode("two-nodes-drain", NS);
        });
        after(() => {
            kubectl(["uncordon", NODE1], { allowFailure: true });
            stack?.destroy();
            stack?.remove();
            cleanupNamespace(NS);
        });

        it(`scenario 22: kubectl drain ${NODE1} under traffic: the PDB refuses a second eviction, the evicted pod waits Pending for its volume's node and returns there with its count after uncordon; < 1% of requests fail and every answered visit is on disk`, async () => {
            const evicted = readyPodOn(NS, NODE1);
            const kept = readyPodOn(NS, NODE0);
            const name = evicted.metadata.name;
            await visitPod(evicted, 5);
            await visitPod(kept, 5);
            const before = countsOf(NS, APP);
            assert.strictEqual(total(before), 10, `${APP}: the 10 visits are on disk (${JSON.stringify(before)})`);
            await serviceServing(NS, APP);

            const traffic = steadyTraffic(NS, APP);
            try {
                const draining = Date.now();
                await execFileAsync("kubectl", ["drain", NODE1, "--ignore-daemonsets", "--delete-emptydir-data", "--timeout=120s"], { timeout: 180000 })
                    .catch((e) => { throw new Error(`kubectl drain ${NODE1} failed: ${e.stderr ?? e.message}`); });
                console.log(`      drain of ${NODE1}: ${secs(draining)}s`);

                // (a) One pod is already out: the budget (maxUnavailable 1) has nothing left to give.
                assert.ok(!readyPods(NS, APP).some((p) => p.metadata.name === name), `${APP}: ${name} is not back yet`);
                const eviction = { apiVersion: "policy/v1", kind: "Eviction", metadata: { name: kept.metadata.name, namespace: NS } };
                const refused = kubectl(["create", "--raw", `/api/v1/namespaces/${NS}/pods/${kept.metadata.name}/eviction`, "-f", "-"],
                    { allowFailure: true, input: JSON.stringify(eviction) });
                assert.match(refused, /disruption budget/i, `${APP}: evicting ${kept.metadata.name} as well must be refused: ${refused}`);
                const survivor = podNamed(NS, kept.metadata.name);
                assert.ok(survivor?.metadata.uid === kept.metadata.uid && !survivor.metadata.deletionTimestamp, `${APP}: ${kept.metadata.name} still runs`);

                // (b) The replacement can go nowhere: its volume's node is cordoned, the other node is not its volume's.
                const pending = await eventually(`${name} re-created and unschedulable`, () => {
                    const p = podNamed(NS, name);
                    return p && p.metadata.uid !== evicted.metadata.uid && scheduled(p)?.status === "False" && p;
                }, 60000);
                assert.match(scheduled(pending).message ?? "", /node affinity|unschedulable/i, `${APP}: why ${name} is Pending: ${scheduled(pending).message}`);
                console.log(`      ${name} Pending while ${NODE1} is cordoned: ${scheduled(pending).message}`);
                await sleep(10000);
                const still = podNamed(NS, name);
                assert.ok(still?.metadata.uid === pending.metadata.uid && still.status.phase === "Pending" && !still.spec.nodeName,
                    `${APP}: ${name} stays Pending while ${NODE1} is cordoned (phase ${still?.status.phase}, node ${still?.spec.nodeName})`);

                // (c) Uncordoned, it goes back to its volume.
                kubectl(["uncordon", NODE1]);
                const uncordoned = Date.now();
                const back = await eventually(`${name} ready again`, () => readyPods(NS, APP).find((p) => p.metadata.name === name), 180000);
                console.log(`      ${name}: ready on ${back.spec.nodeName} ${secs(uncordoned)}s after uncordon`);
                assert.strictEqual(back.spec.nodeName, NODE1, `${APP}: ${name} back on the node of its volume`);
            } catch (e) {
                await traffic.stop();
                throw e;
            } finally {
                kubectl(["uncordon", NODE1], { allowFailure: true }); // never leave the node cordoned
            }

            // (d) Nothing answered was lost, and the drain barely showed.
            const { ok, failed } = await traffic.stop();
            const after = countsOf(NS, APP);
            for (const pod of Object.keys(before)) {
                assert.ok(after[pod] >= before[pod], `${APP}: ${pod} has ${after[pod]} visits now, ${before[pod]} before the drain`);
            }
            assert.ok(ok >= 100, `enough traffic to judge (${ok} answered)`);
            assert.strictEqual(total(after) - total(before), ok, `${APP}: every visit answered during the drain is in some pod's file`);
            assert.ok(failed / (ok + failed) < 0.01, `${APP}: ${failed} of ${ok + failed} requests failed`);
        });
    });

    describe("node loss (raw)", function () {
        const NS = "e2e-node-loss";
        let stack: Stack;
        // Recorded by scenario 23 for scenario 24: the pod on the lost node and what each pod must keep.
        let lost: { name: string; uid: string } | undefined;
        let keptName = "";
        const expected: Record<string, number> = {};

        before(async () => {
            stack = await deployOnePodPerNode("two-nodes-loss", NS);
        });
        after(() => {
            kubectl(["taint", "nodes", NODE1, `${OUT_OF_SERVICE}-`], { allowFailure: true });
            let restart: unknown;
            try {
                startNode1(); // whatever failed, later scenarios get their two nodes back
            } catch (e) {
                restart = e;
            }
            stack?.destroy();
            stack?.remove();
            cleanupNamespace(NS);
            if (restart) throw restart;
        });

        it(`scenario 23: ${NODE1}'s kubelet and containerd killed: NotReady, its pod neither deleted nor replaced (at most one pod per name), the other pod serves through the Service with its count`, async () => {
            const onLost = readyPodOn(NS, NODE1);
            const kept = readyPodOn(NS, NODE0);
            await visitPod(onLost, 5);
            await visitPod(kept, 5);
            Object.assign(expected, countsOf(NS, APP));
            lost = { name: onLost.metadata.name, uid: onLost.metadata.uid };
            keptName = kept.metadata.name;

            killNode1("kubelet");
            killNode1("containerd");
            const killed = Date.now();
            await eventually(`${NODE1} NotReady`, () => !nodeReady(NODE1), 90000);
            console.log(`      ${NODE1}: NotReady ${secs(killed)}s after its kubelet and containerd were killed`);

            // Its container may still be running there: the controller must not start a second copy.
            const podsNow = () => kubectlJson(["get", "pods", "-n", NS, "-l", `app.kubernetes.io/instance=${APP}`]).items
                .map((p: any) => `${p.metadata.name} ${p.metadata.uid} on ${p.spec.nodeName}${p.metadata.deletionTimestamp ? " (deleting)" : ""}`).sort();
            const unchanged = [`${lost.name} ${lost.uid} on ${NODE1}`, `${keptName} ${kept.metadata.uid} on ${NODE0}`].sort();
            const until = Date.now() + 30000;
            while (Date.now() < until) {
                assert.deepStrictEqual(podsNow(), unchanged, `${APP}: the pods ${secs(killed)}s after the kill`);
                await sleep(2000);
            }

            await eventually(`${lost.name} out of the Service's endpoints`, () => !readyEndpointIps(NS, APP).includes(onLost.status.podIP), 60000);
            const answered = await visitThroughService(NS, APP, 10);
            assert.ok((answered[keptName] ?? 0) > 0, `${APP}: ${keptName} answered through the Service (${JSON.stringify(answered)})`);
            // kube-proxy may lag the endpoints by a moment: what the lost pod answered is on its disk.
            expected[lost.name] += answered[lost.name] ?? 0;
            expected[keptName] += answered[keptName];
            assert.strictEqual(visitsOnDisk(NS, keptName), expected[keptName], `${APP}: ${keptName}'s count intact and counting`);
        });

        it(`scenario 24: the out-of-service taint deletes the lost pod and its replacement waits for its local volume; taint removed and ${NODE1} restarted, the pod runs there again with its count`, async () => {
            assert.ok(lost, "scenario 23 recorded the pod on the lost node");
            const { name, uid } = lost;
            kubectl(["taint", "nodes", NODE1, `${OUT_OF_SERVICE}=nodeshutdown:NoExecute`]);
            const tainted = Date.now();
            await eventually(`${name} (${uid}) deleted`, () => podNamed(NS, name)?.metadata.uid !== uid, 120000);
            console.log(`      ${name}: deleted ${secs(tainted)}s after the out-of-service taint`);
            // The data caveat: the replacement cannot run anywhere else, its volume is on the lost node.
            const pending = await eventually(`${name} re-created and unschedulable`, () => {
                const p = podNamed(NS, name);
                return p && p.metadata.uid !== uid && scheduled(p)?.status === "False" && p;
            }, 60000);
            assert.ok(!pending.spec.nodeName && pending.status.phase === "Pending", `${APP}: ${name}'s replacement is Pending (phase ${pending.status.phase})`);
            assert.match(scheduled(pending).message ?? "", /node affinity|taint/i, `${APP}: why ${name} is Pending: ${scheduled(pending).message}`);
            console.log(`      ${name} Pending while ${NODE1} is out of service: ${scheduled(pending).message}`);

            kubectl(["taint", "nodes", NODE1, `${OUT_OF_SERVICE}-`]);
            const restarting = Date.now();
            startNode1();
            await eventually(`${NODE1} Ready`, () => nodeReady(NODE1), 120000);
            const back = await eventually(`${name} ready`, () => readyPods(NS, APP).find((p) => p.metadata.name === name), 180000);
            console.log(`      ${NODE1} restarted: ${name} ready ${secs(restarting)}s later`);
            assert.strictEqual(back.spec.nodeName, NODE1, `${APP}: ${name} back on the node of its volume`);
            const count = visitsOnDisk(NS, name);
            assert.ok(count >= expected[name], `${APP}: ${name} has ${count} visits, ${expected[name]} before the node was lost`);
            assert.strictEqual(visitsOnDisk(NS, keptName), expected[keptName], `${APP}: ${keptName}'s count intact`);
        });
    });

    for (const [i, method] of ["raw", "helm"].entries()) {
        describe(`more replicas than nodes under hard anti-affinity (${method})`, function () {
            const NS = `e2e-hard-pending-${method}`;
            const TIMEOUT_S = 60;
            let stack: Stack;
            after(() => {
                stack?.destroy();
                stack?.remove();
                cleanupNamespace(NS);
            });

            it(`scenario ${25 + i}: ${method}: hard anti-affinity, 3 replicas on 2 nodes: the third pod stays Pending with the scheduler's reason, pulumi up says so and fails at rolloutTimeout (${TIMEOUT_S} s); replicas 2 then deploys`, async () => {
                const config = onePodPerNode(NS);
                config["stateful-apps:apps"][APP].replicas = 3;
                config["stateful-apps:rolloutTimeout"] = String(TIMEOUT_S);
                config["stateful-apps:deployMethod"] = method;
                stack = new Stack(`hard-pending-${method}`, config);
                const started = Date.now();
                const { status, output } = await stack.pulumiAsync(["up", "--yes", "--skip-preview"], { allowFailure: true, log: `hard-pending-${method}-up` });
                const took = (Date.now() - started) / 1000;
                console.log(`      pulumi up: exit ${status} after ${took.toFixed(1)}s (rolloutTimeout ${TIMEOUT_S} s)`);
                assert.notStrictEqual(status, 0, "pulumi up must fail: a pod can never be scheduled");
                // The namespace, Secret, Services and two ready pods come first; then the await's limit.
                assert.ok(took < TIMEOUT_S + 90, `pulumi up ended ${took.toFixed(1)}s after it started, not at its ${TIMEOUT_S} s timeout`);

                // dev's podManagementPolicy is Parallel: the 3 pods race, any one of them is left over.
                const all = pods(NS, APP);
                const pending = all.filter((p: any) => !p.spec.nodeName);
                assert.strictEqual(pending.length, 1, `one of the 3 pods is unplaced (${all.map((p: any) => `${p.metadata.name} on ${p.spec.nodeName}`).join(", ")})`);
                const left = pending[0].metadata.name;
                assert.strictEqual(scheduled(pending[0])?.reason, "Unschedulable", `${left} is Pending, Unschedulable`);
                const reason = scheduled(pending[0]).message as string;
                assert.match(reason, /didn't match pod anti-affinity rules/, `the scheduler's reason: ${reason}`);
                // The program's warning quotes the scheduler, so the reason is in pulumi up's own output.
                assert.ok(output.includes(`${APP}: pod ${left} cannot be scheduled: ${reason.trim()}`),
                    `pulumi up's output gives ${left}'s scheduler reason:\n${output.slice(-3000)}`);
                // The await's own error says no more than this (hence the warning).
                assert.match(output, method === "raw" ? /failed to fully initialize or become live: timed out waiting for the condition/ : /has a failed status.*context deadline exceeded/,
                    "and the await's own timeout error");
                await eventually(`the 2 others ready, one per node`, () => readyPods(NS, APP).map((p) => p.spec.nodeName).sort().join() === `${NODE0},${NODE1}`);

                // What the warning advises: fit the replicas to the nodes; the next up completes.
                config["stateful-apps:apps"][APP].replicas = 2;
                stack.writeConfig(config);
                stack.up(`hard-pending-${method}-fixed`);
                await eventually(`${APP}-2 gone, ${APP}-0 and -1 ready on the 2 nodes`,
                    () => !podNamed(NS, `${APP}-2`) && readyPods(NS, APP).map((p) => `${p.metadata.name} ${p.spec.nodeName}`).length === 2);
                assert.deepStrictEqual(readyPods(NS, APP).map((p) => p.spec.nodeName).sort(), [NODE0, NODE1]);
            });
        });
    }
});
