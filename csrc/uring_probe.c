/* uring_probe.c: can this process use io_uring, and with which operations? */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kp_testhooks.h"
#include "kp_uring.h"
#include "uring_internal.h"

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

/* The probe has room for every opcode a kernel can report (the field is a
 * byte). */
#define PROBE_OPS 256

/* The settings of the test hook, the only global state here: each is read
 * and written atomically, from any thread; the two are not one snapshot, so
 * tests set them before the probes and rings that should see them. */
static unsigned int hide_ops, hide_what;

void kp_uring_compat_hide(unsigned int ops, unsigned int what)
{
	__atomic_store_n(&hide_ops, ops, __ATOMIC_RELAXED);
	__atomic_store_n(&hide_what, what, __ATOMIC_RELAXED);
}

unsigned int kp_uring_hidden(void)
{
	return __atomic_load_n(&hide_what, __ATOMIC_RELAXED);
}

int kp_uring_init(unsigned entries, struct io_uring *ring,
		  struct io_uring_params *p)
{
	unsigned int hide = kp_uring_hidden();

	if ((hide & KP_COMPAT_NO_CQSIZE) && (p->flags & IORING_SETUP_CQSIZE))
		return -EINVAL;
	int ret = io_uring_queue_init_params(entries, ring, p);
	if (ret < 0)
		return ret;
	unsigned int feats = 0;
	if (hide & KP_COMPAT_NO_NODROP)
		feats |= IORING_FEAT_NODROP;
	/* liburing reads ring->features: without EXT_ARG, its timed waits
	 * submit a TIMEOUT of its own, as on kernels before 5.11. */
	if (hide & KP_COMPAT_NO_EXT_ARG)
		feats |= IORING_FEAT_EXT_ARG;
	p->features &= ~feats;
	ring->features &= ~feats;
	return 0;
}

int kp_uring_ops(struct io_uring *ring, unsigned int *ops)
{
	*ops = 0;
	if (kp_uring_hidden() & KP_COMPAT_NO_PROBE)
		return 0;
	struct io_uring_probe *probe =
		calloc(1, sizeof(*probe) +
				  PROBE_OPS * sizeof(struct io_uring_probe_op));
	if (probe == NULL)
		return -ENOMEM;
	int ret = io_uring_register_probe(ring, probe, PROBE_OPS);
	if (ret < 0) {
		free(probe);
		/* Before 5.6 the kernel has no probe (EINVAL). */
		return ret == -EINVAL ? 0 : ret;
	}
	unsigned int mask = 0;
	for (size_t i = 0; i < sizeof(wanted_ops) / sizeof(wanted_ops[0]);
	     i++) {
		if (io_uring_opcode_supported(probe, wanted_ops[i].op))
			mask |= wanted_ops[i].bit;
	}
	free(probe);
	*ops = mask & ~__atomic_load_n(&hide_ops, __ATOMIC_RELAXED);
	return 0;
}

int kp_uring_probe(unsigned int *ops)
{
	struct io_uring_params p;
	struct io_uring ring;

	if (ops == NULL)
		return -EINVAL;
	memset(&p, 0, sizeof(p));
	int r = kp_uring_init(4, &ring, &p);
	if (r < 0)
		return r;
	unsigned int mask = 0;
	r = kp_uring_ops(&ring, &mask);
	io_uring_queue_exit(&ring);
	if (r < 0)
		return r;
	*ops = mask;
	return 0;
}
