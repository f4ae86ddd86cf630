package grub

import (
	"testing"

	"github.com/photonctl/photonctl/pkg/fixture"
)

func benchSources(b *testing.B) []Source {
	h := fixture.Host(b, "grub-ubuntu2204")
	srcs, err := readSources(h, true)
	if err != nil {
		b.Fatal(err)
	}
	return srcs
}

func BenchmarkParse(b *testing.B) {
	data := benchSources(b)[0].Data
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := Parse(data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEditArgs(b *testing.B) {
	srcs := benchSources(b)
	for b.Loop() {
		if _, err := EditArgs(srcs, CmdlineVar, []string{"intel_iommu=on", "iommu=pt", "pci=realloc"}, nil); err != nil {
			b.Fatal(err)
		}
	}
}
