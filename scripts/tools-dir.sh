#!/usr/bin/env bash
# Sourced by the provision scripts: makes sure "$root/.tools" exists. On a fresh clone it becomes a
# link to one cache per machine (SWITCHBOARD_TOOLS_CACHE, default ~/.cache/switchboard-tools), so
# what a provision script builds once (Node, FerretDB, the Python venv) serves every clone and CI run.
# Everything inside is keyed by version, so an older entry is never mistaken for the pinned one.
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools="$root/.tools"
if [[ ! -e "$tools" ]]; then
  cache="${SWITCHBOARD_TOOLS_CACHE:-$HOME/.cache/switchboard-tools}"
  mkdir -p "$cache"
  ln -s "$cache" "$tools"
fi
mkdir -p "$tools/bin"
