#!/usr/bin/env bash
# Commit a generated notebooks tree (book/_ext/dlbook_notebooks.py --branch-tree DIR) to a branch
# of `origin` and push it. The branch keeps its history; nothing is pushed when nothing changed.
# Usage: .ci/publish_notebooks.sh DIR BRANCH
set -euo pipefail
tree=$(cd "$1" && pwd)
branch=$2
source_commit=$(git rev-parse --short HEAD)
work=$(mktemp -d)
trap 'git worktree remove --force "$work" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

git config user.name >/dev/null || git config user.name "github-actions[bot]"
git config user.email >/dev/null || git config user.email "41898282+github-actions[bot]@users.noreply.github.com"

if git ls-remote --exit-code --heads origin "$branch" >/dev/null 2>&1; then
  git fetch --quiet origin "$branch"
  git worktree add --quiet --detach "$work" FETCH_HEAD
else
  git worktree add --quiet --detach "$work"
  git -C "$work" checkout --quiet --orphan "$branch"
fi
git -C "$work" rm -r --quiet --force --ignore-unmatch . >/dev/null
cp -a "$tree"/. "$work"/
git -C "$work" add --all
if git -C "$work" diff --cached --quiet; then
  echo "notebooks branch '$branch' is already up to date"
  exit 0
fi
git -C "$work" commit --quiet -m "Notebooks generated from $source_commit"
git -C "$work" push --quiet origin "HEAD:refs/heads/$branch"
echo "pushed $(git -C "$work" ls-files '*.ipynb' | wc -l) notebooks to '$branch' (from $source_commit)"
