// NetworkPolicy enforced (issue #16 §1): the local cluster runs kube-router's policy firewall for
// the first node's pods (cluster/network-policy.sh), so the app runs there (a nodeSelector, as a
// user writes it) and the program's policy is checked with real traffic from real pods:
// an allowed peer gets 200; a pod of another namespace does not; a non-app port of the app's pod
// is closed to the peer (while the node itself still reaches it); the app's pod resolves names
// (egress to DNS) but reaches no other pod (egress to its own pods only); a policy change, then
// the opt-out, take effect within a measured time; in both deploy methods.
import * as assert from "assert";
import { execFileSync } from "child_process";
import {
    cleanupNamespace, eventually, execIn, httpRequest, kubectl, kubectlJson, LOCAL_IMAGES, loadShippedConfig, NODE0, readyPods, resolveInPod, secs, sleep, Stack,
} from "./harness";

const APP = "python-app";
const CLIENT_PORT = 8000; // the client pods' own HTTP server (something to reach with egress)
const EXTRA_PORT = 5001; // a second listener inside the app's pod: a non-app port
const ENGINE_CHAIN = "KUBE-ROUTER-FORWARD";

/** A pod of the python image serving HTTP on CLIENT_PORT, on the policed node, Pod Security restricted. */
function clientPod(ns: string, name: string) {
    return {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name, namespace: ns, labels: { role: name } },
        spec: {
            nodeSelector: { "kubernetes.io/hostname": NODE0 },
            terminationGracePeriodSeconds: 0,
            securityContext: { runAsNonRoot: true, runAsUser: 10001, runAsGroup: 10001, seccompProfile: { type: "RuntimeDefault" } },
            containers: [{
                name: "app",
                image: LOCAL_IMAGES.of(APP),
                imagePullPolicy: "Never",
                command: ["python", "-m", "http.server", String(CLIENT_PORT), "--directory", "/tmp"],
                securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } },
            }],
        },
    };
}

/** GET url from inside a pod: the HTTP status, or the error's kind (timeout, refused, ...). */
function getFrom(ns: string, pod: string, url: string): string {
    const script = [
        "import sys, urllib.request",
        "try:",
        "    print(urllib.request.urlopen(sys.argv[1], timeout=2).status)",
        "except Exception as e:",
        "    print(type(getattr(e, 'reason', e)).__name__)",
    ].join("\n");
    return execIn(ns, pod, ["python", "-c", script, url]).trim();
}

const podIp = (ns: string, pod: string) => kubectlJson(["get", "pod", pod, "-n", ns]).status.podIP as string;

/** Polls `check` (every 0.2 s, up to 60 s) until it holds; the seconds it took (how soon a policy change takes effect). */
async function takesEffect(what: string, check: () => boolean | Promise<boolean>): Promise<string> {
    const since = Date.now();
    while (!(await check())) {
        assert.ok(Date.now() - since < 60000, `${what}: not within 60 s`);
        await sleep(200);
    }
    return secs(since);
}

describe("NetworkPolicy enforced by a real engine (kube-router, the first node's pods)", function () {
    before(() => {
        const chains = execFileSync("iptables-save", ["-t", "filter"], { encoding: "utf8" });
        assert.ok(chains.includes(`:${ENGINE_CHAIN} `), `the policy engine is not running (no ${ENGINE_CHAIN} chain): cluster/cluster.sh up starts it unless CLUSTER_NETWORK_POLICY=0`);
    });

    for (const [i, method] of ["raw", "helm"].entries()) {
        describe(`${method} mode`, function () {
            const ns = `e2e-netpol-${method}`;
            const other = `e2e-netpol-${method}-other`;
            const config = loadShippedConfig("dev");
            config["stateful-apps:namespace"] = ns;
            config["stateful-apps:deployMethod"] = method;
            delete config["stateful-apps:apps"]["js-app"];
            // The sized class binds a volume where the pod is scheduled (the standard one, at once, maybe on the other node).
            Object.assign(config["stateful-apps:apps"][APP], { replicas: 1, nodeSelector: { "kubernetes.io/hostname": NODE0 }, storageClass: "sized", storageSize: "300Mi" });
            let stack: Stack;

            after(() => {
                stack?.destroy();
                stack?.remove();
                cleanupNamespace(ns);
                kubectl(["delete", "namespace", other, "--ignore-not-found", "--wait=true", "--timeout=120s"], { allowFailure: true });
            });

            it(`scenario ${30 + i}: ${method}: the default policy admits the app's namespace only, on the app port only; egress to DNS and the app's own pods only; allowFrom another namespace, then the opt-out, take effect`, async () => {
                stack = new Stack(`netpol-${method}`, config);
                stack.up();
                await eventually(`a ready ${APP} pod`, () => readyPods(ns, APP).length === 1);
                kubectl(["create", "namespace", other]);
                kubectl(["apply", "-f", "-"], { input: JSON.stringify({ apiVersion: "v1", kind: "List", items: [clientPod(ns, "peer"), clientPod(other, "outsider")] }) });
                kubectl(["wait", "--for=condition=Ready", "pod/peer", "-n", ns, "--timeout=120s"]);
                kubectl(["wait", "--for=condition=Ready", "pod/outsider", "-n", other, "--timeout=120s"]);
                const app = `${APP}-0`;
                const port = kubectlJson(["get", "pod", app, "-n", ns]).spec.containers[0].ports[0].containerPort;
                const [appIp, outsiderIp] = [podIp(ns, app), podIp(other, "outsider")];
                // A second listener in the app's pod, on a port the policy does not open.
                execIn(ns, app, ["python", "-c", `import subprocess; subprocess.Popen(["python", "-m", "http.server", "${EXTRA_PORT}", "--directory", "/tmp"], start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)`]);
                const appUrl = `http://${appIp}:${port}/healthz`;
                const extraUrl = `http://${appIp}:${EXTRA_PORT}/`;
                const outsiderUrl = `http://${outsiderIp}:${CLIENT_PORT}/`;
                // What the node itself reaches (kube-router allows the node's own addresses: probes, the lab).
                await takesEffect("the extra listener answering this machine", async () => (await httpRequest(extraUrl).catch(() => undefined))?.status === 200);
                assert.strictEqual((await httpRequest(outsiderUrl)).status, 200, "the outsider's server answers this machine");

                assert.strictEqual(getFrom(ns, "peer", appUrl), "200", "a pod of the app's namespace reaches the app port");
                const outsider = getFrom(other, "outsider", appUrl);
                assert.notStrictEqual(outsider, "200", "a pod of another namespace is not admitted");
                const extra = getFrom(ns, "peer", extraUrl);
                assert.notStrictEqual(extra, "200", "a non-app port is closed to the peer");
                const egress = getFrom(ns, app, outsiderUrl);
                assert.notStrictEqual(egress, "200", "the app's pod reaches no pod but its own");
                const dnsName = `${app}.${APP}-headless.${ns}.svc.cluster.local`;
                assert.strictEqual(resolveInPod(ns, app, dnsName), appIp, "DNS resolves from the app's pod (egress to port 53)");
                console.log(`      denied: outsider → app port: ${outsider}; peer → port ${EXTRA_PORT}: ${extra}; app → outsider: ${egress}`);

                // allowFrom: the app's namespace and the other one, by its name label.
                config["stateful-apps:apps"][APP].networkPolicy = {
                    allowFrom: [{ podSelector: {} }, { namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": other } } }],
                };
                stack.writeConfig(config);
                stack.up(`netpol-${method}-allow`);
                const admitted = await takesEffect("the outsider admitted", () => getFrom(other, "outsider", appUrl) === "200");
                assert.notStrictEqual(getFrom(ns, "peer", extraUrl), "200", "the non-app port stays closed");
                console.log(`      allowFrom another namespace: the outsider admitted ${admitted}s after pulumi up returned`);

                // The opt-out: no NetworkPolicy, nothing restricted.
                config["stateful-apps:apps"][APP].networkPolicy = { enabled: false };
                stack.writeConfig(config);
                stack.up(`netpol-${method}-off`);
                assert.deepStrictEqual(kubectlJson(["get", "networkpolicy", "-n", ns]).items, [], "no NetworkPolicy once disabled");
                const open = await takesEffect("the non-app port and egress open", () =>
                    getFrom(ns, "peer", extraUrl) === "200" && getFrom(ns, app, outsiderUrl) === "200");
                console.log(`      enabled: false: the non-app port and egress open ${open}s after pulumi up returned`);
            });
        });
    }
});
