#!/usr/bin/env bash
# The end of `npm start`: shows the original lab working on the local cluster, and fails (exit 1)
# if it does not: every StatefulSet rolled out, visits through the python-app Service answered
# by its pods and counted in each pod's own file, a peer's pod DNS name resolved inside a pod.
#   cluster/lab.sh NAMESPACE [VISITS]     (KUBECONFIG must point at the cluster)
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../tools/lib.sh"
ns=${1:?usage: cluster/lab.sh NAMESPACE [VISITS]}
visits=${2:-6}
app=python-app

sts=$(kubectl get statefulset -n "$ns" -o jsonpath='{.items[*].metadata.name}')
[[ -n "$sts" ]] || die "no StatefulSet in namespace $ns: nothing is deployed"
for s in $sts; do
  kubectl rollout status "statefulset/$s" -n "$ns" --timeout=180s >/dev/null ||
    die "statefulset/$s did not become ready (kubectl describe pod -n $ns -l app.kubernetes.io/instance=$s)"
done

echo
echo "== kubectl get po,sts,svc,pvc -n $ns"
kubectl get po,sts,svc,pvc -n "$ns"

ip=$(kubectl get service "$app" -n "$ns" -o jsonpath='{.spec.clusterIP}')
port=$(kubectl get service "$app" -n "$ns" -o jsonpath='{.spec.ports[0].port}')
echo
echo "== $visits visits through the $app Service (http://$ip:$port/, from this machine)"
for ((i = 1; i <= visits; i++)); do
  page=$(curl -fsS --max-time 10 "http://$ip:$port/") || die "visit $i through http://$ip:$port/ failed"
  pod=$(grep -oE "$app-[0-9]+" <<<"$page" | head -n1)
  [[ -n "$pod" ]] || die "visit $i: the page names no $app pod"
  echo "visit $i answered by $pod"
done

echo
echo "== each pod's own count (kubectl exec <pod> -- cat /data/visits)"
pods=$(kubectl get pods -n "$ns" -l "app.kubernetes.io/instance=$app" -o jsonpath='{.items[*].metadata.name}')
for pod in $pods; do
  printf '%s: %s\n' "$pod" "$(kubectl exec -n "$ns" "$pod" -c app -- cat /data/visits)"
done

# A peer: the next replica if there is one, else the other app's first pod.
first=${pods%% *}
if [[ "$pods" == *" "* ]]; then peer="$app-1.$app-headless"; else peer="js-app-0.js-app-headless"; fi
echo
echo "== pod DNS: $peer resolved inside $first"
addr=$(kubectl exec -n "$ns" "$first" -c app -- python -c 'import socket, sys; print(socket.gethostbyname(sys.argv[1]))' "$peer") ||
  die "$peer did not resolve inside $first"
want=$(kubectl get pod -n "$ns" "${peer%%.*}" -o jsonpath='{.status.podIP}')
[[ "$addr" == "$want" ]] || die "$peer resolved to $addr, but that pod's IP is $want"
echo "$peer -> $addr (the pod IP of ${peer%%.*})"

cat <<TXT

Open the app from this machine (the Service ranges are routed onto the local node's bridge):
  curl http://$ip:$port/                 # python-app through its Service
  kubectl port-forward -n $ns svc/$app 8080:$port   # then http://127.0.0.1:8080/
TXT
