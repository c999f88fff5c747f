#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/sysmacros.h>

#include "attach/dmtable.h"
#include "base/error.h"

void vd_dmtable_dispose(struct vd_dm_table *t)
{
	if (!t)
		return;
	free(t->targets);
	t->targets = NULL;
	t->n = 0;
}

static bool aligned(uint64_t v)
{
	return v % VD_SECTOR_SIZE == 0;
}

static bool continues(const struct vd_dm_target *prev, const struct vd_dm_target *next)
{
	return prev->dev == next->dev && prev->start + prev->length == next->start &&
	       prev->offset + prev->length == next->offset;
}

int vd_dmtable_append(struct vd_dm_table *t, const struct vd_dm_target *target)
{
	struct vd_dm_target *grown;

	if (t->n >= SIZE_MAX / sizeof(*grown) - 1)
		return -ENOMEM;
	grown = realloc(t->targets, (t->n + 1) * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	grown[t->n++] = *target;
	t->targets = grown;
	return 0;
}

int vd_dmtable_build(const struct vd_run *runs, size_t n, struct vd_dm_table *ret)
{
	struct vd_dm_table t = { 0 };
	uint64_t expect = 0; /* next VD byte the runs must start at */
	int r;

	if (n == 0)
		return vd_err(-EINVAL, "a VD without extents has no device-mapper table");

	for (size_t i = 0; i < n; i++) {
		const struct vd_run *run = &runs[i];
		struct vd_dm_target target;

		if (!aligned(run->vd_offset) || !aligned(run->length) ||
		    !aligned(run->dev_offset)) {
			r = vd_err(-EINVAL,
				   "run %zu of the VD is not sector-aligned (offset %" PRIu64
				   ", length %" PRIu64 ", device offset %" PRIu64 ")",
				   i, run->vd_offset, run->length, run->dev_offset);
			goto fail;
		}
		if (run->length == 0) {
			r = vd_err(-EINVAL, "run %zu of the VD is empty", i);
			goto fail;
		}
		if (run->vd_offset != expect) {
			r = vd_err(-EINVAL,
				   "run %zu of the VD starts at byte %" PRIu64 " but the previous "
				   "ended at %" PRIu64 " (%s)",
				   i, run->vd_offset, expect,
				   run->vd_offset < expect ? "overlap" : "gap");
			goto fail;
		}
		if (run->vd_offset > UINT64_MAX - run->length ||
		    run->dev_offset > UINT64_MAX - run->length) {
			r = vd_err(-EOVERFLOW, "run %zu of the VD overflows 64-bit byte offsets",
				   i);
			goto fail;
		}
		expect = run->vd_offset + run->length;

		target = (struct vd_dm_target){
			.start = run->vd_offset / VD_SECTOR_SIZE,
			.length = run->length / VD_SECTOR_SIZE,
			.dev = run->dev,
			.offset = run->dev_offset / VD_SECTOR_SIZE,
		};
		if (t.n > 0 && continues(&t.targets[t.n - 1], &target)) {
			t.targets[t.n - 1].length += target.length;
			continue;
		}
		r = vd_dmtable_append(&t, &target);
		if (r < 0)
			goto fail;
	}
	*ret = t;
	return 0;
fail:
	vd_dmtable_dispose(&t);
	return r;
}

uint64_t vd_dmtable_sectors(const struct vd_dm_table *t)
{
	uint64_t total = 0;

	for (size_t i = 0; i < t->n; i++)
		total += t->targets[i].length;
	return total;
}

const char *vd_dmtable_params(const struct vd_dm_target *t, char *buf, size_t len)
{
	snprintf(buf, len, "%u:%u %" PRIu64, major(t->dev), minor(t->dev), t->offset);
	return buf;
}

int vd_dmtable_parse_params(const char *params, struct vd_dm_target *ret)
{
	unsigned maj, min;
	uint64_t off;
	int end = 0;

	if (!params || sscanf(params, "%u:%u %" SCNu64 "%n", &maj, &min, &off, &end) != 3 ||
	    params[end] != '\0')
		return -EINVAL;
	ret->dev = makedev(maj, min);
	ret->offset = off;
	return 0;
}

/* Walks a table target by target with adjacent ones merged, so that two tables that map the
 * same sectors the same way compare equal however they were split. */
struct merged_iter {
	const struct vd_dm_table *t;
	size_t i;
};

static bool merged_next(struct merged_iter *it, struct vd_dm_target *ret)
{
	if (it->i >= it->t->n)
		return false;
	*ret = it->t->targets[it->i++];
	while (it->i < it->t->n && continues(ret, &it->t->targets[it->i]))
		ret->length += it->t->targets[it->i++].length;
	return true;
}

static bool target_same(const struct vd_dm_target *a, const struct vd_dm_target *b)
{
	return a->start == b->start && a->length == b->length && a->dev == b->dev &&
	       a->offset == b->offset;
}

bool vd_dmtable_equal(const struct vd_dm_table *a, const struct vd_dm_table *b)
{
	struct merged_iter ia = { a, 0 }, ib = { b, 0 };
	struct vd_dm_target ta, tb;

	for (;;) {
		bool ha = merged_next(&ia, &ta), hb = merged_next(&ib, &tb);

		if (ha != hb)
			return false;
		if (!ha)
			return true;
		if (!target_same(&ta, &tb))
			return false;
	}
}

bool vd_dmtable_is_prefix(const struct vd_dm_table *a, const struct vd_dm_table *b)
{
	struct merged_iter ia = { a, 0 }, ib = { b, 0 };
	struct vd_dm_target ta, tb;

	for (;;) {
		if (!merged_next(&ia, &ta))
			return true;
		if (!merged_next(&ib, &tb))
			return false;
		if (target_same(&ta, &tb))
			continue;
		/* The last run of a may have been extended in b (the new extents followed on). */
		return ta.start == tb.start && ta.dev == tb.dev && ta.offset == tb.offset &&
		       ta.length < tb.length && !merged_next(&ia, &ta);
	}
}

bool vd_dmtable_uses(const struct vd_dm_table *t, dev_t dev, uint64_t offset, uint64_t length)
{
	for (size_t i = 0; i < t->n; i++) {
		const struct vd_dm_target *x = &t->targets[i];

		if (x->dev != dev)
			continue;
		if (offset < x->offset + x->length && x->offset < offset + length)
			return true;
	}
	return false;
}

int vd_dmtable_format(const struct vd_dm_table *t, char **ret)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return -ENOMEM;
	for (size_t i = 0; i < t->n; i++) {
		char params[48];

		fprintf(f, "%" PRIu64 " %" PRIu64 " linear %s\n", t->targets[i].start,
			t->targets[i].length,
			vd_dmtable_params(&t->targets[i], params, sizeof(params)));
	}
	if (fclose(f) != 0) {
		free(buf);
		return -ENOMEM;
	}
	*ret = buf;
	return 0;
}
