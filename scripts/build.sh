#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Build fredck out of tree in _build/ (warnings are errors, as in CI).
set -eu
cd "$(dirname "$0")/.."
# Once configured, make regenerates configure and Makefile.in by itself.
[ -x configure ] || ./autogen.sh
mkdir -p _build
cd _build
[ -f Makefile ] || ../configure --enable-werror --quiet
make -j"$(nproc)" --quiet
