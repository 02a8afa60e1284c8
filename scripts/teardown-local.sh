#!/usr/bin/env bash
# Removes what scripts/deploy-local.sh installed: the Helm release and its namespace (with the
# in-cluster PostgreSQL and Redpanda volumes). --delete-cluster also deletes the Minikube cluster.
#
#   scripts/teardown-local.sh [--delete-cluster]
set -euo pipefail

NAMESPACE="${NAMESPACE:-todo}"
RELEASE="${RELEASE:-todo-app}"
PROFILE="${MINIKUBE_PROFILE:-minikube}"
DELETE_CLUSTER=false

for arg in "$@"; do
  case "$arg" in
    --delete-cluster) DELETE_CLUSTER=true ;;
    -h|--help) sed -n '2,6p' "$0"; exit 0 ;;
    *) echo "teardown-local: unknown argument $arg" >&2; exit 2 ;;
  esac
done

if helm status "$RELEASE" --namespace "$NAMESPACE" >/dev/null 2>&1; then
  helm uninstall "$RELEASE" --namespace "$NAMESPACE" --wait
else
  echo "teardown-local: no release $RELEASE in namespace $NAMESPACE"
fi
# StatefulSet volumes (PVCs) and leftover hook objects are not removed by `helm uninstall`.
kubectl delete namespace "$NAMESPACE" --ignore-not-found --wait=true

if [ "$DELETE_CLUSTER" = true ]; then
  minikube -p "$PROFILE" delete
fi
echo "teardown-local: done."
