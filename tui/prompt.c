/* tui/prompt: a line of input in the bottom row (the / filter). */
#include "view.h"

#include <curses.h>
#include <string.h>

#include "term.h"

int
pytm_prompt_line(const char *label, char *buf, size_t len)
{
    size_t n = strlen(buf);
    curs_set(1);
    for (;;) {
        move(LINES - 1, 0);
        clrtoeol();
        mvprintw(LINES - 1, 0, "%s%s", label, buf);
        refresh();
        int ch = pytm_term_getch(-1); /* Alt-x: no Esc, ignored */
        if (ch == 27) {
            curs_set(0);
            return -1;
        }
        if (ch == '\n' || ch == KEY_ENTER || ch == '\r')
            break;
        if ((ch == KEY_BACKSPACE || ch == 127 || ch == 8) && n > 0)
            buf[--n] = '\0';
        else if (ch >= 32 && ch < 256 && n + 1 < len) {
            buf[n++] = (char)ch;
            buf[n] = '\0';
        }
    }
    curs_set(0);
    return 0;
}
