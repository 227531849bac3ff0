#!/usr/bin/env bash
# The whole test suite: installs what the tests need when it is missing, then
# runs vet, the race detector on the concurrent packages, and every test
# (unit, privileged, end-to-end with the AWS CLI and aws-sdk-go-v2).
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v nft >/dev/null 2>&1 || need_apt+=(nftables)
[ -x /usr/bin/aws ] || need_apt+=(awscli)
command -v ip >/dev/null 2>&1 || need_apt+=(iproute2)
command -v node >/dev/null 2>&1 || need_apt+=(nodejs)
command -v npm >/dev/null 2>&1 || need_apt+=(npm)
command -v unzip >/dev/null 2>&1 || need_apt+=(unzip)
command -v zip >/dev/null 2>&1 || need_apt+=(zip)
# The database instance of the RDS tutorial's end-to-end test; Debian keeps
# the server's binaries off PATH.
compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null || need_apt+=(postgresql)
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "== installing Debian packages: ${need_apt[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
  else
    echo "== missing Debian packages (run as root to install): ${need_apt[*]}" >&2
  fi
fi

export LAMBDAPLANE_SDK_DIR="${LAMBDAPLANE_SDK_DIR:-$HOME/.cache/lambdaplane/sdk}"
echo "== SDKs for function code in $LAMBDAPLANE_SDK_DIR"
scripts/install-sdks.sh "$LAMBDAPLANE_SDK_DIR"

echo "== go mod download"
go mod download

echo "== gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
  echo "gofmt would change: $unformatted" >&2
  exit 1
fi

echo "== go vet"
go vet ./...

echo "== go test -race (concurrent packages)"
go test -race -count=1 ./internal/store/... ./internal/gateway/... ./internal/iam/... ./internal/lambda/... ./internal/sandbox/... ./internal/ec2/... ./internal/netplane/... ./internal/netctl/...

echo "== go test (everything, including fuzz seed corpora and end-to-end)"
go test -count=1 ./...
