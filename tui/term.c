/* tui/term: curses start/stop, held stderr, signal handlers. */
#include "term.h"

#include <curses.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* Owned by the main thread; the signal handlers only read them and call
 * pytm_term_stop, which tests and clears `active` first. */
static volatile sig_atomic_t active;
static int saved_stderr = -1; /* dup of the real stderr while held */
static FILE *held;            /* temporary file receiving stderr */
static bool has_colors_;

static void
replay_stderr(void)
{
    if (saved_stderr < 0)
        return;
    fflush(stderr);
    dup2(saved_stderr, STDERR_FILENO);
    close(saved_stderr);
    saved_stderr = -1;
    if (held) {
        char buf[4096];
        size_t n;
        rewind(held);
        while ((n = fread(buf, 1, sizeof buf, held)) > 0)
            if (write(STDERR_FILENO, buf, n) < 0)
                break;
        fclose(held);
        held = NULL;
    }
}

void
pytm_term_stop(void)
{
    if (!active)
        return;
    active = 0;
    endwin();
    replay_stderr();
}

static void
on_signal(int sig)
{
    pytm_term_stop();
    signal(sig, SIG_DFL);
    raise(sig);
}

bool
pytm_term_active(void)
{
    return active;
}

int
pytm_term_attr(enum pytm_color c)
{
    if (has_colors_)
        return COLOR_PAIR(c);
    return c == PYTM_COLOR_TITLE || c == PYTM_COLOR_SELECT || c == PYTM_COLOR_KEY
               ? A_REVERSE
               : A_NORMAL;
}

int
pytm_term_getch(int timeout_ms)
{
    timeout(timeout_ms);
    int ch = getch();
    if (ch == 27) {
        timeout(0);
        int next = getch();
        timeout(timeout_ms);
        if (next != ERR)
            return PYTM_TERM_KEY_ALT;
    }
    return ch;
}

int
pytm_term_start(void)
{
    static bool registered;
    if (!registered) {
        atexit(pytm_term_stop);
        int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGSEGV, SIGABRT, SIGBUS};
        for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++)
            signal(sigs[i], on_signal);
        registered = true;
    }
    /* hold stderr: anything written while curses owns the screen is
     * replayed after endwin */
    held = tmpfile();
    if (held) {
        fflush(stderr);
        saved_stderr = dup(STDERR_FILENO);
        if (saved_stderr >= 0)
            dup2(fileno(held), STDERR_FILENO);
    }
    if (!newterm(NULL, stdout, stdin)) {
        replay_stderr();
        fprintf(stderr, "pytmtop: cannot initialise the terminal (TERM=%s)\n",
                getenv("TERM") ? getenv("TERM") : "");
        return -1;
    }
    active = 1;
    cbreak();
    noecho();
    keypad(stdscr, TRUE);
    set_escdelay(25);
    curs_set(0);
    if (has_colors()) {
        start_color();
        use_default_colors();
        has_colors_ = true;
#define PYTM_COLOR_INIT(name, fg, bg) init_pair(PYTM_COLOR_##name, fg, bg);
        PYTM_COLORS(PYTM_COLOR_INIT)
#undef PYTM_COLOR_INIT
    }
    return 0;
}
