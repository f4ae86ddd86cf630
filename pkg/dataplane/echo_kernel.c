// The kernel engine: the echo loop on Linux sockets and epoll.
#define _GNU_SOURCE
#include "echo_kernel.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#define PC_EVENTS 512
/* PC_GATHER is how many bytes successive reads of one connection gather
 * before one write echoes them all; PC_ROUNDS is how many such writes one
 * readiness event may make before the other connections get their turn.
 * 1 KiB, two 512-byte messages: measured on a quiet machine against
 * PhotonLibOS's net-perf client (docs/dataplane.md), a streaming echo served
 * 0.67x net-perf's server with 32 KiB writes, 0.86x with 2 KiB, and 1.6-1.9x
 * with 1 KiB; big echoes stall a client that reads message by message. */
#define PC_GATHER (1 << 10)
#define PC_ROUNDS 4

pc_echo *pc_echo_new(int family, const unsigned char *addr, unsigned int scope, int port, int buffer,
		     int *bound_port, int *err, const char **what)
{
	pc_echo *e = calloc(1, sizeof(*e));
	if (!e) {
		*err = ENOMEM;
		*what = "calloc";
		return NULL;
	}
	e->lfd = e->ep = e->stopfd = -1;
	e->buffer = buffer;
	e->stage = buffer < PC_GATHER ? PC_GATHER : (size_t)buffer;
	e->rbuf = malloc(e->stage);
	if (!e->rbuf) {
		*err = ENOMEM;
		*what = "malloc";
		goto fail;
	}
	struct sockaddr_storage ss;
	socklen_t sl;
	memset(&ss, 0, sizeof(ss));
	if (family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		memcpy(&s6->sin6_addr, addr, 16);
		s6->sin6_scope_id = scope;
		sl = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		memcpy(&s4->sin_addr, addr, 4);
		sl = sizeof(*s4);
	}
	e->lfd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (e->lfd < 0) {
		*what = "socket";
		goto fail_errno;
	}
	int one = 1;
	setsockopt(e->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(e->lfd, (struct sockaddr *)&ss, sl) < 0) {
		*what = "bind";
		goto fail_errno;
	}
	if (listen(e->lfd, 4096) < 0) {
		*what = "listen";
		goto fail_errno;
	}
	sl = sizeof(ss);
	if (getsockname(e->lfd, (struct sockaddr *)&ss, &sl) < 0) {
		*what = "getsockname";
		goto fail_errno;
	}
	*bound_port = ntohs(family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
					       : ((struct sockaddr_in *)&ss)->sin_port);
	e->ep = epoll_create1(EPOLL_CLOEXEC);
	if (e->ep < 0) {
		*what = "epoll_create1";
		goto fail_errno;
	}
	e->stopfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (e->stopfd < 0) {
		*what = "eventfd";
		goto fail_errno;
	}
	struct epoll_event ev = {.events = EPOLLIN, .data.fd = e->lfd};
	if (epoll_ctl(e->ep, EPOLL_CTL_ADD, e->lfd, &ev) < 0) {
		*what = "epoll_ctl";
		goto fail_errno;
	}
	ev.data.fd = e->stopfd;
	if (epoll_ctl(e->ep, EPOLL_CTL_ADD, e->stopfd, &ev) < 0) {
		*what = "epoll_ctl";
		goto fail_errno;
	}
	return e;
fail_errno:
	*err = errno;
fail:
	pc_echo_free(e);
	return NULL;
}

static int conn_slot(pc_echo *e, int fd)
{
	if (fd < e->nconns)
		return 0;
	int n = e->nconns ? e->nconns : 1024;
	while (n <= fd)
		n *= 2;
	pc_conn **c = realloc(e->conns, (size_t)n * sizeof(*c));
	if (!c)
		return -1;
	memset(c + e->nconns, 0, (size_t)(n - e->nconns) * sizeof(*c));
	e->conns = c;
	e->nconns = n;
	return 0;
}

static void conn_close(pc_echo *e, pc_conn *c, int failed)
{
	epoll_ctl(e->ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	e->conns[c->fd] = NULL;
	free(c->buf);
	free(c);
	SUB(open, 1);
	if (failed)
		ADD(closed_err, 1);
}

static void do_accept(pc_echo *e)
{
	for (int i = 0; i < 64; i++) {
		int fd = accept4(e->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return; /* EAGAIN, or an aborted connection: try next event */
		pc_conn *c = calloc(1, sizeof(*c));
		if (!c || conn_slot(e, fd) < 0) {
			free(c);
			close(fd);
			continue;
		}
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		/* TCP_INQ (Linux 4.18 and later): every read also says how many
		 * bytes are left, so the loop knows whether to read on without a
		 * read that finds nothing. Without it, one read per readiness
		 * event. */
		c->inq = !e->no_inq && setsockopt(fd, IPPROTO_TCP, TCP_INQ, &one, sizeof(one)) == 0;
		c->fd = fd;
		struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.fd = fd};
		if (epoll_ctl(e->ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
			free(c);
			close(fd);
			continue;
		}
		e->conns[fd] = c;
		ADD(accepted, 1);
		ADD(open, 1);
	}
}

/* want switches a connection between reading (EPOLLIN) and waiting to send
 * what is pending (EPOLLOUT). While bytes are pending it does not read: the
 * client's unread replies hold its further requests back (TCP flow control)
 * instead of memory growing here. */
static int want(pc_echo *e, pc_conn *c, uint32_t events)
{
	struct epoll_event ev = {.events = events, .data.fd = c->fd};
	return epoll_ctl(e->ep, EPOLL_CTL_MOD, c->fd, &ev);
}

/* flush sends pending bytes; 1 when all went, 0 when some remain, -1 on error. */
static int flush(pc_echo *e, pc_conn *c)
{
	while (c->pending_off < c->pending_len) {
		ssize_t n = send(c->fd, c->buf + c->pending_off, c->pending_len - c->pending_off, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			return -1;
		}
		c->pending_off += (uint32_t)n;
		ADD(bytes_out, n);
		ADD(writes, 1);
	}
	free(c->buf);
	c->buf = NULL;
	c->pending_off = c->pending_len = 0;
	return 1;
}

/* rd reads up to e->buffer bytes into dst. *inq is what TCP_INQ says is left
 * to read after this read, or -1 when the connection has no TCP_INQ. */
static ssize_t rd(pc_echo *e, pc_conn *c, char *dst, int *inq)
{
	*inq = -1;
	if (!c->inq)
		return recv(c->fd, dst, (size_t)e->buffer, 0);
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = {.iov_base = dst, .iov_len = (size_t)e->buffer};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf)};
	ssize_t n = recvmsg(c->fd, &mh, 0);
	if (n > 0) {
		struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
		if (cm && cm->cmsg_level == SOL_TCP && cm->cmsg_type == TCP_CM_INQ)
			memcpy(inq, CMSG_DATA(cm), sizeof(int));
	}
	return n;
}

/* echo writes rbuf[0:n] back; 1 when all went, 0 when the rest is pending
 * (the connection now waits for EPOLLOUT), -1 when c was closed. */
static int echo(pc_echo *e, pc_conn *c, size_t n)
{
	ssize_t w = send(c->fd, e->rbuf, n, MSG_NOSIGNAL);
	if (w < 0) {
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
			conn_close(e, c, 1);
			return -1;
		}
		w = 0;
	} else {
		ADD(writes, 1);
		ADD(bytes_out, w);
	}
	if ((size_t)w == n)
		return 1;
	/* Partial write: keep the rest, in order, and wait for EPOLLOUT. */
	c->buf = malloc(n - (size_t)w);
	if (!c->buf) {
		conn_close(e, c, 1);
		return -1;
	}
	memcpy(c->buf, e->rbuf + w, n - (size_t)w);
	c->pending_off = 0;
	c->pending_len = (uint32_t)(n - (size_t)w);
	ADD(stalls, 1);
	if (want(e, c, EPOLLOUT) < 0) {
		conn_close(e, c, 1);
		return -1;
	}
	return 0;
}

static void on_conn(pc_echo *e, pc_conn *c, uint32_t events)
{
	if (c->pending_len) {
		if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
			return;
		int r = flush(e, c);
		if (r < 0)
			conn_close(e, c, 1);
		else if (r == 1 && c->eof)
			conn_close(e, c, 0);
		else if (r == 1 && want(e, c, EPOLLIN | EPOLLRDHUP) < 0)
			conn_close(e, c, 1);
		return;
	}
	/* Each read takes at most --buffer bytes. While TCP_INQ says more is
	 * waiting, the loop reads on into the same buffer (up to PC_GATHER
	 * bytes) and echoes the lot with one write: a stream of small messages
	 * costs a read per message and a write per PC_GATHER bytes. When TCP_INQ
	 * says nothing is left (every ping-pong message), it stops without a
	 * read that would find nothing. */
	for (int round = 0; round < PC_ROUNDS; round++) {
		size_t off = 0;
		int more = 0, eof = 0;
		for (;;) {
			int inq;
			ssize_t n = rd(e, c, e->rbuf + off, &inq);
			if (n == 0) {
				eof = 1;
				break;
			}
			if (n < 0) {
				if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
					break;
				conn_close(e, c, 1);
				return;
			}
			off += (size_t)n;
			ADD(messages, 1);
			ADD(bytes_in, n);
			if (inq == 0 || (inq < 0 && n < e->buffer))
				break; /* drained what was there */
			if (inq < 0)
				break; /* no TCP_INQ: one read per event; level-triggered epoll reports the rest */
			if (off + (size_t)e->buffer > e->stage) {
				more = 1;
				break;
			}
		}
		if (off > 0) {
			int r = echo(e, c, off);
			if (r < 0)
				return;
			if (r == 0) {
				c->eof = eof;
				return;
			}
		}
		if (eof) {
			conn_close(e, c, 0);
			return;
		}
		if (!more)
			return;
	}
}

int pc_echo_run(pc_echo *e)
{
	if (e->ring)
		return pc_uring_run(e);
	struct epoll_event evs[PC_EVENTS];
	for (;;) {
		int n = epoll_wait(e->ep, evs, PC_EVENTS, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno;
		}
		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;
			if (fd == e->stopfd)
				return 0;
			if (fd == e->lfd) {
				do_accept(e);
				continue;
			}
			pc_conn *c = fd < e->nconns ? e->conns[fd] : NULL;
			if (c)
				on_conn(e, c, evs[i].events);
		}
	}
}

void pc_echo_no_inq(pc_echo *e) { e->no_inq = 1; }

void pc_echo_stop(pc_echo *e)
{
	uint64_t one = 1;
	ssize_t r = write(e->stopfd, &one, sizeof(one));
	(void)r; /* EAGAIN: the counter is full, a stop is already pending */
}

void pc_echo_stats_read(pc_echo *e, pc_echo_stats *out)
{
	out->accepted = __atomic_load_n(&e->st.accepted, __ATOMIC_RELAXED);
	out->open = __atomic_load_n(&e->st.open, __ATOMIC_RELAXED);
	out->messages = __atomic_load_n(&e->st.messages, __ATOMIC_RELAXED);
	out->bytes_in = __atomic_load_n(&e->st.bytes_in, __ATOMIC_RELAXED);
	out->bytes_out = __atomic_load_n(&e->st.bytes_out, __ATOMIC_RELAXED);
	out->closed_err = __atomic_load_n(&e->st.closed_err, __ATOMIC_RELAXED);
	out->stalls = __atomic_load_n(&e->st.stalls, __ATOMIC_RELAXED);
	out->writes = __atomic_load_n(&e->st.writes, __ATOMIC_RELAXED);
}

void pc_echo_free(pc_echo *e)
{
	if (!e)
		return;
	pc_uring_free(e);
	for (int fd = 0; fd < e->nconns; fd++) {
		pc_conn *c = e->conns[fd];
		if (c) {
			close(c->fd);
			free(c->buf);
			free(c);
		}
	}
	free(e->conns);
	if (e->lfd >= 0)
		close(e->lfd);
	if (e->ep >= 0)
		close(e->ep);
	if (e->stopfd >= 0)
		close(e->stopfd);
	free(e->rbuf);
	free(e);
}
