/* xs.c's pipelined batches against a xenstored stand-in speaking the real wire protocol
 * (xs_wire.h) on a Unix socket, reached the way libxenstore reaches xenstored: through
 * XENSTORED_PATH. The stand-in answers a batch out of order, slips in watch events, and can
 * drop the batch connection half-way; the reads must come back right every time, and a batch
 * must really have many requests in flight. Real xenstored is exercised in tests/e2e/.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <xen/io/xs_wire.h>

#include "attach/xs.h"

#define NDOMS 300
#define MAX_CONN 8

/* ---- the stand-in: a flat table of nodes, answered by a thread ---- */

struct node {
	char path[96];
	char value[16];
};

static struct node nodes[3 * NDOMS + 8];
static size_t nnodes;
static char sockpath[108];
static int listen_fd = -1, stop_pipe[2];
static pthread_t server;

/* behaviour knobs, set by each test before it talks */
static bool reverse_batches; /* answer everything read at once in reverse order */
static bool watch_events;    /* put a watch event before every answer of a batch */
static int drop_after = -1;  /* close a batch connection after answering this many */
static unsigned max_in_flight; /* most requests seen in one read() on one connection */

static void add_node(const char *path, const char *value)
{
	snprintf(nodes[nnodes].path, sizeof(nodes[nnodes].path), "%s", path);
	snprintf(nodes[nnodes].value, sizeof(nodes[nnodes].value), "%s", value);
	nnodes++;
}

/* children of path: the next component of every node below it, each once */
static size_t directory(const char *path, char *out, size_t cap, bool *found)
{
	size_t plen = strlen(path), len = 0;

	*found = false;
	for (size_t i = 0; i < nnodes; i++) {
		const char *p = nodes[i].path, *child, *end;
		size_t clen;
		bool dup = false;

		if (strncmp(p, path, plen) != 0 || p[plen] != '/')
			continue;
		*found = true;
		child = p + plen + 1;
		end = strchr(child, '/');
		clen = end ? (size_t)(end - child) : strlen(child);
		for (size_t o = 0; o < len;) {
			size_t l = strlen(out + o);

			dup = dup || (l == clen && memcmp(out + o, child, clen) == 0);
			o += l + 1;
		}
		if (dup || len + clen + 1 > cap)
			continue;
		memcpy(out + len, child, clen);
		out[len + clen] = '\0';
		len += clen + 1;
	}
	return len;
}

static void answer(int fd, const struct xsd_sockmsg *req, const char *payload, bool event)
{
	struct {
		struct xsd_sockmsg hdr;
		char body[XENSTORE_PAYLOAD_MAX];
	} msg = { .hdr = { .req_id = req->req_id, .tx_id = req->tx_id } };
	bool found = false;

	if (event) {
		struct {
			struct xsd_sockmsg hdr;
			char body[16];
		} ev = { .hdr = { .type = XS_WATCH_EVENT, .len = 8 } };

		memcpy(ev.body, "/x\0tok\0\0", 8);
		(void)!write(fd, &ev, sizeof(ev.hdr) + 8);
	}
	msg.hdr.type = req->type;
	if (req->type == XS_READ) {
		for (size_t i = 0; i < nnodes && !found; i++)
			if (strcmp(nodes[i].path, payload) == 0) {
				found = true;
				msg.hdr.len = (uint32_t)strlen(nodes[i].value);
				memcpy(msg.body, nodes[i].value, msg.hdr.len);
			}
	} else if (req->type == XS_DIRECTORY) {
		msg.hdr.len = (uint32_t)directory(payload, msg.body, sizeof(msg.body), &found);
	}
	if (!found) {
		msg.hdr.type = XS_ERROR;
		msg.hdr.len = 7;
		memcpy(msg.body, "ENOENT", 7);
	}
	(void)!write(fd, &msg, sizeof(msg.hdr) + msg.hdr.len);
}

struct conn {
	int fd;
	size_t len;
	unsigned answered;
	char buf[64 * 1024];
};

/* Everything complete in the buffer, answered (reversed when asked); false: drop it. */
static bool serve(struct conn *c)
{
	size_t off = 0, n = 0, starts[512];

	while (c->len - off >= sizeof(struct xsd_sockmsg)) {
		struct xsd_sockmsg h;

		memcpy(&h, c->buf + off, sizeof(h)); /* messages are packed: no alignment */
		if (c->len - off < sizeof(h) + h.len || n == 512)
			break;
		starts[n++] = off;
		off += sizeof(h) + h.len;
	}
	if (n > max_in_flight)
		max_in_flight = (unsigned)n;
	for (size_t k = 0; k < n; k++) {
		size_t i = reverse_batches ? n - 1 - k : k;
		struct xsd_sockmsg h;
		char path[XENSTORE_PAYLOAD_MAX + 1];

		memcpy(&h, c->buf + starts[i], sizeof(h));
		memcpy(path, c->buf + starts[i] + sizeof(h), h.len);
		path[h.len] = '\0';
		/* a batch connection (more than one request at once) may be dropped */
		if (drop_after >= 0 && n > 1 && c->answered >= (unsigned)drop_after)
			return false;
		/* (libxenstore's own connection has no watches: never an event there) */
		answer(c->fd, &h, path, watch_events && n > 1);
		c->answered++;
	}
	memmove(c->buf, c->buf + off, c->len - off);
	c->len -= off;
	return true;
}

static void *server_main(void *unused)
{
	static struct conn conns[MAX_CONN];
	size_t nconn = 0;

	(void)unused;
	for (;;) {
		struct pollfd p[MAX_CONN + 2] = { { .fd = stop_pipe[0], .events = POLLIN },
						   { .fd = listen_fd, .events = POLLIN } };

		for (size_t i = 0; i < nconn; i++)
			p[2 + i] = (struct pollfd){ .fd = conns[i].fd, .events = POLLIN };
		if (poll(p, 2 + nconn, -1) < 0)
			continue;
		if (p[0].revents)
			break;
		if ((p[1].revents & POLLIN) && nconn < MAX_CONN) {
			conns[nconn] = (struct conn){ .fd = accept(listen_fd, NULL, NULL) };
			if (conns[nconn].fd >= 0)
				nconn++;
		}
		for (size_t i = 0; i < nconn; i++) {
			struct conn *c = &conns[i];
			ssize_t k;

			if (!(p[2 + i].revents & (POLLIN | POLLHUP)))
				continue;
			k = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);
			if (k > 0) {
				c->len += (size_t)k;
				if (serve(c))
					continue;
			}
			close(c->fd);
			conns[i] = conns[--nconn];
			break; /* the pollfd array no longer matches: poll again */
		}
	}
	for (size_t i = 0; i < nconn; i++)
		close(conns[i].fd);
	return NULL;
}

static int setup(void **state)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char path[96], value[16];

	(void)state;
	nnodes = 0;
	add_node("/local/domain/0/domid", "0");
	for (int d = 1; d <= NDOMS; d++) {
		snprintf(path, sizeof(path), "/local/domain/0/backend/vbd/%d/51712/physical-device",
			 d);
		snprintf(value, sizeof(value), "ca:%x", d);
		if (d % 7 != 0) /* every 7th not connected yet */
			add_node(path, value);
		snprintf(path, sizeof(path), "/local/domain/0/backend/vbd/%d/51712/mode", d);
		add_node(path, "w");
		if (d % 50 == 0) { /* a second disk now and then */
			snprintf(path, sizeof(path),
				 "/local/domain/0/backend/vbd/%d/51728/physical-device", d);
			add_node(path, "ca:0");
		}
	}
	snprintf(sockpath, sizeof(sockpath), "/tmp/xenvd-xs-wire-%d.sock", (int)getpid());
	unlink(sockpath);
	strcpy(sa.sun_path, sockpath);
	listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (listen_fd < 0 || bind(listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(listen_fd, 8) < 0 || pipe(stop_pipe) < 0)
		return -1;
	setenv("XENSTORED_PATH", sockpath, 1);
	return pthread_create(&server, NULL, server_main, NULL) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	(void)!write(stop_pipe[1], "x", 1);
	pthread_join(server, NULL);
	close(listen_fd);
	close(stop_pipe[0]);
	close(stop_pipe[1]);
	unlink(sockpath);
	unsetenv("XENSTORED_PATH");
	return 0;
}

static int knobs_reset(void **state)
{
	(void)state;
	reverse_batches = watch_events = false;
	drop_after = -1;
	max_in_flight = 0;
	return 0;
}

/* ---- tests ---- */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* lists every backend and reads each one's physical-device; checks both against the table */
static void list_and_read(void)
{
	struct vd_xs *xs = NULL;
	char **be = NULL, **pd = NULL;
	size_t n = 0, want = NDOMS + NDOMS / 50;

	assert_int_equal(vd_xs_open(NULL, &xs), 0);
	assert_int_equal(vd_xs_list_vbd_backends(xs, &be, &n), 0);
	assert_int_equal(n, want);
	qsort(be, n, sizeof(*be), cmp_str);
	for (size_t i = 1; i < n; i++)
		assert_true(strcmp(be[i - 1], be[i]) < 0); /* each once */
	assert_int_equal(vd_xs_read_each(xs, be, n, "physical-device", &pd), 0);
	for (size_t i = 0; i < n; i++) {
		int dom = 0, dev = 0;
		char expect[16];

		assert_int_equal(sscanf(be[i], "/local/domain/0/backend/vbd/%d/%d", &dom, &dev),
				 2);
		if (dev == 51728) {
			assert_string_equal(pd[i], "ca:0");
		} else if (dom % 7 == 0) {
			assert_null(pd[i]); /* missing is NULL, not an error */
		} else {
			snprintf(expect, sizeof(expect), "ca:%x", dom);
			assert_non_null(pd[i]);
			assert_string_equal(pd[i], expect);
		}
	}
	vd_xs_strv_free(pd, n);
	vd_xs_strv_free(be, n);
	vd_xs_close(xs);
}

static void test_batches_are_pipelined_and_right(void **state)
{
	(void)state;
	list_and_read();
	/* libxenstore alone never has more than one request in flight */
	assert_true(max_in_flight > 1);
}

static void test_answers_out_of_order_with_watch_events(void **state)
{
	(void)state;
	reverse_batches = true;
	watch_events = true;
	list_and_read();
	assert_true(max_in_flight > 1);
}

static void test_connection_dropped_mid_batch_falls_back(void **state)
{
	(void)state;
	drop_after = 40;
	list_and_read();
}

static void test_missing_backend_directory_is_empty(void **state)
{
	struct vd_xs *xs = NULL;
	char **be = NULL;
	size_t n = 99;

	(void)state;
	nnodes = 1; /* only /local/domain/0/domid */
	assert_int_equal(vd_xs_open(NULL, &xs), 0);
	assert_int_equal(vd_xs_list_vbd_backends(xs, &be, &n), 0);
	assert_int_equal(n, 0);
	vd_xs_close(xs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_batches_are_pipelined_and_right, knobs_reset),
		cmocka_unit_test_setup(test_answers_out_of_order_with_watch_events, knobs_reset),
		cmocka_unit_test_setup(test_connection_dropped_mid_batch_falls_back, knobs_reset),
		cmocka_unit_test_setup(test_missing_backend_directory_is_empty, knobs_reset),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
