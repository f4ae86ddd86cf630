#!/bin/sh
# licenses.sh DIR: the license texts of what the static photonctl has linked
# in, under DIR, for make install to ship (share/doc/photonctl/licenses):
#   MODULE/LICENSE...  each Go module go list -deps finds in cmd/photonctl
#                      (its LICENSE*, LICENCE*, COPYING* and NOTICE* files)
#   go/LICENSE         Go's runtime and standard library
#   musl/copyright     musl libc (Debian's musl package's copyright file)
# Most of these licenses (MIT, BSD, Apache 2.0) ask that a binary
# distribution carry them. A module without a license file is an error.
# GO is the go command (default: go).
set -eu
dest=${1:?usage: licenses.sh DIR}
GO=${GO:-go}
mkdir -p "$dest"
mods=$($GO list -deps -tags netgo,osusergo \
	-f '{{with .Module}}{{if not .Main}}{{.Path}}@{{.Dir}}{{end}}{{end}}' ./cmd/photonctl | sort -u)
for m in $mods; do
	path=${m%%@*} dir=${m#*@} found=
	for f in "$dir"/LICENSE* "$dir"/LICENCE* "$dir"/COPYING* "$dir"/NOTICE*; do
		[ -f "$f" ] || continue
		install -D -m 0644 "$f" "$dest/$path/${f##*/}"
		found=1
	done
	if [ -z "$found" ]; then
		echo "licenses.sh: module $path has no license file in $dir" >&2
		exit 1
	fi
done
install -D -m 0644 "$($GO env GOROOT)/LICENSE" "$dest/go/LICENSE"
musl=/usr/share/doc/musl/copyright
if [ ! -f "$musl" ]; then
	echo "licenses.sh: no $musl (apt-get install musl-tools, which make static needs)" >&2
	exit 1
fi
install -D -m 0644 "$musl" "$dest/musl/copyright"
