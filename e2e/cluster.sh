#!/usr/bin/env bash
# A throw-away Kubernetes cluster on loopback for the end-to-end tier: etcd,
# kube-apiserver, kube-controller-manager, kube-scheduler and kwok (one fake node, so
# pods become Ready without kubelets), with certificates made by openssl, all in one
# temp directory. The binaries come from e2e/tools/build.sh.
#
#   e2e/cluster.sh start            start; prints the kubeconfig path (the only stdout line)
#   e2e/cluster.sh stop PATH        stop the cluster whose dir or kubeconfig is PATH; rm its dir
#   e2e/cluster.sh run -- CMD...    start, run CMD with KUBECONFIG set, stop (also on failure)
#
# Nothing listens beyond 127.0.0.1; ports are picked free at start. A failed start stops
# what it started and removes its dir. Logs: <dir>/logs/*.log (printed on failure).
set -Eeuo pipefail

TOOLS="${ISTIO_CANARY_TOOLS:-$HOME/.cache/istio-canary/tools}"
BIN="$TOOLS/bin"
NODE_NAME=kwok-node-0

say() { printf '[cluster] %s\n' "$*" >&2; }

need_bins() {
  local missing=() b
  for b in etcd kube-apiserver kube-controller-manager kube-scheduler kwok; do
    [[ -x "$BIN/$b" ]] || missing+=("$b")
  done
  for b in openssl curl node; do command -v "$b" >/dev/null || missing+=("$b (PATH)"); done
  if [[ ${#missing[@]} -gt 0 ]]; then
    say "missing: ${missing[*]} (in $BIN); build them with: bash e2e/tools/build.sh"
    exit 1
  fi
}

# free_ports N: N distinct free TCP ports on 127.0.0.1, one a line.
free_ports() {
  node -e '
    const net = require("net"); const n = +process.argv[1]; const socks = [];
    (function next() {
      if (socks.length === n) { for (const s of socks) { console.log(s.address().port); s.close(); } return; }
      const s = net.createServer(); s.listen(0, "127.0.0.1", () => { socks.push(s); next(); });
    })();' "$1"
}

# all_alive: every process started so far still runs (else name the one that exited).
all_alive() {
  local pid name
  while read -r pid name; do
    kill -0 "$pid" 2>/dev/null || { say "$name exited (see $DIR/logs/$name.log)"; return 1; }
  done <"$DIR/pids"
}

# wait_for SECONDS DESCRIPTION CMD...: retry CMD every 0.2 s; give up early if a
# process exits.
wait_for() {
  local limit="$1" what="$2" t0=$SECONDS
  shift 2
  until "$@" >/dev/null 2>&1; do
    all_alive || return 1
    if ((SECONDS - t0 >= limit)); then say "timed out after ${limit} s waiting for $what"; return 1; fi
    sleep 0.2
  done
}

# --- certificates -------------------------------------------------------------------------
# sign NAME SUBJECT EXTENSIONS: NAME.key + NAME.crt signed by the cluster CA.
sign() {
  local name="$1" subj="$2" ext="$3"
  openssl req -new -newkey rsa:2048 -nodes -keyout "$name.key" -out "$name.csr" -subj "$subj" 2>/dev/null
  printf '%s\n' "$ext" >"$name.ext"
  openssl x509 -req -in "$name.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 \
    -extfile "$name.ext" -out "$name.crt" 2>/dev/null
  rm -f "$name.csr" "$name.ext"
}

make_certs() {
  local dir="$1"
  (
    cd "$dir/pki"
    openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 2 \
      -subj "/CN=istio-canary-e2e-ca" -addext "basicConstraints=critical,CA:TRUE" \
      -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
    local client="basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=clientAuth"
    sign apiserver "/CN=kube-apiserver" "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,IP:10.96.0.1"
    sign admin "/O=system:masters/CN=istio-canary-e2e-admin" "$client"
    sign controller-manager "/CN=system:kube-controller-manager" "$client"
    sign scheduler "/CN=system:kube-scheduler" "$client"
    # Service-account token signing pair.
    openssl genrsa -out sa.key 2048 2>/dev/null
    openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
    chmod 600 ./*.key
  )
}

# kubeconfig FILE USER: a kubeconfig for the pki/USER.{crt,key} client cert.
kubeconfig() {
  local file="$1" user="$2" pki="$DIR/pki"
  cat >"$file" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: istio-canary-e2e
  cluster:
    server: https://127.0.0.1:$API_PORT
    certificate-authority: $pki/ca.crt
users:
- name: $user
  user:
    client-certificate: $pki/$user.crt
    client-key: $pki/$user.key
contexts:
- name: istio-canary-e2e
  context: {cluster: istio-canary-e2e, user: $user}
current-context: istio-canary-e2e
EOF
}

# --- processes ----------------------------------------------------------------------------
# spawn NAME CMD...: run CMD in its own session, log to logs/NAME.log, record its pid.
spawn() {
  local name="$1"
  shift
  setsid "$@" >"$DIR/logs/$name.log" 2>&1 </dev/null &
  echo "$! $name" >>"$DIR/pids"
}

api() { # api PATH [curl args...]: a request to the API server as admin.
  local p="$1"
  shift
  curl -sf --cacert "$DIR/pki/ca.crt" --cert "$DIR/pki/admin.crt" --key "$DIR/pki/admin.key" \
    "https://127.0.0.1:$API_PORT$p" "$@"
}

node_ready() {
  api "/api/v1/nodes/$NODE_NAME" | node -e '
    let s = ""; process.stdin.on("data", d => s += d).on("end", () => {
      const c = (JSON.parse(s).status.conditions || []).find(c => c.type === "Ready");
      process.exit(c && c.status === "True" ? 0 : 1);
    });'
}

stop_dir() {
  local dir="$1" pid name
  [[ -d "$dir" ]] || { say "no cluster dir at $dir"; return 0; }
  [[ -f "$dir/cluster.env" ]] || { say "$dir is not a cluster dir (no cluster.env); left alone"; return 1; }
  if [[ -f "$dir/pids" ]]; then
    # Reverse start order: kwok, scheduler, controller-manager, apiserver, etcd.
    while read -r pid name; do
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -KILL "$pid" 2>/dev/null || true
    done < <(tac "$dir/pids")
  fi
  rm -rf "$dir"
  say "stopped; removed $dir"
}

start() {
  need_bins
  local t0=$SECONDS
  DIR="$(mktemp -d "${TMPDIR:-/tmp}/istio-canary-cluster.XXXXXX")"
  mkdir -p "$DIR/pki" "$DIR/logs" "$DIR/etcd"
  : >"$DIR/pids"
  # Until the cluster is up, any failure stops what started and removes the dir.
  trap 'rc=$?; say "start failed"; for f in "$DIR"/logs/*.log; do [[ -f "$f" ]] && { say "--- ${f##*/} (last lines)"; tail -n 15 "$f" >&2; }; done; stop_dir "$DIR"; exit $rc' ERR
  trap 'stop_dir "$DIR"; exit 130' INT TERM

  local ports
  mapfile -t ports < <(free_ports 4)
  ETCD_PORT=${ports[0]} ETCD_PEER_PORT=${ports[1]} API_PORT=${ports[2]} KWOK_PORT=${ports[3]}
  cat >"$DIR/cluster.env" <<EOF
DIR=$DIR
API_PORT=$API_PORT
ETCD_PORT=$ETCD_PORT
KUBECONFIG=$DIR/kubeconfig
EOF

  make_certs "$DIR"
  kubeconfig "$DIR/kubeconfig" admin
  kubeconfig "$DIR/controller-manager.kubeconfig" controller-manager
  kubeconfig "$DIR/scheduler.kubeconfig" scheduler
  say "certificates in $DIR/pki ($((SECONDS - t0)) s)"

  spawn etcd "$BIN/etcd" --name=e2e --data-dir="$DIR/etcd" \
    --listen-client-urls="http://127.0.0.1:$ETCD_PORT" --advertise-client-urls="http://127.0.0.1:$ETCD_PORT" \
    --listen-peer-urls="http://127.0.0.1:$ETCD_PEER_PORT" --initial-advertise-peer-urls="http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster="e2e=http://127.0.0.1:$ETCD_PEER_PORT" \
    --quota-backend-bytes=1073741824
  wait_for 30 "etcd on 127.0.0.1:$ETCD_PORT" curl -sf "http://127.0.0.1:$ETCD_PORT/health"
  say "etcd ready on 127.0.0.1:$ETCD_PORT ($((SECONDS - t0)) s)"

  local pki="$DIR/pki"
  spawn kube-apiserver "$BIN/kube-apiserver" \
    --etcd-servers="http://127.0.0.1:$ETCD_PORT" \
    --bind-address=127.0.0.1 --advertise-address=127.0.0.1 --secure-port="$API_PORT" \
    --cert-dir="$DIR/apiserver-certs" \
    --tls-cert-file="$pki/apiserver.crt" --tls-private-key-file="$pki/apiserver.key" \
    --client-ca-file="$pki/ca.crt" \
    --service-account-issuer=https://kubernetes.default.svc.cluster.local \
    --service-account-key-file="$pki/sa.pub" --service-account-signing-key-file="$pki/sa.key" \
    --service-cluster-ip-range=10.96.0.0/16 \
    --authorization-mode=RBAC --allow-privileged=true --profiling=false
  wait_for 90 "kube-apiserver /readyz on 127.0.0.1:$API_PORT" api /readyz
  say "kube-apiserver ready on https://127.0.0.1:$API_PORT ($((SECONDS - t0)) s)"

  spawn kube-controller-manager "$BIN/kube-controller-manager" \
    --kubeconfig="$DIR/controller-manager.kubeconfig" \
    --authentication-kubeconfig="$DIR/controller-manager.kubeconfig" \
    --authorization-kubeconfig="$DIR/controller-manager.kubeconfig" \
    --bind-address=127.0.0.1 --secure-port=0 --leader-elect=false \
    --service-account-private-key-file="$pki/sa.key" --root-ca-file="$pki/ca.crt" \
    --use-service-account-credentials=true --cluster-name=istio-canary-e2e
  spawn kube-scheduler "$BIN/kube-scheduler" \
    --kubeconfig="$DIR/scheduler.kubeconfig" \
    --authentication-kubeconfig="$DIR/scheduler.kubeconfig" \
    --authorization-kubeconfig="$DIR/scheduler.kubeconfig" \
    --bind-address=127.0.0.1 --secure-port=0 --leader-elect=false
  : >"$DIR/kwok.yaml"
  spawn kwok "$BIN/kwok" --config="$DIR/kwok.yaml" --kubeconfig="$DIR/kubeconfig" \
    --manage-all-nodes=false --manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake \
    --server-address="127.0.0.1:$KWOK_PORT" --node-ip=127.0.0.1 --cidr=10.244.0.0/24 \
    --node-lease-duration-seconds=40

  # One fake node for kwok to manage (it sets the conditions and heartbeats).
  api /api/v1/nodes -X POST -H 'Content-Type: application/json' -o /dev/null -d @- <<EOF
{"apiVersion": "v1", "kind": "Node",
 "metadata": {"name": "$NODE_NAME",
   "annotations": {"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"},
   "labels": {"type": "kwok", "kubernetes.io/hostname": "$NODE_NAME", "kubernetes.io/os": "linux",
              "kubernetes.io/arch": "amd64"}},
 "status": {"capacity": {"cpu": "32", "memory": "256Gi", "pods": "110"},
            "allocatable": {"cpu": "32", "memory": "256Gi", "pods": "110"}}}
EOF
  wait_for 60 "node $NODE_NAME Ready" node_ready
  # Pods need their namespace's default ServiceAccount (the controller-manager makes it).
  wait_for 60 "the default ServiceAccount" api /api/v1/namespaces/default/serviceaccounts/default
  trap - ERR INT TERM
  say "up in $((SECONDS - t0)) s: node $NODE_NAME Ready; stop with: $0 stop $DIR"
  echo "$DIR/kubeconfig"
}

resolve_dir() { # a cluster dir from its dir or its kubeconfig path
  local p="$1"
  [[ -d "$p" ]] && { echo "${p%/}"; return; }
  dirname "$p"
}

case "${1:-}" in
start) start ;;
stop)
  [[ -n "${2:-}" ]] || { say "usage: $0 stop DIR|KUBECONFIG"; exit 2; }
  stop_dir "$(resolve_dir "$2")"
  ;;
run)
  shift
  [[ "${1:-}" == "--" ]] && shift
  [[ $# -gt 0 ]] || { say "usage: $0 run -- CMD..."; exit 2; }
  kc="$(start)"
  dir="$(dirname "$kc")"
  trap 'stop_dir "$dir"' EXIT
  trap 'exit 130' INT TERM
  KUBECONFIG="$kc" "$@"
  ;;
*)
  sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
  ;;
esac
