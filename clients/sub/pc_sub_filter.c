/* pc_sub_filter.c: pidcast-sub's filters, and the JSON stream's view of
 * them (see pc_sub_filter.h). */
#include "pc_sub_filter.h"

#include "base/pc_glob.h"

/* The value of a shown PID in the map, which takes no NULL. */
static char shown_mark;

bool
pc_sub_filter_set(const pc_sub_filter *f)
{
	return f->has_pid || f->name != NULL || f->ctx.container != NULL ||
	       f->ctx.service != NULL || f->ctx.cgroup_glob != NULL;
}

bool
pc_sub_wanted(const pc_sub_filter *f, const pc_proc *p)
{
	return (!f->has_pid || p->pid == f->pid) &&
	       (f->name == NULL || (p->name != NULL && pc_glob(f->name, p->name))) &&
	       pc_match_context(p, &f->ctx);
}

size_t
pc_sub_filter_event(pc_sub_filter *f, pc_event ev, const pc_proc *p, pc_mask mask,
                    pc_sub_line out[2])
{
	size_t n = 0;
	bool   was, now;

	if (!pc_sub_filter_set(f)) { /* everything passes: nothing to keep */
		out[n++] = (pc_sub_line){ ev, mask, false };
		return n;
	}
	was = pc_idmap_get(&f->shown, p->pid) != NULL;
	now = pc_sub_wanted(f, p);
	if (now && !was && ev != PC_EV_NEW) { /* it came to match: new to the stream */
		out[n++] = (pc_sub_line){ PC_EV_NEW, PC_MASK_ALL, false };
	}
	if (ev == PC_EV_EXIT) {
		if (was || now) {
			out[n++] = (pc_sub_line){ PC_EV_EXIT, mask, false };
		}
		pc_idmap_remove(&f->shown, p->pid);
	} else if (now) {
		if (was || ev == PC_EV_NEW) {
			out[n++] = (pc_sub_line){ ev, mask, false };
		}
		/* Out of memory: not kept, so its next event shows it as new
		 * again, which a reader takes as a replacement. */
		(void)pc_idmap_set(&f->shown, p->pid, &shown_mark);
	} else if (was) {
		out[n++] = (pc_sub_line){ PC_EV_EXIT, mask, true };
		pc_idmap_remove(&f->shown, p->pid);
	}
	return n;
}

void
pc_sub_filter_fini(pc_sub_filter *f)
{
	pc_idmap_fini(&f->shown);
}
