#!/bin/sh
# version.sh FIELD: one field of photonctl's version stamp, from the git tree
# the current folder is in (make build, static, install and package call it).
#
#   version     semantic version from git describe: v1.2.3 on a tag,
#               v1.2.3-4-gCOMMIT 4 commits after it, v0.0.0-N-gCOMMIT when
#               no v* tag exists yet (N commits in all); COMMIT has 12 digits
#   commit      the full commit hash
#   dirty       true when tracked files have uncommitted changes, else false
#   date        the build time, RFC 3339 UTC (SOURCE_DATE_EPOCH if set)
#   pkgversion  the version as .deb and .rpm want it, sorting after the tag:
#               no leading v, -4-gCOMMIT as +4.gCOMMIT, a pre-release's - as ~
#               (1.2.3-rc1 -> 1.2.3~rc1), and .dirty or +dirty when dirty;
#               STAMP_VERSION and STAMP_DIRTY, when set, are the version and
#               dirty flag it starts from (make VERSION=v1.2.3 package)
#
# Outside a git tree: v0.0.0-unknown, unknown, false.
set -eu
field=${1:?usage: version.sh version|commit|dirty|date|pkgversion}

in_git() { git rev-parse --verify -q HEAD >/dev/null 2>&1; }

version() {
	if ! in_git; then echo v0.0.0-unknown; return; fi
	git describe --tags --match 'v[0-9]*.[0-9]*.[0-9]*' --abbrev=12 HEAD 2>/dev/null ||
		echo "v0.0.0-$(git rev-list --count HEAD)-g$(git rev-parse --short=12 HEAD)"
}

dirty() {
	if in_git && [ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]; then
		echo true
	else
		echo false
	fi
}

case $field in
version) version ;;
commit) if in_git; then git rev-parse HEAD; else echo unknown; fi ;;
dirty) dirty ;;
date)
	if [ -n "${SOURCE_DATE_EPOCH:-}" ]; then
		date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%dT%H:%M:%SZ
	else
		date -u +%Y-%m-%dT%H:%M:%SZ
	fi
	;;
pkgversion)
	v=$(echo "${STAMP_VERSION:-$(version)}" | sed -e 's/^v//' -e 's/-\([0-9][0-9]*\)-g\([0-9a-f]*\)$/+\1.g\2/')
	base=${v%%+*}
	meta=${v#"$base"}
	base=$(echo "$base" | tr - '~')
	v=$base$meta
	if [ "${STAMP_DIRTY:-$(dirty)}" = true ]; then
		case $v in *+*) v=$v.dirty ;; *) v=$v+dirty ;; esac
	fi
	echo "$v"
	;;
*)
	echo "version.sh: unknown field $field; give version, commit, dirty, date or pkgversion" >&2
	exit 2
	;;
esac
