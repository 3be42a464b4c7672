/*
 * zpar.c: one deflate stream compressed on several threads, pigz's way.
 *
 * The input is cut into blocks of KP_PAR_BLOCK bytes. Worker threads
 * compress the blocks, each into raw deflate data that ends on a byte
 * boundary with an empty stored block after it (the last block ends the
 * stream), so that the blocks' outputs joined in order are one deflate
 * stream; the calling thread reads, hands out blocks, joins the outputs and
 * the blocks' checks (CRC-32 or Adler-32, combined). zlib compresses each
 * block primed with the 32 KiB before it, so the window crosses blocks as in
 * one stream. libdeflate (at levels 4 to 9, where loaded) has no priming
 * and always ends its data with a final block: its blocks start with an
 * empty window, and a block's final bit is cleared where zlib's inflate
 * finds the last block's header. The output depends on the data alone, not
 * on the number of threads or on timing.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "kp_testhooks.h"
#include "zinternal.h"

#define KP_PAR_DICT ((size_t)32 * 1024)

/* Worker threads alive in the process, for tests (kp_z_test_workers). */
static _Atomic int64_t live_workers;

int64_t kp_z_test_workers(void)
{
	return live_workers;
}

struct job {
	int done; /* compressed (under the lock) */
	int last;
	int err; /* 0 or a kp_z_step error */
	uint8_t *in;
	size_t in_len;
	uint8_t dict[KP_PAR_DICT];
	size_t dict_len;
	uint8_t *out;
	size_t out_cap, out_len;
	uint32_t check; /* of in, the format's */
};

struct kp_par {
	pthread_mutex_t mu;
	pthread_cond_t work; /* a job queued, or stop */
	pthread_cond_t done; /* a job done */
	int stop;
	int format, level, use_ld;
	int nthreads, started;
	pthread_t th[KP_PAR_MAX_THREADS];
	uint8_t tail[KP_PAR_DICT]; /* the input's last 32 KiB so far */
	size_t tail_len;
	size_t njobs;
	struct job *jobs;
	/* Sequence numbers; job i is jobs[i % njobs]. The caller fills
	 * next_fill, workers take next_take, the caller emits next_emit. */
	uint64_t next_fill, next_take, next_emit;
};

/* ---- one block on a worker --------------------------------------------- */

struct worker {
	z_stream def, inf; /* zlib's deflate, and inflate to find blocks */
	int def_ok, inf_ok;
	struct kp_ld *ld;
	uint8_t *scratch; /* inflate's output, thrown away */
};

#define SCRATCH_LEN ((size_t)64 * 1024)

/* The bit where the last deflate block of p[0..n) starts, and the unused
 * bits at the end of its last byte; -1 when zlib finds it invalid. */
static int64_t last_block(struct worker *w, const uint8_t *p, size_t n,
			  int *pad)
{
	int64_t start = 0;

	if (!w->inf_ok) {
		memset(&w->inf, 0, sizeof(w->inf));
		if (inflateInit2(&w->inf, -15) != Z_OK)
			return -1;
		w->inf_ok = 1;
	} else if (inflateReset(&w->inf) != Z_OK) {
		return -1;
	}
	w->inf.next_in = (Bytef *)(uintptr_t)p;
	w->inf.avail_in = (uInt)n;
	for (;;) {
		w->inf.next_out = w->scratch;
		w->inf.avail_out = (uInt)SCRATCH_LEN;
		int zr = inflate(&w->inf, Z_BLOCK);
		int64_t used = (int64_t)(n - w->inf.avail_in);
		/* data_type: 128 at the end of a block (then 64 if it was
		 * the last); its low 6 bits count the bits inflate has taken
		 * from next_in but not used, which can be more than a byte. */
		int held = w->inf.data_type & 63;
		if (zr == Z_STREAM_END)
			return w->inf.avail_in == 0 && *pad >= 0 ? start : -1;
		if (zr != Z_OK)
			return -1;
		if ((w->inf.data_type & 192) == 128) /* the next one starts */
			start = used * 8 - held;
		else if ((w->inf.data_type & 192) == 192) /* the final ended */
			*pad = used == (int64_t)n && held < 8 ? held : -1;
	}
}

/* Raw deflate data that ends with a final block made to go on: its final
 * bit cleared, and an empty stored block after it, byte-aligned. */
static int unfinish(struct worker *w, struct job *j)
{
	int pad = -1;
	int64_t bit = last_block(w, j->out, j->out_len, &pad);

	if (bit < 0 || j->out_len + 5 > j->out_cap)
		return KP_ZE_STATE;
	j->out[bit / 8] &= (uint8_t) ~(1u << (bit % 8));
	/* The stored block's 3 header bits are 0, as is the padding: they
	 * fit in the last byte when 3 bits of it are unused. */
	if (pad < 3)
		j->out[j->out_len++] = 0;
	memcpy(j->out + j->out_len, "\x00\x00\xff\xff", 4);
	j->out_len += 4;
	return 0;
}

static int block_zlib(struct kp_par *p, struct worker *w, struct job *j)
{
	if (!w->def_ok) {
		memset(&w->def, 0, sizeof(w->def));
		if (deflateInit2(&w->def, kp_zlib_level(p->level), Z_DEFLATED,
				 -15, 8, kp_zlib_strategy(p->level)) != Z_OK)
			return -ENOMEM;
		w->def_ok = 1;
	} else if (deflateReset(&w->def) != Z_OK) {
		return KP_ZE_STATE;
	}
	if (j->dict_len > 0 &&
	    deflateSetDictionary(&w->def, j->dict, (uInt)j->dict_len) != Z_OK)
		return KP_ZE_STATE;
	w->def.next_in = j->in;
	w->def.avail_in = (uInt)j->in_len;
	w->def.next_out = j->out;
	w->def.avail_out = (uInt)j->out_cap;
	int zr = deflate(&w->def, j->last ? Z_FINISH : Z_SYNC_FLUSH);
	j->out_len = j->out_cap - w->def.avail_out;
	if (w->def.avail_in != 0 || (j->last ? zr != Z_STREAM_END : zr != Z_OK))
		return KP_ZE_STATE; /* out_cap has room for the worst case */
	return 0;
}

static int block_ld(struct kp_par *p, struct worker *w, struct job *j)
{
	int r;

	if (w->ld == NULL && (w->ld = kp_ld_new()) == NULL)
		return -ENOMEM;
	if ((r = kp_ld_reset(w->ld, p->level)) < 0)
		return r;
	j->out_len =
		kp_ld_compress(w->ld, j->in, j->in_len, j->out, j->out_cap);
	if (j->out_len == 0)
		return KP_ZE_STATE;
	return j->last ? 0 : unfinish(w, j);
}

static void *work(void *arg)
{
	struct kp_par *p = arg;
	struct worker w;

	live_workers++;
	memset(&w, 0, sizeof(w));
	w.scratch = malloc(SCRATCH_LEN);
	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (!p->stop && p->next_take == p->next_fill)
			pthread_cond_wait(&p->work, &p->mu);
		if (p->stop)
			break;
		struct job *j = &p->jobs[p->next_take++ % p->njobs];
		pthread_mutex_unlock(&p->mu);
		int r = w.scratch == NULL ? -ENOMEM
			: p->use_ld       ? block_ld(p, &w, j)
					  : block_zlib(p, &w, j);
		j->check = kp_zcheck_add(p->format, kp_zcheck_init(p->format),
					 j->in, j->in_len);
		pthread_mutex_lock(&p->mu);
		j->err = r;
		j->done = 1;
		pthread_cond_broadcast(&p->done);
	}
	pthread_mutex_unlock(&p->mu);
	if (w.def_ok)
		(void)deflateEnd(&w.def);
	if (w.inf_ok)
		(void)inflateEnd(&w.inf);
	kp_ld_free(w.ld);
	free(w.scratch);
	live_workers--;
	return NULL;
}

/* ---- the caller's side ----------------------------------------------------- */

struct kp_par *kp_par_new(int format, int level, int threads)
{
	struct kp_par *p;

	if (threads < 2)
		return NULL;
	if (threads > KP_PAR_MAX_THREADS)
		threads = KP_PAR_MAX_THREADS;
	p = calloc(1, sizeof(*p));
	if (p == NULL)
		return NULL;
	p->format = format;
	p->level = level;
	p->use_ld = kp_ld_deflates(level);
	p->nthreads = threads;
	p->njobs = 2 * (size_t)threads;
	p->jobs = calloc(p->njobs, sizeof(*p->jobs));
	if (p->jobs == NULL)
		goto free_p;
	if (pthread_mutex_init(&p->mu, NULL) != 0)
		goto free_jobs;
	if (pthread_cond_init(&p->work, NULL) != 0)
		goto destroy_mu;
	if (pthread_cond_init(&p->done, NULL) != 0)
		goto destroy_work;
	/* Room for a block's worst case: zlib's bound, libdeflate's is
	 * smaller, and 5 bytes for the stored block after it. */
	size_t cap = (size_t)compressBound((uLong)KP_PAR_BLOCK) + 64;
	for (size_t i = 0; i < p->njobs; i++) {
		struct job *j = &p->jobs[i];
		j->in = malloc(KP_PAR_BLOCK);
		j->out = malloc(cap);
		j->out_cap = cap;
		if (j->in == NULL || j->out == NULL) {
			kp_par_free(p);
			return NULL;
		}
	}
	return p;

destroy_work:
	pthread_cond_destroy(&p->work);
destroy_mu:
	pthread_mutex_destroy(&p->mu);
free_jobs:
	free(p->jobs);
free_p:
	free(p);
	return NULL;
}

void kp_par_free(struct kp_par *p)
{
	if (p == NULL)
		return;
	pthread_mutex_lock(&p->mu);
	p->stop = 1;
	pthread_cond_broadcast(&p->work);
	pthread_mutex_unlock(&p->mu);
	for (int i = 0; i < p->started; i++)
		(void)pthread_join(p->th[i], NULL);
	for (size_t i = 0; i < p->njobs; i++) {
		free(p->jobs[i].in);
		free(p->jobs[i].out);
	}
	pthread_cond_destroy(&p->done);
	pthread_cond_destroy(&p->work);
	pthread_mutex_destroy(&p->mu);
	free(p->jobs);
	free(p);
}

/* The job being filled, or NULL while every job is in use. */
static struct job *filling(struct kp_par *p)
{
	if (p->next_fill - p->next_emit >= p->njobs)
		return NULL;
	return &p->jobs[p->next_fill % p->njobs];
}

int64_t kp_par_room(const struct kp_par *p)
{
	const struct job *j = filling((struct kp_par *)p);
	return j == NULL ? -1 : (int64_t)(KP_PAR_BLOCK - j->in_len);
}

size_t kp_par_take(struct kp_par *p, const uint8_t *in, size_t n)
{
	struct job *j = filling(p);

	if (j == NULL)
		return 0;
	if (n > KP_PAR_BLOCK - j->in_len)
		n = KP_PAR_BLOCK - j->in_len;
	if (n > 0)
		memcpy(j->in + j->in_len, in, n);
	j->in_len += n;
	return n;
}

int kp_par_submit(struct kp_par *p, int last)
{
	struct job *j = filling(p);
	int r = 0;

	if (j == NULL)
		return KP_ZE_STATE;
	/* The 32 KiB before the block prime zlib. Every block but the last
	 * is KP_PAR_BLOCK long, so the tail is the block's own end. */
	memcpy(j->dict, p->tail, p->tail_len);
	j->dict_len = p->tail_len;
	p->tail_len = j->in_len < KP_PAR_DICT ? j->in_len : KP_PAR_DICT;
	if (p->tail_len > 0)
		memcpy(p->tail, j->in + j->in_len - p->tail_len, p->tail_len);
	j->last = last;
	j->err = 0;
	pthread_mutex_lock(&p->mu);
	j->done = 0;
	p->next_fill++;
	/* Threads start on demand, one per block in flight up to nthreads:
	 * a small input starts one. */
	if (p->started < p->nthreads &&
	    (uint64_t)p->started < p->next_fill - p->next_emit &&
	    pthread_create(&p->th[p->started], NULL, work, p) == 0)
		p->started++;
	if (p->started == 0)
		r = -EAGAIN;
	pthread_cond_signal(&p->work);
	pthread_mutex_unlock(&p->mu);
	return r;
}

int kp_par_next(struct kp_par *p, int wait, const uint8_t **out,
		size_t *out_len, uint32_t *check, size_t *in_len, int *last)
{
	struct job *j;
	int r;

	if (p->next_emit == p->next_fill)
		return 0;
	j = &p->jobs[p->next_emit % p->njobs];
	pthread_mutex_lock(&p->mu);
	while (wait && !j->done)
		pthread_cond_wait(&p->done, &p->mu);
	int done = j->done;
	pthread_mutex_unlock(&p->mu);
	if (!done)
		return 0;
	if ((r = j->err) < 0)
		return r;
	*out = j->out;
	*out_len = j->out_len;
	*check = j->check;
	*in_len = j->in_len;
	*last = j->last;
	return 1;
}

void kp_par_release(struct kp_par *p)
{
	struct job *j = &p->jobs[p->next_emit % p->njobs];

	j->in_len = 0;
	p->next_emit++;
}
