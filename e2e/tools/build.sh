#!/usr/bin/env bash
# Builds the end-to-end tier's tools from Go modules (the Go module proxy, the ordinary
# `go` client) and Debian packages into a cache outside the work tree:
#
#   ${ISTIO_CANARY_TOOLS:-$HOME/.cache/istio-canary/tools}/bin/     the binaries
#   ${ISTIO_CANARY_TOOLS:-$HOME/.cache/istio-canary/tools}/stamps/  one stamp per tool
#   ${ISTIO_CANARY_TOOLS:-$HOME/.cache/istio-canary/tools}/pulumi-home/plugins/...
#
# Idempotent: a tool whose stamp matches (pinned version + sha256 of its wrapper
# module's go.mod, go.sum and *.go) and whose binaries exist is skipped. A changed pin
# or wrapper rebuilds it. Builds run one at a time under `nice -n 19` (2 shared cores).
#
# Usage: e2e/tools/build.sh [TOOL...]    (default: all, in the order below)
#        e2e/tools/build.sh --list        print the tools and their pins
# Prints what it builds, the seconds each took, and a summary line. Exit 1 if any failed.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
TOOLS="${ISTIO_CANARY_TOOLS:-$HOME/.cache/istio-canary/tools}"
BIN="$TOOLS/bin"
STAMPS="$TOOLS/stamps"
# The engine looks for plugins in $PULUMI_HOME/plugins; e2e runs use this PULUMI_HOME.
PULUMI_HOME_DIR="$TOOLS/pulumi-home"
mkdir -p "$BIN" "$STAMPS" "$PULUMI_HOME_DIR/plugins"

export GOFLAGS="${GOFLAGS:--buildvcs=false}"
export GOTOOLCHAIN="${GOTOOLCHAIN:-local}"
NICE=(nice -n 19)

# ---- pins (see e2e/tools/README.md for where each comes from) -------------------------
PULUMI_VERSION=v3.248.0                      # = package.json's @pulumi/pulumi
# pulumi-language-nodejs: wanted at the commit of tag pkg/v3.248.0, i.e.
# github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3@v3.0.0-20260624180030-dc7edd58bc13;
# the module proxy reachable here serves no version of that module (see build_nodejs_host).
NODEJS_HOST_MODULE=github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3
NODEJS_HOST_VERSION=v3.0.0-20260624180030-dc7edd58bc13
# The provider's version as built (the commit of tag v4.25.0: the only one served; see
# kubernetes-provider/go.mod). package.json's @pulumi/kubernetes is 4.34.2.
K8S_PROVIDER_VERSION=4.25.0
K8S_VERSION=v1.33.13                         # k8s.io/kubernetes; staging modules v0.33.13
KWOK_VERSION=v0.7.0
ISTIO_VERSION=1.28.2                         # tag 1.28.2's commit; see istioctl/go.mod
ISTIO_COMMIT=ab413ac6c1f4

# ---- helpers ---------------------------------------------------------------------------
log() { printf '[tools] %s\n' "$*"; }

# wrapper_hash DIR: sha256 over the wrapper module's go.mod, go.sum and *.go files.
wrapper_hash() {
  local dir="$1"
  (cd "$dir" && ls go.mod go.sum *.go 2>/dev/null | LC_ALL=C sort | xargs sha256sum) |
    sha256sum | cut -c1-16
}

# up_to_date NAME STAMPTEXT FILE...: the stamp matches and every file exists.
up_to_date() {
  local name="$1" want="$2"
  shift 2
  [[ -f "$STAMPS/$name" && "$(cat "$STAMPS/$name")" == "$want" ]] || return 1
  local f
  for f in "$@"; do [[ -x "$f" ]] || return 1; done
}

gobuild() { # gobuild WRAPPERDIR OUT PKG [go build flags...]
  local dir="$1" out="$2" pkg="$3"
  shift 3
  (cd "$dir" && "${NICE[@]}" go build -trimpath "$@" -o "$out.tmp" "$pkg" && mv -f "$out.tmp" "$out")
}

# ---- tools -----------------------------------------------------------------------------
# Each tool is: stamp_<t> (prints the stamp text), outputs_<t> (prints the files it
# makes), build_<t> (builds them).

stamp_pulumi() { echo "pulumi $PULUMI_VERSION $(wrapper_hash "$HERE/pulumi")"; }
outputs_pulumi() { echo "$BIN/pulumi"; }
build_pulumi() {
  gobuild "$HERE/pulumi" "$BIN/pulumi" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi \
    -tags osusergo,grpcnotrace \
    -ldflags "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$PULUMI_VERSION"
  local v
  v="$(PULUMI_SKIP_UPDATE_CHECK=true PULUMI_HOME="$PULUMI_HOME_DIR" "$BIN/pulumi" version)"
  [[ "$v" == "$PULUMI_VERSION" ]] || { log "pulumi version printed '$v', want $PULUMI_VERSION"; return 1; }
}

# The Node.js language host. The real one is not buildable here: the module proxy answers
# "not available" for every version of its module (its list too); `build.sh nodejs_host`
# re-checks that and fails while it holds. Without a host the CLI cannot run a
# `runtime: nodejs` project by itself (the Automation API's inline programs serve the
# language runtime from the Node process and need none), so language_nodejs below builds
# our own stand-in under the same binary name.
stamp_nodejs_host() { echo "pulumi-language-nodejs $NODEJS_HOST_VERSION"; }
outputs_nodejs_host() { echo "$BIN/pulumi-language-nodejs"; }
build_nodejs_host() {
  local out
  if out="$(cd "$HERE/pulumi" && GOFLAGS=-mod=mod go list -m -json "$NODEJS_HOST_MODULE@$NODEJS_HOST_VERSION" 2>&1)"; then
    log "nodejs_host: the proxy now serves $NODEJS_HOST_MODULE@$NODEJS_HOST_VERSION:"
    log "  a wrapper module for it (require it, pkg/v3 and sdk/v3 at $PULUMI_VERSION) could replace language_nodejs"
  else
    log "nodejs_host: UNAVAILABLE: $(echo "$out" | grep -m1 -oE '[0-9]{3} [A-Za-z ]+|not available.*' || echo "$out" | head -1)"
    log "  $NODEJS_HOST_MODULE@$NODEJS_HOST_VERSION is not served by the Go module proxy here;"
    log "  language_nodejs (our stand-in, e2e/tools/language-nodejs) is installed as bin/pulumi-language-nodejs instead."
  fi
  return 1
}

# Our stand-in for the Node.js language host (e2e/tools/language-nodejs/main.go): the
# LanguageRuntime service from the Pulumi Go SDK's protobuf definitions at the CLI's
# version, running @pulumi/pulumi's own cmd/run and cmd/run-policy-pack with node.
stamp_language_nodejs() { echo "pulumi-language-nodejs (istio-canary stand-in) $PULUMI_VERSION $(wrapper_hash "$HERE/language-nodejs")"; }
outputs_language_nodejs() { echo "$BIN/pulumi-language-nodejs"; }
build_language_nodejs() {
  gobuild "$HERE/language-nodejs" "$BIN/pulumi-language-nodejs" . \
    -ldflags "-X main.version=${PULUMI_VERSION#v}"
}

# The Kubernetes provider plugin. Built in a staging copy of the wrapper under the
# cache, beside the two embed files that the provider's own generate.go writes from the
# schema.json and terraform-mapping.json in the module zip (the committed cmd main embeds
# generated files the zip lacks). Installed on PATH (bin/) and in the plugin cache under
# its own version; see kubernetes-provider/go.mod and the README for how the engine
# picks it.
stamp_kubernetes_provider() { echo "pulumi-resource-kubernetes $K8S_PROVIDER_VERSION $(wrapper_hash "$HERE/kubernetes-provider")"; }
outputs_kubernetes_provider() {
  echo "$BIN/pulumi-resource-kubernetes"
  echo "$PULUMI_HOME_DIR/plugins/resource-kubernetes-v$K8S_PROVIDER_VERSION/pulumi-resource-kubernetes"
}
build_kubernetes_provider() {
  local stage="$TOOLS/src/kubernetes-provider" moddir plugdir
  rm -rf "$stage" && mkdir -p "$stage"
  cp "$HERE/kubernetes-provider/"{go.mod,go.sum,main.go} "$stage/"
  (cd "$stage" && go mod download github.com/pulumi/pulumi-kubernetes/provider/v4)
  moddir="$(cd "$stage" && go list -m -f '{{.Dir}}' github.com/pulumi/pulumi-kubernetes/provider/v4)"
  cp "$moddir/cmd/pulumi-resource-kubernetes/"{schema.json,terraform-mapping.json,generate.go} "$stage/"
  chmod u+w "$stage"/*
  (cd "$stage" && VERSION="$K8S_PROVIDER_VERSION" "${NICE[@]}" go run generate.go)
  rm -f "$stage/generate.go" "$stage/schema.json" "$stage/terraform-mapping.json"
  gobuild "$stage" "$BIN/pulumi-resource-kubernetes" . \
    -ldflags "-X github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version=$K8S_PROVIDER_VERSION"
  # The plugin cache: $PULUMI_HOME/plugins/<kind>-<name>-v<version>/ holding the
  # executable, and no <dir>.partial beside it (the loader skips a dir with one; .lock
  # is only held while installing).
  plugdir="$PULUMI_HOME_DIR/plugins/resource-kubernetes-v$K8S_PROVIDER_VERSION"
  mkdir -p "$plugdir"
  rm -f "$plugdir.partial" "$plugdir.lock"
  # A hard link where it can be (the binary is ~440 MB), else a copy.
  ln -f "$BIN/pulumi-resource-kubernetes" "$plugdir/pulumi-resource-kubernetes" 2>/dev/null ||
    cp -f "$BIN/pulumi-resource-kubernetes" "$plugdir/pulumi-resource-kubernetes"
}

# kube-apiserver, kube-controller-manager, kube-scheduler (kwok does not schedule pods)
# and kubectl from k8s.io/kubernetes.
stamp_kubernetes() { echo "kubernetes $K8S_VERSION $(wrapper_hash "$HERE/kubernetes")"; }
outputs_kubernetes() { printf "$BIN/%s\n" kube-apiserver kube-controller-manager kube-scheduler kubectl; }
build_kubernetes() {
  local v="${K8S_VERSION#v}" ld="" pkg
  local major="${v%%.*}" minor
  minor="${v#*.}" && minor="${minor%%.*}"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ld+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
    ld+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
  done
  local cmd
  for cmd in kube-apiserver kube-controller-manager kube-scheduler kubectl; do
    local t0=$SECONDS
    CGO_ENABLED=0 gobuild "$HERE/kubernetes" "$BIN/$cmd" "k8s.io/kubernetes/cmd/$cmd" -ldflags "$ld"
    log "  kubernetes: $cmd built in $((SECONDS - t0)) s"
  done
  "$BIN/kube-apiserver" --version
}

# etcd from Debian's etcd-server (bookworm: 3.4.23), installed with apt-get when missing
# (as root, like CI). Its init/systemd units are not used: cluster.sh runs etcd itself.
etcd_pkg_version() { dpkg-query -W -f '${Version}' etcd-server 2>/dev/null || true; }
stamp_etcd() { echo "etcd-server $(etcd_pkg_version)"; }
outputs_etcd() { echo "$BIN/etcd"; }
build_etcd() {
  if [[ -z "$(etcd_pkg_version)" || ! -x /usr/bin/etcd ]]; then
    command -v apt-get >/dev/null || { log "etcd: no apt-get; install etcd 3.4+ and link it to $BIN/etcd"; return 1; }
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends etcd-server >/dev/null
    # The package's service may have been started by its postinst; this tier runs its own.
    if command -v systemctl >/dev/null; then systemctl stop etcd >/dev/null 2>&1 || true; fi
  fi
  ln -sfn /usr/bin/etcd "$BIN/etcd"
  local v
  v="$("$BIN/etcd" --version)"
  log "  ${v%%$'\n'*}"
}
# The stamp of etcd names the installed package; recompute it after installing.
restamp_etcd() { stamp_etcd; }

stamp_kwok() { echo "kwok $KWOK_VERSION $(wrapper_hash "$HERE/kwok")"; }
outputs_kwok() { printf '%s\n' "$BIN/kwok" "$BIN/kwokctl"; }
build_kwok() {
  local cmd
  for cmd in kwok kwokctl; do
    local t0=$SECONDS
    CGO_ENABLED=0 gobuild "$HERE/kwok" "$BIN/$cmd" "sigs.k8s.io/kwok/cmd/$cmd" \
      -ldflags "-X sigs.k8s.io/kwok/pkg/consts.Version=${KWOK_VERSION#v}"
    log "  kwok: $cmd built in $((SECONDS - t0)) s"
  done
}

stamp_istioctl() { echo "istioctl $ISTIO_VERSION $(wrapper_hash "$HERE/istioctl")"; }
outputs_istioctl() { echo "$BIN/istioctl"; }
build_istioctl() {
  local p=istio.io/istio/pkg/version
  CGO_ENABLED=0 gobuild "$HERE/istioctl" "$BIN/istioctl" istio.io/istio/istioctl/cmd/istioctl \
    -ldflags "-X $p.buildVersion=$ISTIO_VERSION -X $p.buildGitRevision=$ISTIO_COMMIT -X $p.buildStatus=Clean -X $p.buildTag=$ISTIO_VERSION -X $p.buildHub=docker.io/istio"
  "$BIN/istioctl" version --remote=false
}

# Built by default, in this order. nodejs_host (the real host) is left out (it cannot be
# built here) but is always reported; name it to try it.
ALL_TOOLS=(pulumi language_nodejs kubernetes_provider kubernetes etcd kwok istioctl)

# ---- main ------------------------------------------------------------------------------
if [[ "${1:-}" == "--list" ]]; then
  for t in "${ALL_TOOLS[@]}"; do echo "$t: $(stamp_$t)"; done
  exit 0
fi
selected=("$@")
[[ ${#selected[@]} -gt 0 ]] || selected=("${ALL_TOOLS[@]}")

command -v go >/dev/null || { log "go is not on PATH: install Go >= 1.25"; exit 1; }
log "cache: $TOOLS ($(go version | cut -d' ' -f3))"
built=0 skipped=0 failed=0 failed_names=() t_all=$SECONDS
for t in "${selected[@]}"; do
  declare -F "build_$t" >/dev/null || { log "unknown tool: $t (see --list)"; exit 2; }
  want="$(stamp_$t)"
  mapfile -t outs < <(outputs_$t)
  if up_to_date "$t" "$want" "${outs[@]}"; then
    log "$t: up to date ($want)"
    skipped=$((skipped + 1))
    continue
  fi
  log "$t: building ($want)"
  t0=$SECONDS
  rm -f "$STAMPS/$t"
  # In a subshell outside any `if`, so that set -e stops a build at its first failing
  # step (bash ignores -e inside a function called as an `if` condition).
  set +e
  (set -e; build_$t)
  rc=$?
  set -e
  if [[ $rc -eq 0 ]]; then
    if declare -F "restamp_$t" >/dev/null; then want="$(restamp_$t)"; fi
    echo "$want" >"$STAMPS/$t"
    log "$t: built in $((SECONDS - t0)) s"
    built=$((built + 1))
  else
    log "$t: FAILED after $((SECONDS - t0)) s"
    failed=$((failed + 1))
    failed_names+=("$t")
  fi
done
if [[ " ${selected[*]} " != *" nodejs_host "* ]]; then
  log "not built: nodejs_host (the real pulumi-language-nodejs; the module proxy here does not serve $NODEJS_HOST_MODULE; run '$0 nodejs_host' to retry); bin/pulumi-language-nodejs is our stand-in (language_nodejs)"
fi
log "summary: $built built, $skipped up to date, $failed failed${failed_names:+ (${failed_names[*]})} in $((SECONDS - t_all)) s; bin: $BIN"
[[ $failed -eq 0 ]]
