// The kernel engine's io_uring loop (run echo --io uring): the same echo as
// the epoll loop in echo_kernel.c, on raw io_uring system calls (no liburing).
//
// Each connection has one multishot recv armed (Linux 6.0) that takes its
// buffers from a provided buffer ring (Linux 5.19); what it receives is
// copied to the connection's queue and the buffer goes straight back to the
// ring. A connection has at most one send in flight (two sends of one socket
// in flight could complete out of order): bytes received meanwhile queue up
// and go in the next send, so a stream gathers by itself. A send that went
// partly is counted as a stall and the rest is sent again. One io_uring_enter
// per pass both submits the pass's sends and waits for completions.
#define _GNU_SOURCE
#include "echo_kernel.h"
#include "pc_uring.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#define UR_SQ_ENTRIES 4096
#define UR_CQ_ENTRIES 16384
/* Provided buffers: 8 to 4096 of --buffer bytes, at most UR_BUF_BYTES
 * (unless 8 are more). They also bound what one pass can receive: a
 * connection's recv is cancelled only between passes. */
#define UR_BUF_BYTES (2u << 20)
#define UR_QUEUE_MAX (256u << 10) /* a connection with this much unsent stops receiving */
#define UR_FILES 65536            /* registered file table: descriptors below this are registered */
#define UR_OP_POLL_ADD 6

enum { T_ACCEPT = 1, T_STOP, T_RECV, T_SEND, T_CANCEL };
#define T_MASK 7u

typedef struct ur_conn {
	int fd;
	int fixed;       /* fd is also its index in the registered file table */
	int recv_armed;  /* the multishot recv is armed */
	int send_busy;   /* a send is in flight */
	int cancel_sent; /* a cancel of the recv is in flight (queue too long, or closing) */
	int eof, dead, dirty;
	int inflight; /* operations whose completions are still to come */
	char *sbuf;   /* in flight: sbuf[soff:slen] */
	uint32_t soff, slen, scap;
	char *qbuf; /* received, waiting for the send in flight */
	uint32_t qlen, qcap;
	struct ur_conn *next_dirty;
	struct ur_conn *prev, *next; /* every connection not yet freed */
} __attribute__((aligned(8))) ur_conn;

struct pc_ring {
	int fd;
	unsigned flags; /* setup flags that took */
	void *sq_ptr, *cq_ptr;
	size_t sq_sz, cq_sz, sqes_sz;
	uint32_t *sq_head, *sq_tail, *sq_mask, *sq_array, sq_entries;
	struct pc_sqe *sqes;
	uint32_t sq_local, to_submit;
	uint32_t *cq_head, *cq_tail, *cq_mask;
	struct pc_cqe *cqes;
	struct pc_buf *br; /* the provided buffer ring */
	size_t br_sz;
	uint32_t nbufs;
	uint16_t br_tail;
	char *bufs;
	size_t bufs_sz, bufsz;
	int nfiles; /* size of the registered file table; 0: none */
	int accepting; /* the multishot accept is armed */
	int stopping;  /* stop asked: wind down, then return */
	ur_conn *all, *dirty;
};

static int sys_setup(unsigned entries, struct pc_uring_params *p)
{
	return (int)syscall(PC_NR_io_uring_setup, entries, p);
}

static int sys_enter(int fd, unsigned to_submit, unsigned min_complete, unsigned flags)
{
	return (int)syscall(PC_NR_io_uring_enter, fd, to_submit, min_complete, flags, NULL, 0);
}

static int sys_register(int fd, unsigned op, void *arg, unsigned nr)
{
	return (int)syscall(PC_NR_io_uring_register, fd, op, arg, nr);
}

static void ring_unmap(struct pc_ring *r)
{
	if (r->sqes)
		munmap(r->sqes, r->sqes_sz);
	if (r->cq_ptr && r->cq_ptr != r->sq_ptr)
		munmap(r->cq_ptr, r->cq_sz);
	if (r->sq_ptr)
		munmap(r->sq_ptr, r->sq_sz);
	if (r->br)
		munmap(r->br, r->br_sz);
	if (r->bufs)
		munmap(r->bufs, r->bufs_sz);
}

static void br_add(struct pc_ring *r, uint16_t bid)
{
	struct pc_buf *b = &r->br[r->br_tail & (r->nbufs - 1)];
	b->addr = (uint64_t)(uintptr_t)(r->bufs + (size_t)bid * r->bufsz);
	b->len = (uint32_t)r->bufsz;
	b->bid = bid;
	r->br_tail++;
}

static void br_publish(struct pc_ring *r)
{
	/* The tail is the resv field of bufs[0]. */
	__atomic_store_n(&r->br[0].resv, r->br_tail, __ATOMIC_RELEASE);
}

int pc_echo_uring(pc_echo *e, int *err, const char **what)
{
	struct pc_ring *r = calloc(1, sizeof(*r));
	if (!r) {
		*err = ENOMEM;
		*what = "calloc";
		return -1;
	}
	r->fd = -1;
	/* SINGLE_ISSUER is Linux 6.0, the release that brought multishot
	 * recv: a kernel that refuses it is too old for this loop.
	 * DEFER_TASKRUN (6.1) runs completion work only inside our
	 * io_uring_enter; R_DISABLED leaves the ring for the loop's thread
	 * to enable, which makes that thread its single issuer. */
	static const unsigned tries[] = {
		PC_SETUP_SINGLE_ISSUER | PC_SETUP_DEFER_TASKRUN,
		PC_SETUP_SINGLE_ISSUER | PC_SETUP_COOP_TASKRUN,
	};
	struct pc_uring_params p;
	for (unsigned i = 0; i < sizeof(tries) / sizeof(tries[0]); i++) {
		memset(&p, 0, sizeof(p));
		p.flags = tries[i] | PC_SETUP_CQSIZE | PC_SETUP_R_DISABLED | PC_SETUP_SUBMIT_ALL;
		p.cq_entries = UR_CQ_ENTRIES;
		r->fd = sys_setup(UR_SQ_ENTRIES, &p);
		if (r->fd >= 0 || errno != EINVAL)
			break;
	}
	if (r->fd < 0) {
		*what = errno == EINVAL ? "io_uring_setup (IORING_SETUP_SINGLE_ISSUER, Linux 6.0)" : "io_uring_setup";
		goto fail_errno;
	}
	r->flags = p.flags;
	if (!(p.features & PC_FEAT_NODROP)) {
		*err = EINVAL;
		*what = "io_uring_setup (IORING_FEAT_NODROP, Linux 5.5)";
		goto fail;
	}
	r->sq_sz = p.sq_off.array + p.sq_entries * sizeof(uint32_t);
	r->cq_sz = p.cq_off.cqes + p.cq_entries * sizeof(struct pc_cqe);
	if (p.features & PC_FEAT_SINGLE_MMAP) {
		if (r->cq_sz > r->sq_sz)
			r->sq_sz = r->cq_sz;
		r->cq_sz = r->sq_sz;
	}
	r->sq_ptr = mmap(NULL, r->sq_sz, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, r->fd, PC_OFF_SQ_RING);
	if (r->sq_ptr == MAP_FAILED) {
		r->sq_ptr = NULL;
		*what = "mmap (io_uring SQ ring)";
		goto fail_errno;
	}
	if (p.features & PC_FEAT_SINGLE_MMAP) {
		r->cq_ptr = r->sq_ptr;
	} else {
		r->cq_ptr = mmap(NULL, r->cq_sz, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, r->fd, PC_OFF_CQ_RING);
		if (r->cq_ptr == MAP_FAILED) {
			r->cq_ptr = NULL;
			*what = "mmap (io_uring CQ ring)";
			goto fail_errno;
		}
	}
	r->sqes_sz = p.sq_entries * sizeof(struct pc_sqe);
	r->sqes = mmap(NULL, r->sqes_sz, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, r->fd, PC_OFF_SQES);
	if (r->sqes == MAP_FAILED) {
		r->sqes = NULL;
		*what = "mmap (io_uring SQEs)";
		goto fail_errno;
	}
	char *sq = r->sq_ptr, *cq = r->cq_ptr;
	r->sq_head = (uint32_t *)(sq + p.sq_off.head);
	r->sq_tail = (uint32_t *)(sq + p.sq_off.tail);
	r->sq_mask = (uint32_t *)(sq + p.sq_off.ring_mask);
	r->sq_array = (uint32_t *)(sq + p.sq_off.array);
	r->sq_entries = p.sq_entries;
	r->sq_local = *r->sq_tail;
	r->cq_head = (uint32_t *)(cq + p.cq_off.head);
	r->cq_tail = (uint32_t *)(cq + p.cq_off.tail);
	r->cq_mask = (uint32_t *)(cq + p.cq_off.ring_mask);
	r->cqes = (struct pc_cqe *)(cq + p.cq_off.cqes);

	/* Provided buffers of --buffer bytes: a recv takes at most that. */
	r->bufsz = (size_t)e->buffer;
	r->nbufs = 4096;
	while (r->nbufs > 8 && (size_t)r->nbufs * r->bufsz > UR_BUF_BYTES)
		r->nbufs /= 2;
	r->br_sz = (r->nbufs * sizeof(struct pc_buf) + 4095) & ~(size_t)4095;
	r->br = mmap(NULL, r->br_sz, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (r->br == MAP_FAILED) {
		r->br = NULL;
		*what = "mmap (buffer ring)";
		goto fail_errno;
	}
	r->bufs_sz = r->nbufs * r->bufsz;
	r->bufs = mmap(NULL, r->bufs_sz, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (r->bufs == MAP_FAILED) {
		r->bufs = NULL;
		*what = "mmap (buffers)";
		goto fail_errno;
	}
	struct pc_buf_reg reg = {.ring_addr = (uint64_t)(uintptr_t)r->br, .ring_entries = r->nbufs, .bgid = 0};
	if (sys_register(r->fd, PC_REGISTER_PBUF_RING, &reg, 1) < 0) {
		*what = "io_uring_register (IORING_REGISTER_PBUF_RING, Linux 5.19)";
		goto fail_errno;
	}
	for (uint32_t i = 0; i < r->nbufs; i++)
		br_add(r, (uint16_t)i);
	br_publish(r);

	/* A sparse registered file table (Linux 5.19): each accepted socket
	 * goes in at its descriptor's index, and recv and send name it there,
	 * which saves a file lookup per operation. Without it, plain fds. */
	struct rlimit rl;
	int nfiles = UR_FILES;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)nfiles)
		nfiles = (int)rl.rlim_cur;
	struct pc_rsrc_register rr = {.nr = (uint32_t)nfiles, .flags = PC_RSRC_REGISTER_SPARSE};
	if (sys_register(r->fd, PC_REGISTER_FILES2, &rr, sizeof(rr)) == 0)
		r->nfiles = nfiles;

	e->ring = r;
	return 0;
fail_errno:
	*err = errno;
fail:
	ring_unmap(r);
	if (r->fd >= 0)
		close(r->fd);
	free(r);
	return -1;
}

/* submit hands the queued SQEs to the kernel; with wait, it also waits for
 * at least one completion. */
static int submit(struct pc_ring *r, int wait)
{
	__atomic_store_n(r->sq_tail, r->sq_local, __ATOMIC_RELEASE);
	for (;;) {
		int n = sys_enter(r->fd, r->to_submit, wait ? 1 : 0, wait ? PC_ENTER_GETEVENTS : 0);
		if (n >= 0) {
			r->to_submit -= (uint32_t)n < r->to_submit ? (uint32_t)n : r->to_submit;
			return 0;
		}
		if (errno == EINTR)
			continue;
		/* EBUSY/EAGAIN: completions are backed up; reap them first. */
		if (errno == EBUSY || errno == EAGAIN)
			return 0;
		return errno;
	}
}

static struct pc_sqe *get_sqe(struct pc_ring *r)
{
	if (r->sq_local - __atomic_load_n(r->sq_head, __ATOMIC_ACQUIRE) >= r->sq_entries)
		submit(r, 0);
	if (r->sq_local - __atomic_load_n(r->sq_head, __ATOMIC_ACQUIRE) >= r->sq_entries)
		return NULL;
	uint32_t idx = r->sq_local & *r->sq_mask;
	struct pc_sqe *s = &r->sqes[idx];
	memset(s, 0, sizeof(*s));
	r->sq_array[idx] = idx;
	r->sq_local++;
	r->to_submit++;
	return s;
}

static uint64_t ud(void *p, unsigned type) { return (uint64_t)(uintptr_t)p | type; }

static int arm_accept(pc_echo *e)
{
	struct pc_sqe *s = get_sqe(e->ring);
	if (!s)
		return -1;
	s->opcode = PC_OP_ACCEPT;
	s->fd = e->lfd;
	s->ioprio = PC_ACCEPT_MULTISHOT;
	s->op_flags = SOCK_CLOEXEC;
	s->user_data = ud(NULL, T_ACCEPT);
	e->ring->accepting = 1;
	return 0;
}

static int arm_stop(pc_echo *e)
{
	struct pc_sqe *s = get_sqe(e->ring);
	if (!s)
		return -1;
	s->opcode = UR_OP_POLL_ADD;
	s->fd = e->stopfd;
	s->op_flags = POLLIN;
	s->user_data = ud(NULL, T_STOP);
	return 0;
}

static void conn_fd(struct pc_ring *r, ur_conn *c, struct pc_sqe *s)
{
	if (c->fixed) {
		s->fd = c->fd;
		s->flags |= PC_SQE_FIXED_FILE;
	} else {
		s->fd = c->fd;
	}
	(void)r;
}

static int arm_recv(struct pc_ring *r, ur_conn *c)
{
	struct pc_sqe *s = get_sqe(r);
	if (!s)
		return -1;
	s->opcode = PC_OP_RECV;
	conn_fd(r, c, s);
	s->flags |= PC_SQE_BUFFER_SELECT;
	s->buf_group = 0;
	s->ioprio = PC_RECV_MULTISHOT;
	s->user_data = ud(c, T_RECV);
	c->recv_armed = 1;
	c->inflight++;
	return 0;
}

static int send_rest(struct pc_ring *r, ur_conn *c)
{
	struct pc_sqe *s = get_sqe(r);
	if (!s)
		return -1;
	s->opcode = PC_OP_SEND;
	conn_fd(r, c, s);
	s->addr = (uint64_t)(uintptr_t)(c->sbuf + c->soff);
	s->len = c->slen - c->soff;
	s->op_flags = MSG_NOSIGNAL;
	s->user_data = ud(c, T_SEND);
	c->send_busy = 1;
	c->inflight++;
	return 0;
}

static void cancel_recv(struct pc_ring *r, ur_conn *c)
{
	if (!c->recv_armed || c->cancel_sent)
		return;
	struct pc_sqe *s = get_sqe(r);
	if (!s)
		return; /* the next pass tries again */
	s->opcode = PC_OP_ASYNC_CANCEL;
	s->fd = -1;
	s->addr = ud(c, T_RECV);
	s->user_data = ud(NULL, T_CANCEL);
	c->cancel_sent = 1;
}

static void mark(struct pc_ring *r, ur_conn *c)
{
	if (c->dirty)
		return;
	c->dirty = 1;
	c->next_dirty = r->dirty;
	r->dirty = c;
}

static void set_fixed(struct pc_ring *r, int index, int fd)
{
	int32_t fds[1] = {fd};
	struct pc_files_update u = {.offset = (uint32_t)index, .fds = (uint64_t)(uintptr_t)fds};
	sys_register(r->fd, PC_REGISTER_FILES_UPDATE, &u, 1);
}

/* conn_close closes c's socket now; c itself is freed once no completion
 * of it is still to come. */
static void conn_close(pc_echo *e, ur_conn *c, int failed)
{
	struct pc_ring *r = e->ring;
	if (c->dead)
		return;
	c->dead = 1;
	SUB(open, 1);
	if (failed)
		ADD(closed_err, 1);
	if (c->inflight > 0) {
		/* Ends the armed recv (end of file) and a stuck send (EPIPE). */
		shutdown(c->fd, SHUT_RDWR);
		cancel_recv(r, c);
	}
	if (c->fixed)
		set_fixed(r, c->fd, -1);
	close(c->fd);
	mark(r, c);
}

static void conn_free(struct pc_ring *r, ur_conn *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		r->all = c->next;
	if (c->next)
		c->next->prev = c->prev;
	free(c->sbuf);
	free(c->qbuf);
	free(c);
}

static void on_accept(pc_echo *e, int fd)
{
	struct pc_ring *r = e->ring;
	ur_conn *c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		return;
	}
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->fd = fd;
	if (fd < r->nfiles) {
		int32_t fds[1] = {fd};
		struct pc_files_update u = {.offset = (uint32_t)fd, .fds = (uint64_t)(uintptr_t)fds};
		c->fixed = sys_register(r->fd, PC_REGISTER_FILES_UPDATE, &u, 1) == 1;
	}
	c->next = r->all;
	if (r->all)
		r->all->prev = c;
	r->all = c;
	ADD(accepted, 1);
	ADD(open, 1);
	if (arm_recv(r, c) < 0)
		conn_close(e, c, 1);
}

/* queue appends received bytes to c's queue. */
static int queue(ur_conn *c, const char *p, uint32_t n)
{
	if (c->qlen + n > c->qcap) {
		uint32_t cap = c->qcap ? c->qcap : 1024;
		while (cap < c->qlen + n)
			cap *= 2;
		char *q = realloc(c->qbuf, cap);
		if (!q)
			return -1;
		c->qbuf = q;
		c->qcap = cap;
	}
	memcpy(c->qbuf + c->qlen, p, n);
	c->qlen += n;
	return 0;
}

static void on_recv(pc_echo *e, ur_conn *c, struct pc_cqe *cqe)
{
	struct pc_ring *r = e->ring;
	if (!(cqe->flags & PC_CQE_F_MORE)) {
		c->recv_armed = 0;
		c->cancel_sent = 0;
		c->inflight--;
	}
	mark(r, c);
	if (cqe->flags & PC_CQE_F_BUFFER) {
		uint16_t bid = (uint16_t)(cqe->flags >> PC_CQE_BUFFER_SHIFT);
		if (cqe->res > 0 && !c->dead) {
			ADD(messages, 1);
			ADD(bytes_in, cqe->res);
			if (queue(c, r->bufs + (size_t)bid * r->bufsz, (uint32_t)cqe->res) < 0)
				conn_close(e, c, 1);
		}
		br_add(r, bid);
	}
	if (c->dead || cqe->res > 0)
		return;
	if (cqe->res == 0)
		c->eof = 1;
	else if (cqe->res != -ENOBUFS && cqe->res != -ECANCELED && cqe->res != -EINTR)
		conn_close(e, c, 1);
	/* ENOBUFS: every buffer was in use; ECANCELED: the queue grew too
	 * long. Either way the pass re-arms the recv when it can. */
}

static void on_send(pc_echo *e, ur_conn *c, int res)
{
	struct pc_ring *r = e->ring;
	c->send_busy = 0;
	c->inflight--;
	mark(r, c);
	if (c->dead)
		return;
	if (res < 0) {
		if (res == -EINTR || res == -EAGAIN) {
			if (send_rest(r, c) < 0)
				conn_close(e, c, 1);
			return;
		}
		conn_close(e, c, 1);
		return;
	}
	if (res > 0) {
		ADD(writes, 1);
		ADD(bytes_out, res);
	}
	c->soff += (uint32_t)res;
	if (c->soff < c->slen) {
		/* Partial send: the rest goes next, before anything queued. */
		ADD(stalls, 1);
		if (send_rest(r, c) < 0)
			conn_close(e, c, 1);
		return;
	}
	c->soff = c->slen = 0;
}

/* service moves a connection on after its completions of this pass. */
static void service(pc_echo *e, ur_conn *c)
{
	struct pc_ring *r = e->ring;
	if (c->dead)
		return;
	if (r->stopping) {
		if (!c->send_busy && !c->recv_armed)
			conn_close(e, c, 0);
		return;
	}
	if (!c->send_busy && c->qlen > 0) {
		char *b = c->sbuf;
		uint32_t cap = c->scap;
		c->sbuf = c->qbuf;
		c->scap = c->qcap;
		c->slen = c->qlen;
		c->soff = 0;
		c->qbuf = b;
		c->qcap = cap;
		c->qlen = 0;
		if (send_rest(r, c) < 0) {
			conn_close(e, c, 1);
			return;
		}
	}
	uint32_t unsent = c->qlen + (c->slen - c->soff);
	if (c->eof) {
		if (!c->send_busy && c->qlen == 0 && !c->recv_armed)
			conn_close(e, c, 0);
		return;
	}
	if (unsent >= UR_QUEUE_MAX) {
		/* The peer does not read its echoes: stop receiving until it
		 * does, as the epoll loop does, instead of queueing without
		 * bound. */
		cancel_recv(r, c);
	} else if (!c->recv_armed) {
		if (arm_recv(r, c) < 0)
			conn_close(e, c, 1);
	}
}

/* stop winds the loop down: the accept is cancelled and every socket shut
 * down, so that each operation completes and the ring holds no socket when
 * pc_uring_run returns (a listening socket it held would keep the port
 * after Stop). */
static void stop(pc_echo *e)
{
	struct pc_ring *r = e->ring;
	r->stopping = 1;
	if (r->accepting) {
		struct pc_sqe *s = get_sqe(r);
		if (s) {
			s->opcode = PC_OP_ASYNC_CANCEL;
			s->fd = -1;
			s->addr = ud(NULL, T_ACCEPT);
			s->user_data = ud(NULL, T_CANCEL);
		}
	}
	for (ur_conn *c = r->all; c; c = c->next) {
		if (c->dead)
			continue;
		shutdown(c->fd, SHUT_RDWR);
		mark(r, c);
	}
}

int pc_uring_run(pc_echo *e)
{
	struct pc_ring *r = e->ring;
	if (sys_register(r->fd, PC_REGISTER_ENABLE_RINGS, NULL, 0) < 0)
		return errno;
	if (arm_accept(e) < 0 || arm_stop(e) < 0)
		return ENOSPC;
	for (;;) {
		int rc = submit(r, 1);
		if (rc)
			return rc;
		uint32_t head = *r->cq_head;
		uint32_t tail = __atomic_load_n(r->cq_tail, __ATOMIC_ACQUIRE);
		uint16_t br_before = r->br_tail;
		for (; head != tail; head++) {
			struct pc_cqe *cqe = &r->cqes[head & *r->cq_mask];
			unsigned type = (unsigned)(cqe->user_data & T_MASK);
			ur_conn *c = (ur_conn *)(uintptr_t)(cqe->user_data & ~(uint64_t)T_MASK);
			switch (type) {
			case T_STOP:
				stop(e);
				break;
			case T_ACCEPT:
				if (cqe->res >= 0 && !r->stopping)
					on_accept(e, cqe->res);
				else if (cqe->res >= 0)
					close(cqe->res);
				if (!(cqe->flags & PC_CQE_F_MORE)) {
					r->accepting = 0;
					if (!r->stopping && arm_accept(e) < 0)
						return ENOSPC;
				}
				break;
			case T_RECV:
				on_recv(e, c, cqe);
				break;
			case T_SEND:
				on_send(e, c, cqe->res);
				break;
			default:
				break;
			}
		}
		__atomic_store_n(r->cq_head, head, __ATOMIC_RELEASE);
		if (r->br_tail != br_before)
			br_publish(r);
		while (r->dirty) {
			ur_conn *c = r->dirty;
			r->dirty = c->next_dirty;
			c->dirty = 0;
			service(e, c);
			if (c->dead && c->inflight == 0 && !c->dirty)
				conn_free(r, c);
		}
		if (r->stopping && !r->accepting && !r->all)
			return 0;
	}
}

void pc_uring_free(pc_echo *e)
{
	struct pc_ring *r = e->ring;
	if (!r)
		return;
	/* Shut every socket down first: a recv or send still in flight ends
	 * on it rather than on memory freed below. Closing the ring cancels
	 * the rest. */
	for (ur_conn *c = r->all; c; c = c->next)
		if (!c->dead)
			shutdown(c->fd, SHUT_RDWR);
	close(r->fd);
	for (ur_conn *c = r->all, *n; c; c = n) {
		n = c->next;
		if (!c->dead)
			close(c->fd);
		free(c->sbuf);
		free(c->qbuf);
		free(c);
	}
	ring_unmap(r);
	free(r);
	e->ring = NULL;
}
