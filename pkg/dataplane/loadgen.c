// The bench client: the load generator's loop on Linux sockets and epoll.
#define _GNU_SOURCE
#include "loadgen.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* Every connection sends the same pseudo-random pattern, each from its own
 * offset: the byte at stream offset o of connection i is
 * pattern[(o + i*977) % PC_PERIOD]. A prime period catches lost, repeated and
 * reordered bytes; the buffer holds two periods so that any run of up to
 * PC_PERIOD bytes is contiguous. */
#define PC_PERIOD 65521
#define PC_CHUNK 65536
#define PC_EVENTS 512
#define PC_LG_DRAIN_NS 2000000000ull

typedef struct lg_conn {
	int fd, idx, dead, connected;
	uint64_t sent, recvd; /* stream offsets */
	uint64_t limit;       /* send up to here (pingpong: end of this message) */
	uint64_t *ts;         /* send time of message k in ts[k % cap] */
} lg_conn;

struct pc_lg {
	int ep, nconns, size, mode, cap;
	uint64_t window; /* streaming: most bytes in flight per connection */
	lg_conn *conns;
	unsigned char *pattern;
	unsigned char *rbuf;
	int phase; /* asked for by Go */
	int cur;   /* the loop's phase, which pump reads */
	uint64_t t_measure;
	pc_lg_stats st;
	uint64_t hist[PC_HIST_BUCKETS];
	uint64_t hmax;
	int alive;
};

#define ADD(field, n) __atomic_fetch_add(&g->st.field, (uint64_t)(n), __ATOMIC_RELAXED)

int pc_hist_bucket(uint64_t v)
{
	if (v < (2u << PC_HIST_SUB_BITS))
		return (int)v;
	int msb = 63 - __builtin_clzll(v);
	int shift = msb - PC_HIST_SUB_BITS;
	return (shift << PC_HIST_SUB_BITS) + (int)(v >> shift);
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void conn_lost(pc_lg *g, lg_conn *c, int err)
{
	if (c->dead)
		return;
	c->dead = 1;
	epoll_ctl(g->ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	c->fd = -1;
	if (__atomic_fetch_add(&g->st.conn_errors, 1, __ATOMIC_RELAXED) == 0)
		__atomic_store_n(&g->st.first_errno, err, __ATOMIC_RELAXED);
	g->alive--;
}

pc_lg *pc_lg_new(int family, const unsigned char *addr, unsigned int scope, int port, int conns, int size, int mode,
		 int *err, const char **what)
{
	pc_lg *g = calloc(1, sizeof(*g));
	if (!g) {
		*err = ENOMEM;
		*what = "calloc";
		return NULL;
	}
	g->ep = -1;
	g->size = size;
	g->mode = mode;
	g->st.first_mismatch_conn = -1;
	uint64_t depth = 2;
	if (mode == PC_LG_STREAMING) {
		depth = (16384 + (uint64_t)size - 1) / (uint64_t)size;
		if (depth < 2)
			depth = 2;
		if (depth > 1024)
			depth = 1024;
	}
	g->window = depth * (uint64_t)size;
	g->cap = (int)depth + 2;
	g->pattern = malloc(2 * PC_PERIOD);
	g->rbuf = malloc(PC_CHUNK);
	g->conns = calloc((size_t)conns, sizeof(lg_conn));
	if (!g->pattern || !g->rbuf || !g->conns) {
		*err = ENOMEM;
		*what = "malloc";
		goto fail;
	}
	uint64_t x = 0x9e3779b97f4a7c15ull;
	for (int i = 0; i < PC_PERIOD; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		g->pattern[i] = g->pattern[i + PC_PERIOD] = (unsigned char)(x >> 24);
	}
	g->ep = epoll_create1(EPOLL_CLOEXEC);
	if (g->ep < 0) {
		*what = "epoll_create1";
		goto fail_errno;
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
	for (int i = 0; i < conns; i++) {
		lg_conn *c = &g->conns[i];
		c->idx = i;
		c->fd = -1;
		c->ts = calloc((size_t)g->cap, sizeof(uint64_t));
		g->nconns = i + 1;
		if (!c->ts) {
			*err = ENOMEM;
			*what = "malloc";
			goto fail;
		}
		c->fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (c->fd < 0) {
			*what = "socket";
			goto fail_errno;
		}
		int one = 1;
		setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (connect(c->fd, (struct sockaddr *)&ss, sl) < 0 && errno != EINPROGRESS) {
			*what = "connect";
			goto fail_errno;
		}
		struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.u32 = (uint32_t)i};
		if (epoll_ctl(g->ep, EPOLL_CTL_ADD, c->fd, &ev) < 0) {
			*what = "epoll_ctl";
			goto fail_errno;
		}
	}
	g->alive = conns;
	return g;
fail_errno:
	*err = errno;
fail:
	pc_lg_free(g);
	return NULL;
}

static inline const unsigned char *pat(pc_lg *g, lg_conn *c, uint64_t off)
{
	return g->pattern + (off + (uint64_t)c->idx * 977u) % PC_PERIOD;
}

static void record(pc_lg *g, uint64_t rtt)
{
	g->hist[pc_hist_bucket(rtt)]++;
	if (rtt > g->hmax)
		g->hmax = rtt;
}

/* done_message counts message k (whose last byte just came back). */
static void done_message(pc_lg *g, lg_conn *c, uint64_t k, uint64_t now)
{
	ADD(messages, 1);
	if (g->cur == PC_LG_MEASURE) {
		ADD(measured, 1);
		record(g, now - c->ts[k % (uint64_t)g->cap]);
	}
}

static void check(pc_lg *g, lg_conn *c, const unsigned char *b, size_t n)
{
	size_t done = 0;
	while (done < n) {
		uint64_t off = c->recvd + done;
		size_t run = PC_PERIOD - (size_t)((off + (uint64_t)c->idx * 977u) % PC_PERIOD);
		if (run > n - done)
			run = n - done;
		const unsigned char *want = pat(g, c, off);
		if (memcmp(b + done, want, run) != 0) {
			uint64_t bad = 0;
			for (size_t i = 0; i < run; i++) {
				if (b[done + i] != want[i]) {
					if (bad == 0 && __atomic_load_n(&g->st.mismatched, __ATOMIC_RELAXED) == 0) {
						g->st.first_mismatch_conn = c->idx;
						g->st.first_mismatch_off = off + i;
					}
					bad++;
				}
			}
			ADD(mismatched, bad);
		}
		done += run;
	}
}

/* pump reads what came back and sends what the mode allows; edge-triggered,
 * so it reads until a short read and sends until a short write or the window
 * is full. */
static void pump(pc_lg *g, lg_conn *c, uint32_t events)
{
	uint64_t size = (uint64_t)g->size;
	if (!c->connected) {
		int soerr = 0;
		socklen_t l = sizeof(soerr);
		getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &l);
		if (soerr) {
			conn_lost(g, c, soerr);
			return;
		}
		if (!(events & EPOLLOUT))
			return;
		c->connected = 1;
		ADD(connected, 1);
		c->limit = g->mode == PC_LG_PINGPONG ? size : g->window;
	}
	for (;;) {
		ssize_t n = recv(c->fd, g->rbuf, PC_CHUNK, 0);
		if (n == 0) {
			conn_lost(g, c, 0);
			return;
		}
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK) {
				conn_lost(g, c, errno);
				return;
			}
			break;
		}
		check(g, c, g->rbuf, (size_t)n);
		uint64_t before = c->recvd;
		c->recvd += (uint64_t)n;
		ADD(bytes_in, n);
		if (g->cur == PC_LG_MEASURE)
			ADD(measured_in, n);
		if (c->recvd / size > before / size) {
			uint64_t now = now_ns();
			for (uint64_t k = before / size; k < c->recvd / size; k++)
				done_message(g, c, k, now);
		}
		if (c->recvd > c->sent) { /* more came back than was sent */
			conn_lost(g, c, EPROTO);
			return;
		}
		if ((size_t)n < PC_CHUNK)
			break;
	}
	if (g->cur == PC_LG_STOP)
		return;
	if (g->mode == PC_LG_PINGPONG) {
		if (c->recvd == c->limit)
			c->limit += size; /* the whole message came back: next one */
	} else {
		c->limit = c->recvd + g->window;
	}
	while (c->sent < c->limit) {
		if (c->sent % size == 0 && g->mode == PC_LG_PINGPONG)
			c->ts[(c->sent / size) % (uint64_t)g->cap] = now_ns();
		uint64_t want = c->limit - c->sent;
		uint64_t run = PC_PERIOD - (c->sent + (uint64_t)c->idx * 977u) % PC_PERIOD;
		if (want > run)
			want = run;
		ssize_t n = send(c->fd, pat(g, c, c->sent), (size_t)want, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				conn_lost(g, c, errno);
			return;
		}
		uint64_t before = c->sent;
		c->sent += (uint64_t)n;
		ADD(bytes_out, n);
		if (g->cur == PC_LG_MEASURE)
			ADD(measured_out, n);
		if (g->mode == PC_LG_STREAMING && c->sent / size > before / size) {
			/* streaming: a message's round trip starts when its last byte is sent */
			uint64_t now = now_ns();
			for (uint64_t k = before / size; k < c->sent / size; k++)
				c->ts[k % (uint64_t)g->cap] = now;
		}
		if ((uint64_t)n < want)
			return;
	}
}

/* drained reports whether every live connection got back all it sent. */
static int drained(pc_lg *g)
{
	for (int i = 0; i < g->nconns; i++) {
		lg_conn *c = &g->conns[i];
		if (!c->dead && c->connected && c->recvd != c->sent)
			return 0;
	}
	return 1;
}

int pc_lg_run(pc_lg *g)
{
	struct epoll_event evs[PC_EVENTS];
	int phase = PC_LG_WARMUP;
	uint64_t deadline = 0;
	while (g->alive > 0) {
		int p = __atomic_load_n(&g->phase, __ATOMIC_ACQUIRE);
		if (p != phase) {
			uint64_t now = now_ns();
			if (p == PC_LG_MEASURE)
				g->t_measure = now;
			if (p == PC_LG_STOP) {
				if (phase == PC_LG_MEASURE)
					__atomic_store_n(&g->st.window_ns, now - g->t_measure, __ATOMIC_RELAXED);
				else
					g->t_measure = 0;
				/* Stop sending; wait (bounded) for what is in flight, so
				 * that every byte sent is checked and the sockets close
				 * with nothing unread (a FIN, not a reset). */
				deadline = now + PC_LG_DRAIN_NS;
			}
			phase = p;
			g->cur = p;
		}
		if (phase == PC_LG_STOP && (drained(g) || now_ns() > deadline))
			break;
		int n = epoll_wait(g->ep, evs, PC_EVENTS, 5);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno;
		}
		for (int i = 0; i < n; i++) {
			lg_conn *c = &g->conns[evs[i].data.u32];
			if (!c->dead)
				pump(g, c, evs[i].events);
		}
	}
	if (phase == PC_LG_MEASURE)
		__atomic_store_n(&g->st.window_ns, now_ns() - g->t_measure, __ATOMIC_RELAXED);
	uint64_t un = 0;
	for (int i = 0; i < g->nconns; i++) {
		lg_conn *c = &g->conns[i];
		if (!c->dead)
			un += c->sent - c->recvd;
	}
	__atomic_store_n(&g->st.unanswered, un, __ATOMIC_RELAXED);
	return 0;
}

void pc_lg_phase(pc_lg *g, int phase) { __atomic_store_n(&g->phase, phase, __ATOMIC_RELEASE); }

void pc_lg_stats_read(pc_lg *g, pc_lg_stats *out)
{
	out->connected = __atomic_load_n(&g->st.connected, __ATOMIC_RELAXED);
	out->messages = __atomic_load_n(&g->st.messages, __ATOMIC_RELAXED);
	out->measured = __atomic_load_n(&g->st.measured, __ATOMIC_RELAXED);
	out->bytes_out = __atomic_load_n(&g->st.bytes_out, __ATOMIC_RELAXED);
	out->bytes_in = __atomic_load_n(&g->st.bytes_in, __ATOMIC_RELAXED);
	out->measured_out = __atomic_load_n(&g->st.measured_out, __ATOMIC_RELAXED);
	out->measured_in = __atomic_load_n(&g->st.measured_in, __ATOMIC_RELAXED);
	out->mismatched = __atomic_load_n(&g->st.mismatched, __ATOMIC_RELAXED);
	out->conn_errors = __atomic_load_n(&g->st.conn_errors, __ATOMIC_RELAXED);
	out->unanswered = __atomic_load_n(&g->st.unanswered, __ATOMIC_RELAXED);
	out->window_ns = __atomic_load_n(&g->st.window_ns, __ATOMIC_RELAXED);
	out->first_errno = __atomic_load_n(&g->st.first_errno, __ATOMIC_RELAXED);
	out->first_mismatch_conn = g->st.first_mismatch_conn;
	out->first_mismatch_off = g->st.first_mismatch_off;
}

void pc_lg_hist(pc_lg *g, uint64_t *counts, uint64_t *max_ns)
{
	memcpy(counts, g->hist, sizeof(g->hist));
	*max_ns = g->hmax;
}

void pc_lg_free(pc_lg *g)
{
	if (!g)
		return;
	for (int i = 0; i < g->nconns; i++) {
		if (g->conns[i].fd >= 0)
			close(g->conns[i].fd);
		free(g->conns[i].ts);
	}
	free(g->conns);
	if (g->ep >= 0)
		close(g->ep);
	free(g->pattern);
	free(g->rbuf);
	free(g);
}
