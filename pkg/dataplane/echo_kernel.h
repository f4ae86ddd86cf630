/* echo_kernel.h: the kernel engine's state, shared by its epoll loop
 * (echo_kernel.c) and its io_uring loop (echo_uring.c). Not for Go. */
#ifndef PHOTONCTL_ECHO_KERNEL_H
#define PHOTONCTL_ECHO_KERNEL_H

#include "echo.h"

#include <sys/types.h>

struct pc_ring;

typedef struct pc_conn {
	int fd;
	int inq;              /* TCP_INQ is on: each read says how many bytes are left */
	int eof;              /* the peer closed: close once pending bytes are out */
	uint32_t pending_off; /* unsent bytes are buf[pending_off:pending_len] */
	uint32_t pending_len;
	char *buf;            /* allocated only while bytes are pending */
} pc_conn;

struct pc_echo {
	int lfd, ep, stopfd;
	int buffer;
	size_t stage; /* size of rbuf: reads gather here, a write echoes them */
	int no_inq;   /* tests: behave as on a kernel without TCP_INQ */
	char *rbuf;
	pc_conn **conns; /* indexed by fd */
	int nconns;
	pc_echo_stats st;
	struct pc_ring *ring; /* the io_uring loop runs instead of epoll (echo_uring.c) */
};

/* Only the loop thread writes the counters, so a relaxed load and store is
 * enough (no locked instruction); readers load them atomically. */
#define ADD(field, n)                                                                      \
	__atomic_store_n(&e->st.field, __atomic_load_n(&e->st.field, __ATOMIC_RELAXED) + (uint64_t)(n), \
			 __ATOMIC_RELAXED)
#define SUB(field, n) ADD(field, -(uint64_t)(n))

/* The io_uring loop (echo_uring.c). */
int pc_uring_run(pc_echo *e);
void pc_uring_free(pc_echo *e);

#endif
