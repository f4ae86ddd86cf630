package dataplane

import (
	"math/bits"
	"time"
)

// Histogram layout (the same in loadgen.h): values below 2^(histSubBits+1)
// have a bucket each; above that, each power of two is cut into
// 2^histSubBits buckets, so a bucket is at most 1/128 (0.8%) of its value
// wide. Values are nanoseconds.
const (
	histSubBits = 7
	histSub     = 1 << histSubBits
	histBuckets = 64 << histSubBits
)

// Histogram is a log-linear histogram of durations, HDR style: fixed
// relative precision, constant-time Record, no allocation.
type Histogram struct {
	counts [histBuckets]uint64
	total  uint64
	max    uint64
}

func bucketOf(v uint64) int {
	if v < 2*histSub {
		return int(v)
	}
	shift := bits.Len64(v) - 1 - histSubBits
	return shift<<histSubBits + int(v>>uint(shift))
}

// bucketHigh is the largest value that lands in bucket i.
func bucketHigh(i int) uint64 {
	if i < 2*histSub {
		return uint64(i)
	}
	shift := uint(i>>histSubBits - 1)
	m := uint64(i - int(shift)<<histSubBits)
	return (m+1)<<shift - 1
}

// Record adds one value.
func (h *Histogram) Record(d time.Duration) {
	v := uint64(0)
	if d > 0 {
		v = uint64(d)
	}
	h.counts[bucketOf(v)]++
	h.total++
	if v > h.max {
		h.max = v
	}
}

// Merge adds o's values to h.
func (h *Histogram) Merge(o *Histogram) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.total += o.total
	h.max = max(h.max, o.max)
}

// Count is the number of values recorded.
func (h *Histogram) Count() uint64 { return h.total }

// Max is the largest value recorded, exactly.
func (h *Histogram) Max() time.Duration { return time.Duration(h.max) }

// Quantile returns the value at quantile q (0..1): the upper bound of the
// bucket holding it, never above Max.
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.total == 0 {
		return 0
	}
	rank := uint64(q*float64(h.total) + 0.5)
	rank = min(max(rank, 1), h.total)
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			return time.Duration(min(bucketHigh(i), h.max))
		}
	}
	return time.Duration(h.max)
}

// setCounts fills h from a bucket array (the C loop's).
func (h *Histogram) setCounts(counts []uint64, maxNs uint64) {
	h.total = 0
	for i := range h.counts {
		h.counts[i] = counts[i]
		h.total += counts[i]
	}
	h.max = maxNs
}
