#!/usr/bin/env bash
# pack.sh: rebuild backend.tar.xz from a checkout of the ONNX backend data
# (see README.md). Usage: pack.sh BACKEND_DIR LIGHT_DIR
#   BACKEND_DIR  onnx/backend/test/data at the commit (node/, pytorch-converted/,
#                pytorch-operator/, simple/)
#   LIGHT_DIR    a folder holding the five test_light_<model>/ folders laid out
#                as README.md describes
# The archive is reproducible: files in byte order of their paths, owner 0,
# one fixed mtime, xz preset 9e with a dictionary that spans the whole tar
# (so the *_expanded tests, which repeat their base test's data, cost
# almost nothing).
set -euo pipefail
backend=$(cd "$1" && pwd)
light=$(cd "$2" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
for d in node pytorch-converted pytorch-operator simple; do
	cp -r "$backend/$d" "$stage/$d"
done
mkdir "$stage/light"
for m in densenet121 resnet50 shufflenet squeezenet vgg19; do
	cp -r "$light/test_light_$m" "$stage/light/"
done
cp "$backend/LICENSE" "$stage/LICENSE"
(cd "$stage" && find . -type f | sed 's|^\./||' | LC_ALL=C sort |
	tar --owner=0 --group=0 --numeric-owner --mode=a+r,u+w,go-w --mtime=2026-08-04 -cf - -T -) |
	xz -T1 --format=xz --check=crc64 --lzma2=preset=9e,dict=32MiB >"$here/backend.tar.xz"
ls -l "$here/backend.tar.xz"
