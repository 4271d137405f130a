/* pc_sub_screen_curses.c: the screen on curses: the terminal taken and
 * given back, the keys, the window's size. Curses keeps the window's size
 * itself: on SIGWINCH it updates LINES and COLS and getch() says
 * KEY_RESIZE, so a resize is one more key here. */
#include "pc_sub_screen.h"

#include <curses.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/pc_err.h"
#include "pc_sub_draw.h"

#define ESC_DELAY_MS 25 /* Esc alone, told from the start of a key's sequence */
#define NOTE_MAX     512

struct pc_screen {
	SCREEN *scr;
	pc_view view;
	bool    editing; /* the filter is being typed */
	bool    dirty;   /* a note came: draw again */
	char    note[NOTE_MAX];
};

int
pc_screen_open(pc_screen **out, const pc_view *view)
{
	pc_screen *s = calloc(1, sizeof(*s));

	*out = NULL;
	if (s == NULL) {
		return PC_ENOMEM;
	}
	/* UTF-8 names shown as themselves; only LC_CTYPE, so that numbers
	 * keep their '.' in every locale. */
	setlocale(LC_CTYPE, "");
	/* newterm, not initscr: a terminal curses cannot drive is an error
	 * to fall back from, where initscr would exit. */
	if ((s->scr = newterm(NULL, stdout, stdin)) == NULL) {
		free(s);
		return PC_ENOTSUP;
	}
	s->view = *view;
	cbreak(); /* keys at once; Ctrl-C still stops, through pc_catch_stop */
	noecho();
	nonl();
	keypad(stdscr, TRUE);
	nodelay(stdscr, TRUE);
	set_escdelay(ESC_DELAY_MS);
	curs_set(0);
	*out = s;
	return PC_OK;
}

void
pc_screen_close(pc_screen *s)
{
	if (s != NULL) {
		endwin();
		delscreen(s->scr);
		free(s);
	}
}

const pc_view *
pc_screen_view(const pc_screen *s)
{
	return &s->view;
}

/* A key while the filter is typed: text, Backspace, Enter keeps, Esc clears. */
static void
edit_key(pc_screen *s, int c)
{
	size_t n = strlen(s->view.filter);

	if (c == '\r' || c == '\n' || c == KEY_ENTER) {
		s->editing = false;
	} else if (c == 27) {
		s->editing        = false;
		s->view.filter[0] = '\0';
	} else if (c == KEY_BACKSPACE || c == 127 || c == 8) {
		/* A whole UTF-8 character: its continuation bytes, then its lead. */
		while (n > 0 && ((unsigned char)s->view.filter[n - 1] & 0xc0) == 0x80) {
			n--;
		}
		s->view.filter[n > 0 ? n - 1 : 0] = '\0';
	} else if (c >= 0x20 && c < 0x100 && c != 0x7f && n < PC_FILTER_MAX) {
		s->view.filter[n]     = (char)c;
		s->view.filter[n + 1] = '\0';
	}
}

/* A key of the table. */
static pc_screen_do
view_key(pc_screen *s, int c)
{
	switch (c) {
	case 'q':
	case 'Q':
		return PC_SCREEN_QUIT;
	case 'c':
	case 'C':
		s->view.sort = PC_SORT_CPU;
		break;
	case 'm':
	case 'M':
		s->view.sort = PC_SORT_MEM;
		break;
	case 'i':
	case 'I':
		s->view.sort = PC_SORT_IO;
		break;
	case 'p':
	case 'P':
		s->view.sort = PC_SORT_PID;
		break;
	case 'n':
	case 'N':
		s->view.sort = PC_SORT_NAME;
		break;
	case 'k':
	case 'K':
		s->view.kernel = !s->view.kernel;
		break;
	case '/':
		s->editing = true;
		break;
	case 27:
		s->view.filter[0] = '\0';
		break;
	case 12: /* Ctrl-L: the whole screen again, as it should be */
		clearok(curscr, TRUE);
		break;
	}
	return PC_SCREEN_REDRAW;
}

pc_screen_do
pc_screen_keys(pc_screen *s)
{
	pc_screen_do todo = s->dirty ? PC_SCREEN_REDRAW : PC_SCREEN_IDLE;
	int          c;

	s->dirty = false;
	while ((c = getch()) != ERR) {
		if (c == KEY_RESIZE) {
			todo = PC_SCREEN_REDRAW;
			continue;
		}
		s->note[0] = '\0';
		if (s->editing) {
			edit_key(s, c);
			todo = PC_SCREEN_REDRAW;
		} else if (view_key(s, c) == PC_SCREEN_QUIT) {
			return PC_SCREEN_QUIT;
		} else {
			todo = PC_SCREEN_REDRAW;
		}
	}
	return todo;
}

void
pc_screen_draw(pc_screen *s, const pc_stream_state *st, const pc_table *t)
{
	pc_draw_foot foot = { .editing = s->editing, .note = s->note[0] ? s->note : NULL };

	curs_set(s->editing ? 1 : 0);
	pc_draw(st, t, &s->view, &foot);
}

void
pc_screen_note(pc_screen *s, const char *msg)
{
	snprintf(s->note, sizeof(s->note), "%s", msg);
	s->dirty = true;
	/* stderr is this terminal only when it is one; a file or a pipe
	 * keeps every message, as without the screen. */
	if (!isatty(STDERR_FILENO)) {
		fprintf(stderr, "pidcast-sub: %s\n", msg);
	}
}
