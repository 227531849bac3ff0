#!/usr/bin/env bash
# install-sdks.sh SDK_DIR
#
# Puts the AWS SDKs that Lambda's managed runtimes ship where lambdaplane
# adds them to functions' load paths (internal/sandbox/runtimes):
#   SDK_DIR/node/node_modules  AWS SDK for JavaScript v3 clients (nodejs18.x and later)
#   SDK_DIR/python             boto3 and its dependencies, for Python 3.10 and later,
#                              linked from the default python3's installation
#   SDK_DIR/python-legacy      an older boto3 that still imports on Python 3.8 and 3.9
#                              (Debian's python3-boto3), made only when such a Python exists
# Safe to run again: what is already in place is kept. Exits non-zero on failure.
set -euo pipefail

if [[ $# -ne 1 ]]; then
	echo "usage: $0 SDK_DIR" >&2
	exit 2
fi
mkdir -p "$1"
SDK_DIR=$(cd "$1" && pwd)

say() { echo "install-sdks: $*"; }
fail() {
	echo "install-sdks: error: $*" >&2
	exit 1
}

# ---- AWS SDK for JavaScript v3 ------------------------------------------------

# Pinned so that every machine gets the same clients.
NODE_PACKAGES=(
	@aws-sdk/client-lambda@3.1162.0
	@aws-sdk/client-s3@3.1169.0
	@aws-sdk/client-dynamodb@3.1162.0
	@aws-sdk/client-sts@3.1169.0
	@aws-sdk/client-ec2@3.1169.0
	@aws-sdk/client-iam@3.1169.0
	@aws-sdk/client-sqs@3.1169.0
	@aws-sdk/client-sns@3.1169.0
	@aws-sdk/client-cloudwatch-logs@3.1169.0
	@aws-sdk/client-secrets-manager@3.1162.0
	@aws-sdk/client-ssm@3.1169.0
)

node_dir=$SDK_DIR/node
installed_version() {
	local pj=$node_dir/node_modules/$1/package.json
	[[ -f $pj ]] && node -p "require(process.argv[1]).version" "$pj" 2>/dev/null
}

missing=()
for spec in "${NODE_PACKAGES[@]}"; do
	name=${spec%@*}
	version=${spec##*@}
	if [[ $(installed_version "$name" || true) != "$version" ]]; then
		missing+=("$spec")
	fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
	say "node: ${#NODE_PACKAGES[@]} @aws-sdk clients already in $node_dir/node_modules"
else
	command -v npm >/dev/null || fail "npm is not on PATH"
	# Fail early and clearly when the registry cannot be reached.
	npm view "${missing[0]}" version >/dev/null 2>&1 || fail "the npm registry does not answer for ${missing[0]}"
	mkdir -p "$node_dir"
	say "node: installing ${missing[*]} into $node_dir"
	npm install --prefix "$node_dir" --no-audit --no-fund --loglevel=error "${NODE_PACKAGES[@]}"
fi
NODE_PATH=$node_dir/node_modules node -e "require('@aws-sdk/client-s3'); require('@aws-sdk/client-lambda')" ||
	fail "the installed JavaScript SDK does not load"
say "node: AWS SDK for JavaScript v3 loads from $node_dir/node_modules"

# ---- boto3 ----------------------------------------------------------------------

# The packages boto3 needs at run time; six is a single module file.
PY_MODULES=(boto3 botocore s3transfer jmespath dateutil urllib3 six)
# Debian's botocore uses the system requests instead of a vendored copy.
PY_LEGACY_MODULES=("${PY_MODULES[@]}" requests certifi idna charset_normalizer chardet)

# link_modules PYTHON DEST MODULE...: links PYTHON's installed copy of each
# MODULE into DEST.
link_modules() {
	local python=$1 dest=$2 paths
	shift 2
	paths=$("$python" - "$@" <<-'EOF'
		import importlib, os, sys
		for name in sys.argv[1:]:
		    m = importlib.import_module(name)
		    f = m.__file__
		    print(os.path.dirname(f) if os.path.basename(f) == "__init__.py" else f)
	EOF
	) || fail "$python cannot import all of: $*"
	mkdir -p "$dest"
	local p
	while IFS= read -r p; do
		ln -sfn "$p" "$dest/$(basename "$p")"
	done <<<"$paths"
}

python=$(command -v python3) || fail "python3 is not on PATH"
# Through a pyenv shim, sys.executable names the real interpreter.
python=$("$python" -c 'import sys; print(sys.executable)')
link_modules "$python" "$SDK_DIR/python" "${PY_MODULES[@]}"
PYTHONPATH=$SDK_DIR/python "$python" -c 'import boto3' || fail "boto3 in $SDK_DIR/python does not import"
say "python: $("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')'s boto3 $(PYTHONPATH=$SDK_DIR/python "$python" -c 'import boto3; print(boto3.__version__)') linked into $SDK_DIR/python"

# Current botocore and urllib3 no longer import on Python 3.8 and 3.9, and
# PyPI cannot be reached here, so those versions get Debian's older boto3.
legacy_pythons=()
for v in 3.8 3.9; do
	# pyenv shims are skipped: they run only the versions pyenv has selected.
	for p in "${PYENV_ROOT:-$HOME/.pyenv}"/versions/$v.*/bin/python$v /usr/bin/python$v /usr/local/bin/python$v "$(command -v python$v || true)"; do
		if [[ -n $p && -x $p && $p != */shims/* ]]; then
			legacy_pythons+=("$p")
			break
		fi
	done
done
if [[ ${#legacy_pythons[@]} -eq 0 ]]; then
	say "python-legacy: no Python 3.8 or 3.9 found; skipped"
else
	debian=/usr/lib/python3/dist-packages
	if [[ ! -d $debian/boto3 ]]; then
		command -v apt-get >/dev/null || fail "python3-boto3 is needed for Python 3.8/3.9 and apt-get is not available"
		[[ $(id -u) -eq 0 ]] || fail "python3-boto3 is needed for Python 3.8/3.9: run as root or apt-get install python3-boto3"
		say "python-legacy: installing Debian's python3-boto3"
		if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-boto3 >/dev/null; then
			apt-get update -qq >/dev/null
			DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-boto3 >/dev/null
		fi
	fi
	link_modules /usr/bin/python3 "$SDK_DIR/python-legacy" "${PY_LEGACY_MODULES[@]}"
	for p in "${legacy_pythons[@]}"; do
		PYTHONPATH=$SDK_DIR/python-legacy "$p" -c 'import boto3' ||
			fail "boto3 in $SDK_DIR/python-legacy does not import on $p"
	done
	say "python-legacy: Debian's boto3 $(PYTHONPATH=$SDK_DIR/python-legacy /usr/bin/python3 -c 'import boto3; print(boto3.__version__)') linked into $SDK_DIR/python-legacy for ${legacy_pythons[*]}"
fi
