#!/bin/sh
# Installs what the test suites need beyond Go, where this machine lets
# us (Debian, as root): qemu-user-static runs the arm64 kernels and
# generated packages under emulation, binutils-aarch64-linux-gnu checks
# the arm64 encoder against GNU as, openssh-server gives the tuner's
# remote runner a real ssh target on loopback (autotune TestRunnerSSH),
# chromium renders the tuner's HTML report headless (autotune/report).
# Without them the suites that need them skip, or fail with CI=true.
set -eu
need=""
command -v qemu-aarch64-static >/dev/null 2>&1 || need="$need qemu-user-static"
command -v aarch64-linux-gnu-as >/dev/null 2>&1 || need="$need binutils-aarch64-linux-gnu"
[ -x /usr/sbin/sshd ] || need="$need openssh-server"
{ command -v chromium || command -v chromium-browser; } >/dev/null 2>&1 || need="$need chromium"
[ -z "$need" ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
	echo "tools: installing$need"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q $need >/dev/null 2>&1 ||
		{ apt-get update -q >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $need >/dev/null; }
else
	echo "tools: missing$need (not root or no apt-get): the suites that need them will skip, or fail with CI=true"
fi
