/* uring_probe.c: can this process use io_uring, and with which operations? */
#include <errno.h>
#include <liburing.h>

#include "kpipe.h"

static const struct {
	int op;
	unsigned int bit;
} wanted_ops[] = {
	{ IORING_OP_SPLICE, KP_URING_SPLICE },
	{ IORING_OP_TEE, KP_URING_TEE },
	{ IORING_OP_POLL_ADD, KP_URING_POLL_ADD },
	{ IORING_OP_ASYNC_CANCEL, KP_URING_ASYNC_CANCEL },
	{ IORING_OP_LINK_TIMEOUT, KP_URING_LINK_TIMEOUT },
};

int kp_uring_probe(unsigned int *ops)
{
	struct io_uring ring;
	int r = io_uring_queue_init(4, &ring, 0);
	if (r < 0)
		return r;
	struct io_uring_probe *probe = io_uring_get_probe_ring(&ring);
	if (probe == NULL) {
		io_uring_queue_exit(&ring);
		return -ENOMEM;
	}
	unsigned int mask = 0;
	for (size_t i = 0; i < sizeof(wanted_ops) / sizeof(wanted_ops[0]); i++) {
		if (io_uring_opcode_supported(probe, wanted_ops[i].op))
			mask |= wanted_ops[i].bit;
	}
	io_uring_free_probe(probe);
	io_uring_queue_exit(&ring);
	*ops = mask;
	return 0;
}
