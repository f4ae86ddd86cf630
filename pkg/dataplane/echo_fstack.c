//go:build fstack

// The fstack engine: the echo loop of echo_kernel.c on F-Stack's sockets and
// kqueue, run as ff_run's callback. F-Stack exports unprefixed globals
// (panic, lcore_conf, dpdk_argv, ini_parse, ...): every name here is pc_.
#include "echo_fstack.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <ff_api.h>
#include <rte_log.h>

#define PC_FF_EVENTS 512
#define PC_FF_BURST 16

typedef struct pc_ffconn {
	int fd;
	uint32_t pending_off, pending_len;
	char *buf;
} pc_ffconn;

struct pc_ffecho {
	int lfd, kq, buffer;
	char *rbuf;
	pc_ffconn **conns;
	int nconns;
	int stop;
	struct kevent evs[PC_FF_EVENTS];
	pc_echo_stats st;
};

#define ADD(field, n) __atomic_fetch_add(&e->st.field, (uint64_t)(n), __ATOMIC_RELAXED)
#define SUB(field, n) __atomic_fetch_sub(&e->st.field, (uint64_t)(n), __ATOMIC_RELAXED)

/* pc_ev is EV_SET (a macro) as a function. */
static int pc_ev(int kq, int fd, short filter, unsigned short flags, int64_t data)
{
	struct kevent kev;
	EV_SET(&kev, fd, filter, flags, 0, data, NULL);
	return ff_kevent(kq, &kev, 1, NULL, 0, NULL);
}

int pc_ff_init(const char *conf)
{
	static char conf_arg[4096];
	static char *argv[5];
	if (strlen(conf) + 8 >= sizeof(conf_arg))
		return ENAMETOOLONG;
	strcpy(conf_arg, "--conf=");
	strcat(conf_arg, conf);
	argv[0] = "photonctl";
	argv[1] = conf_arg;
	argv[2] = "--proc-type=primary";
	argv[3] = "--proc-id=0";
	argv[4] = NULL;
	/* photonctl's stdout is its own (run echo -o json prints JSON lines
	 * there): DPDK's log goes to stderr from here on, and whatever F-Stack
	 * and DPDK print with printf while ff_init runs ("Checking link
	 * status....done", port details) goes there too. */
	rte_openlog_stream(stderr);
	fflush(stdout);
	int saved = dup(STDOUT_FILENO);
	if (saved >= 0)
		dup2(STDERR_FILENO, STDOUT_FILENO);
	int rc = ff_init(4, argv);
	fflush(stdout);
	if (saved >= 0) {
		dup2(saved, STDOUT_FILENO);
		close(saved);
	}
	return rc < 0 ? EINVAL : 0;
}

void pc_ff_free(pc_ffecho *e)
{
	if (!e)
		return;
	for (int fd = 0; fd < e->nconns; fd++) {
		pc_ffconn *c = e->conns[fd];
		if (c) {
			ff_close(c->fd);
			free(c->buf);
			free(c);
		}
	}
	free(e->conns);
	if (e->lfd >= 0)
		ff_close(e->lfd);
	free(e->rbuf);
	free(e);
}

pc_ffecho *pc_ff_new(int port, int buffer, int *err, const char **what)
{
	pc_ffecho *e = calloc(1, sizeof(*e));
	if (!e) {
		*err = ENOMEM;
		*what = "calloc";
		return NULL;
	}
	e->lfd = e->kq = -1;
	e->buffer = buffer;
	e->rbuf = malloc((size_t)buffer);
	if (!e->rbuf) {
		*err = ENOMEM;
		*what = "malloc";
		goto fail;
	}
	e->lfd = ff_socket(AF_INET, SOCK_STREAM, 0);
	if (e->lfd < 0) {
		*what = "ff_socket";
		goto fail_errno;
	}
	int on = 1;
	ff_ioctl(e->lfd, FIONBIO, &on);
	struct sockaddr_in sin;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_ANY);
	if (ff_bind(e->lfd, (struct linux_sockaddr *)&sin, sizeof(sin)) < 0) {
		*what = "ff_bind";
		goto fail_errno;
	}
	if (ff_listen(e->lfd, 4096) < 0) {
		*what = "ff_listen";
		goto fail_errno;
	}
	e->kq = ff_kqueue();
	if (e->kq < 0) {
		*what = "ff_kqueue";
		goto fail_errno;
	}
	if (pc_ev(e->kq, e->lfd, EVFILT_READ, EV_ADD, PC_FF_EVENTS) < 0) {
		*what = "ff_kevent";
		goto fail_errno;
	}
	return e;
fail_errno:
	*err = errno;
fail:
	pc_ff_free(e);
	return NULL;
}

static void ffconn_close(pc_ffecho *e, pc_ffconn *c, int failed)
{
	ff_close(c->fd); /* closing drops its kevents */
	e->conns[c->fd] = NULL;
	free(c->buf);
	free(c);
	SUB(open, 1);
	if (failed)
		ADD(closed_err, 1);
}

static void ff_do_accept(pc_ffecho *e, int64_t available)
{
	while (available-- > 0) {
		int fd = ff_accept(e->lfd, NULL, NULL);
		if (fd < 0)
			return;
		if (fd >= e->nconns) {
			int n = e->nconns ? e->nconns : 1024;
			while (n <= fd)
				n *= 2;
			pc_ffconn **cs = realloc(e->conns, (size_t)n * sizeof(*cs));
			if (!cs) {
				ff_close(fd);
				continue;
			}
			memset(cs + e->nconns, 0, (size_t)(n - e->nconns) * sizeof(*cs));
			e->conns = cs;
			e->nconns = n;
		}
		pc_ffconn *c = calloc(1, sizeof(*c));
		if (!c || pc_ev(e->kq, fd, EVFILT_READ, EV_ADD, 0) < 0) {
			free(c);
			ff_close(fd);
			continue;
		}
		c->fd = fd;
		e->conns[fd] = c;
		ADD(accepted, 1);
		ADD(open, 1);
	}
}

static int ff_flush(pc_ffecho *e, pc_ffconn *c)
{
	while (c->pending_off < c->pending_len) {
		ssize_t n = ff_write(c->fd, c->buf + c->pending_off, c->pending_len - c->pending_off);
		if (n < 0)
			return errno == EAGAIN ? 0 : -1;
		c->pending_off += (uint32_t)n;
		ADD(bytes_out, n);
		ADD(writes, 1);
	}
	free(c->buf);
	c->buf = NULL;
	c->pending_off = c->pending_len = 0;
	return 1;
}

static void ff_on_read(pc_ffecho *e, pc_ffconn *c)
{
	for (int burst = 0; burst < PC_FF_BURST; burst++) {
		ssize_t n = ff_read(c->fd, e->rbuf, (size_t)e->buffer);
		if (n == 0) {
			ffconn_close(e, c, 0);
			return;
		}
		if (n < 0) {
			if (errno != EAGAIN)
				ffconn_close(e, c, 1);
			return;
		}
		ADD(messages, 1);
		ADD(bytes_in, n);
		ssize_t w = ff_write(c->fd, e->rbuf, (size_t)n);
		if (w < 0) {
			if (errno != EAGAIN) {
				ffconn_close(e, c, 1);
				return;
			}
			w = 0;
		} else {
			ADD(writes, 1);
		}
		ADD(bytes_out, w);
		if (w < n) {
			c->buf = malloc((size_t)(n - w));
			if (!c->buf) {
				ffconn_close(e, c, 1);
				return;
			}
			memcpy(c->buf, e->rbuf + w, (size_t)(n - w));
			c->pending_off = 0;
			c->pending_len = (uint32_t)(n - w);
			ADD(stalls, 1);
			/* Stop reading until the rest is out. */
			if (pc_ev(e->kq, c->fd, EVFILT_READ, EV_DISABLE, 0) < 0 ||
			    pc_ev(e->kq, c->fd, EVFILT_WRITE, EV_ADD | EV_ENABLE, 0) < 0)
				ffconn_close(e, c, 1);
			return;
		}
		if (n < e->buffer)
			return;
	}
}

static int pc_ff_loop(void *arg)
{
	pc_ffecho *e = arg;
	if (__atomic_load_n(&e->stop, __ATOMIC_ACQUIRE)) {
		ff_stop_run();
		return 0;
	}
	int n = ff_kevent(e->kq, NULL, 0, e->evs, PC_FF_EVENTS, NULL);
	for (int i = 0; i < n; i++) {
		struct kevent *ev = &e->evs[i];
		int fd = (int)ev->ident;
		if (fd == e->lfd) {
			ff_do_accept(e, ev->data);
			continue;
		}
		pc_ffconn *c = fd < e->nconns ? e->conns[fd] : NULL;
		if (!c)
			continue;
		if (ev->filter == EVFILT_WRITE) {
			int r = ff_flush(e, c);
			if (r < 0)
				ffconn_close(e, c, 1);
			else if (r == 1 && (pc_ev(e->kq, fd, EVFILT_WRITE, EV_DELETE, 0) < 0 ||
					    pc_ev(e->kq, fd, EVFILT_READ, EV_ENABLE, 0) < 0))
				ffconn_close(e, c, 1);
			continue;
		}
		if (c->pending_len)
			continue;
		if (ev->data > 0 || !(ev->flags & EV_EOF))
			ff_on_read(e, c);
		else
			ffconn_close(e, c, (ev->flags & EV_ERROR) != 0);
	}
	return 0;
}

void pc_ff_run(pc_ffecho *e) { ff_run(pc_ff_loop, e); }

void pc_ff_stop(pc_ffecho *e) { __atomic_store_n(&e->stop, 1, __ATOMIC_RELEASE); }

void pc_ff_stats_read(pc_ffecho *e, pc_echo_stats *out)
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
