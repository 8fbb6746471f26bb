#!/bin/sh
# Obtains NVIDIA's PTX assembler, ptxas, for the tests that assemble every
# generated PTX module (codegen/ptx, codegen's cuda tests), without
# installing the CUDA toolkit: Debian bookworm's non-free component is
# read through an apt source of our own (signed by the Debian archive
# keyring, lists kept in the cache, the system's apt configuration
# untouched), the nvidia-cuda-toolkit package (CUDA 11.8, about 84 MB) is
# downloaded once with apt-get download, only usr/bin/ptxas is extracted
# into the cache, and the .deb is deleted.
#
# The cache is $MODELC_PTXAS_CACHE, else $XDG_CACHE_HOME/modelc/ptxas,
# else ~/.cache/modelc/ptxas. The tests find ptxas there (or as
# $MODELC_PTXAS, or on PATH); without it they skip, or fail with CI=true.
# Needs apt-get and dpkg-deb (Debian or a derivative) and the network.
set -eu
cache=${MODELC_PTXAS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/modelc/ptxas}
if [ -x "$cache/ptxas" ] && "$cache/ptxas" --version >/dev/null 2>&1; then
	exit 0
fi
if [ -n "${MODELC_PTXAS:-}" ] || command -v ptxas >/dev/null 2>&1; then
	exit 0
fi
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
if ! command -v apt-get >/dev/null 2>&1 || ! command -v dpkg-deb >/dev/null 2>&1 || [ ! -r "$keyring" ]; then
	echo "ptxas: no apt-get, dpkg-deb or Debian archive keyring here: the PTX assembly tests will skip, or fail with CI=true"
	exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/lists/partial" "$work/cache/archives/partial" "$cache"
echo "deb [signed-by=$keyring] http://deb.debian.org/debian bookworm non-free" >"$work/sources.list"
apt="-q -o Dir::Etc::SourceList=$work/sources.list -o Dir::Etc::SourceParts=- -o Dir::State::Lists=$work/lists -o Dir::Cache=$work/cache -o Debug::NoLocking=1 -o APT::Sandbox::User=$(id -un)"
echo "ptxas: fetching nvidia-cuda-toolkit (CUDA 11.8, ~84 MB) from Debian bookworm non-free, once"
# shellcheck disable=SC2086
if ! apt-get $apt update >"$work/log" 2>&1 || ! (cd "$work" && apt-get $apt download nvidia-cuda-toolkit >>"$work/log" 2>&1); then
	cat "$work/log"
	echo "ptxas: download failed: the PTX assembly tests will skip, or fail with CI=true"
	exit 0
fi
dpkg-deb --fsys-tarfile "$work"/nvidia-cuda-toolkit_*.deb | tar -x -C "$work" ./usr/bin/ptxas
mv "$work/usr/bin/ptxas" "$cache/ptxas.tmp" && mv "$cache/ptxas.tmp" "$cache/ptxas"
"$cache/ptxas" --version | tail -1
