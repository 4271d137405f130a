/* pc_sub_screen_none.c: the screen of a build without curses: there is
 * none, and pidcast-sub prints its plain table. */
#include "pc_sub_screen.h"

#include <stddef.h>

#include "base/pc_err.h"

int
pc_screen_open(pc_screen **out, const pc_view *view)
{
	(void)view;
	*out = NULL;
	return PC_ENOTSUP;
}

void
pc_screen_close(pc_screen *s)
{
	(void)s;
}

const pc_view *
pc_screen_view(const pc_screen *s)
{
	(void)s;
	return NULL;
}

pc_screen_do
pc_screen_keys(pc_screen *s)
{
	(void)s;
	return PC_SCREEN_IDLE;
}

void
pc_screen_draw(pc_screen *s, const pc_stream_state *st, const pc_table *t)
{
	(void)s;
	(void)st;
	(void)t;
}

void
pc_screen_note(pc_screen *s, const char *msg)
{
	(void)s;
	(void)msg;
}
