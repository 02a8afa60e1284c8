#!/usr/bin/env bash
# Deploys the whole app to Minikube: builds the image inside Minikube's Docker, installs the
# chart with values-local.yaml (in-cluster PostgreSQL, Redis and Redpanda), waits, prints the URL.
#
#   scripts/deploy-local.sh                 # start Minikube if needed, build, install or upgrade
#   NAMESPACE=todo RELEASE=todo-app MINIKUBE_PROFILE=minikube scripts/deploy-local.sh
#
# Needs: minikube, kubectl, helm 3.8+ (or 4). Undo with scripts/teardown-local.sh.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
NAMESPACE="${NAMESPACE:-todo}"
RELEASE="${RELEASE:-todo-app}"
PROFILE="${MINIKUBE_PROFILE:-minikube}"
CHART="$ROOT/charts/todo-app"
TIMEOUT="${HELM_TIMEOUT:-10m}"

for tool in minikube kubectl helm; do
  command -v "$tool" >/dev/null 2>&1 || { echo "deploy-local: $tool is not installed" >&2; exit 1; }
done

if ! minikube -p "$PROFILE" status >/dev/null 2>&1; then
  echo "deploy-local: starting Minikube (4 CPUs, 8 GB) ..."
  minikube -p "$PROFILE" start --cpus=4 --memory=8g
fi
minikube -p "$PROFILE" addons enable ingress >/dev/null
minikube -p "$PROFILE" addons enable metrics-server >/dev/null

# A new tag per build: with pullPolicy Never the same tag would not roll the pods.
TAG="local-$(date +%Y%m%d%H%M%S)"
echo "deploy-local: building todo-app:$TAG inside Minikube ..."
# Minikube's own Docker when its runtime is Docker (the kubelet sees the image without a
# registry); `minikube image build` for containerd/CRI-O.
if command -v docker >/dev/null 2>&1 && docker_env="$(minikube -p "$PROFILE" docker-env --shell bash 2>/dev/null)"; then
  (eval "$docker_env" && docker build -t "todo-app:$TAG" "$ROOT")
else
  minikube -p "$PROFILE" image build -t "todo-app:$TAG" "$ROOT"
fi

echo "deploy-local: helm upgrade --install $RELEASE (namespace $NAMESPACE) ..."
helm upgrade --install "$RELEASE" "$CHART" \
  --namespace "$NAMESPACE" --create-namespace \
  -f "$CHART/values-local.yaml" \
  --set image.repository=todo-app --set image.tag="$TAG" \
  --wait --timeout "$TIMEOUT"

for component in web worker beat; do
  kubectl -n "$NAMESPACE" rollout status "deployment/$RELEASE-$component" --timeout=5m
done

IP="$(minikube -p "$PROFILE" ip)"
cat <<MSG

Todo AI Chatbot is running in Minikube (namespace $NAMESPACE, release $RELEASE).

  Open it:   kubectl -n $NAMESPACE port-forward svc/$RELEASE-web 8000:80
             then http://localhost:8000/   (health: http://localhost:8000/healthz)
  Ingress:   add "$IP todo.local" to /etc/hosts, then https://todo.local/ (self-signed certificate)
  Admin:     kubectl -n $NAMESPACE exec -it deploy/$RELEASE-web -- /app/scripts/docker-entrypoint.sh manage createsuperuser
  Remove:    scripts/teardown-local.sh
MSG
