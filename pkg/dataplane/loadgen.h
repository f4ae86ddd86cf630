/* loadgen.h: the bench client's loop: many connections on one thread with
 * epoll, every byte returned checked, round trips in a log-linear histogram.
 * Go calls new, run (blocking, in its own thread), phase, stats, hist, free. */
#ifndef PHOTONCTL_LOADGEN_H
#define PHOTONCTL_LOADGEN_H

#include <stdint.h>

/* Histogram layout, shared with hist.go: values below 2^(SUB_BITS+1) have a
 * bucket each; above, each power of two has 2^SUB_BITS buckets. */
#define PC_HIST_SUB_BITS 7
#define PC_HIST_BUCKETS (64 << PC_HIST_SUB_BITS)

#define PC_LG_PINGPONG 0
#define PC_LG_STREAMING 1

#define PC_LG_WARMUP 0
#define PC_LG_MEASURE 1
#define PC_LG_STOP 2

typedef struct pc_lg_stats {
	uint64_t connected;    /* connections established */
	uint64_t messages;     /* messages echoed back whole, all phases */
	uint64_t measured;     /* of which completed while measuring */
	uint64_t bytes_out;    /* bytes sent, all phases */
	uint64_t bytes_in;     /* bytes received, all phases */
	uint64_t measured_out; /* bytes sent while measuring */
	uint64_t measured_in;  /* bytes received while measuring */
	uint64_t mismatched;   /* bytes received that differ from what was sent */
	uint64_t conn_errors;  /* connections lost (refused, reset, closed) */
	uint64_t unanswered;   /* bytes sent and never echoed (after a 2 s drain) */
	uint64_t window_ns;    /* length of the measured window */
	int64_t first_errno;   /* errno of the first lost connection (0: EOF) */
	int64_t first_mismatch_conn;
	uint64_t first_mismatch_off;
} pc_lg_stats;

typedef struct pc_lg pc_lg;

/* pc_lg_new connects conns connections to addr (4 bytes for AF_INET, 16 for
 * AF_INET6, scope the interface index of a link-local address, else 0). */
pc_lg *pc_lg_new(int family, const unsigned char *addr, unsigned int scope, int port, int conns, int size, int mode,
		 int *err, const char **what);
int pc_lg_run(pc_lg *g);
void pc_lg_phase(pc_lg *g, int phase);
void pc_lg_stats_read(pc_lg *g, pc_lg_stats *out);
/* pc_lg_hist copies the round-trip histogram (nanoseconds) after run returned. */
void pc_lg_hist(pc_lg *g, uint64_t *counts, uint64_t *max_ns);
void pc_lg_free(pc_lg *g);
/* pc_hist_bucket is the bucket of v (exported for the Go test). */
int pc_hist_bucket(uint64_t v);

#endif
