/* echo.h: the echo loop's interface to Go: start, stats, stop. Nothing here
 * is called per packet or per connection. */
#ifndef PHOTONCTL_ECHO_H
#define PHOTONCTL_ECHO_H

#include <stddef.h>
#include <stdint.h>

/* pc_echo_stats are the loop's counters. The loop thread adds to them with
 * __atomic builtins; pc_echo_stats_read loads each one atomically. */
typedef struct pc_echo_stats {
	uint64_t accepted;  /* connections accepted since start */
	uint64_t open;      /* connections open now */
	uint64_t messages;  /* reads that returned data, each at most the buffer */
	uint64_t bytes_in;  /* bytes read */
	uint64_t bytes_out; /* bytes written back */
	uint64_t closed_err; /* connections closed on a read or write error */
	uint64_t stalls;     /* partial writes: the loop kept the rest and waited for EPOLLOUT */
	uint64_t writes;     /* writes that sent bytes (one may echo several reads) */
} pc_echo_stats;

typedef struct pc_echo pc_echo;

/* pc_echo_new binds and listens on addr (4 bytes for AF_INET, 16 for
 * AF_INET6, with scope the interface index of a link-local address, else 0)
 * and port. It returns NULL and sets *err to an errno and *what to the call that
 * failed. *bound_port is the port bound (for port 0). */
pc_echo *pc_echo_new(int family, const unsigned char *addr, unsigned int scope, int port, int buffer,
		     int *bound_port, int *err, const char **what);
/* pc_echo_uring makes pc_echo_run use an io_uring loop instead of epoll
 * (Linux 6.0: multishot recv, provided buffer rings). It returns 0, or -1
 * with *err an errno and *what the call that failed; then the epoll loop
 * stays. Call before pc_echo_run, from any thread. */
int pc_echo_uring(pc_echo *e, int *err, const char **what);
/* pc_echo_run runs the loop until pc_echo_stop; it returns 0 or an errno. */
int pc_echo_run(pc_echo *e);
/* pc_echo_no_inq makes connections accepted from now on go without TCP_INQ
 * (one read per readiness event), as on kernels before 4.18: for tests. */
void pc_echo_no_inq(pc_echo *e);
/* pc_echo_stop asks the loop to stop; safe from any thread, any number of times. */
void pc_echo_stop(pc_echo *e);
void pc_echo_stats_read(pc_echo *e, pc_echo_stats *out);
/* pc_echo_free closes every socket and frees e; call after pc_echo_run returned. */
void pc_echo_free(pc_echo *e);

#endif
