#!/usr/bin/env bash
# ansible-test sanity on a copy of the collection placed under ansible_collections/llmops/oke,
# with the local Python (no containers). Extra arguments go to ansible-test (e.g. --test pylint).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
work="${SANITY_WORKDIR:-$root/build/sanity}"
dest="$work/ansible_collections/llmops/oke"
rm -rf "$dest"
mkdir -p "$dest"
# Tracked files plus untracked ones git does not ignore: what a build would see.
(cd "$root" && git ls-files -z --cached --others --exclude-standard | tar --null -T - -cf -) | tar -xf - -C "$dest"
# ansible-test bootstraps pip in its venvs with a script from a host we cannot reach; provide ours.
pip_version="$(python -c 'import ansible_test._internal.python_requirements as r, inspect, re; print(re.search(r"pip=.([0-9.]+).", inspect.getsource(r)).group(1))')"
cached="$HOME/.ansible/test/cache/get_pip_${pip_version//./_}.py"
if ! cmp -s "$root/hack/get-pip-standin.py" "$cached"; then
  mkdir -p "$(dirname "$cached")"
  cp "$root/hack/get-pip-standin.py" "$cached"
fi
cd "$dest"
# ansible-test decides what to test from git; give the copy its own repository of the current files.
git init -q . 2>/dev/null || true
git add -A >/dev/null
exec ansible-test sanity --python 3.11 --venv --color no "$@"
