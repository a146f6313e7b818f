/* pytmtop: live top view of a process traced by pytm.
 *
 *   pytmtop -p PID                    attach to a running traced process
 *   pytmtop -p PID --attach           start tracing it first (python -m pytm attach)
 *   pytmtop [opts] -- python x.py ... start x.py under `python -m pytm run`
 *   pytmtop FILE.pytm                 view a dump
 *   pytmtop OLD.pytm NEW.pytm         diff two dumps
 *   pytmtop --list | --clean          list / remove stale arenas
 *   --once [--group G] [--cumulative] [--limit N] [--json]
 *                                     (G: filename lineno traceback thread)
 *
 * main.c parses the arguments and opens the source; errors are one
 * line on stderr and exit status 1; a -p target that has exited ends
 * --once and --iterations with one line and status 3 (gone()).
 */
#include <errno.h>
#include <getopt.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "app.h"
#include "attachcmd.h"
#include "dump.h"
#include "listcmd.h"
#include "loop.h"
#include "once.h"
#include "pytm_error.h"
#include "spawn.h"
#include "threads.h"
#include "tree.h"

#ifndef PYTM_VERSION
#define PYTM_VERSION "0.1.0"
#endif

static void
usage(FILE *out)
{
    fputs("usage: pytmtop -p PID [options]\n"
          "       pytmtop [options] -- python script.py [args...]\n"
          "       pytmtop [options] FILE.pytm\n"
          "       pytmtop [options] OLD.pytm NEW.pytm   (diff)\n"
          "       pytmtop --list | --clean\n"
          "options:\n"
          "  -p, --pid PID        attach to the arena of PID\n"
          "  --attach             with -p: if PID is not traced, start tracing it\n"
          "                       (python -m pytm attach PID; $PYTM_PYTHON, default\n"
          "                       python3) and stop again when pytmtop quits\n"
          "  -d, --delay SECONDS  refresh interval (default 1)\n"
          "  --iterations N       refresh N times, then exit (batch mode; with -p,\n"
          "                       at once when PID has exited: status 3)\n"
          "  --once               print the table once and exit (with -- COMMAND:\n"
          "                       after one refresh interval -d, or at the\n"
          "                       command's exit if sooner)\n"
          "  --json               with --once: JSON output\n"
          "  --group G            filename | lineno | traceback | thread (one row\n"
          "                       per thread; default lineno)\n"
          "  --cumulative         count every frame of each traceback\n"
          "  --limit N            with --once: at most N rows\n"
          "  --thread NAME|TID    show only that thread (as Enter in the T view;\n"
          "                       <unknown>: figures without a thread)\n"
          "  --children           with -p: show PID's process tree (children traced\n"
          "                       by python -m pytm run) summed, live; P splits the\n"
          "                       rows by process, o shows one (always on with --)\n"
          "  --list               list traced processes (arenas in the shm dir)\n"
          "  --clean              remove arenas of processes that are gone\n"
          "  -h, --help           this help\n"
          "  -V, --version        print the version\n"
          "environment:\n"
          "  PYTM_SHM_DIR         directory of the arenas (default /dev/shm), for\n"
          "                       -p, -- COMMAND, --list and --clean\n"
          "exit status: 0 fine, 1 error, 3 the -p PID target has exited\n"
          "  (--once printed its last figures; --iterations stopped early)\n"
          "keys: press ? in the viewer\n",
          out);
}

static int
fail(const char *fmt, const char *a, const char *b)
{
    fprintf(stderr, "pytmtop: ");
    fprintf(stderr, fmt, a, b);
    fputc('\n', stderr);
    return 1;
}

static bool
parse_long(const char *s, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < 0)
        return false;
    *out = v;
    return true;
}

enum { OPT_ITER = 256, OPT_ONCE, OPT_JSON, OPT_GROUP, OPT_CUMUL, OPT_LIMIT,
       OPT_LIST, OPT_CLEAN, OPT_ATTACH, OPT_CHILDREN, OPT_THREAD };

/* --attach given; and whether we did attach (then we detach at exit).
 * Main thread only. */
static bool opt_attach, we_attached;

static int
parse_args(int argc, char **argv, struct pytm_app_opts *o, char **files, int *n_files)
{
    static const struct option longs[] = {
        {"pid", required_argument, NULL, 'p'},
        {"delay", required_argument, NULL, 'd'},
        {"iterations", required_argument, NULL, OPT_ITER},
        {"once", no_argument, NULL, OPT_ONCE},
        {"json", no_argument, NULL, OPT_JSON},
        {"group", required_argument, NULL, OPT_GROUP},
        {"cumulative", no_argument, NULL, OPT_CUMUL},
        {"limit", required_argument, NULL, OPT_LIMIT},
        {"list", no_argument, NULL, OPT_LIST},
        {"clean", no_argument, NULL, OPT_CLEAN},
        {"attach", no_argument, NULL, OPT_ATTACH},
        {"children", no_argument, NULL, OPT_CHILDREN},
        {"thread", required_argument, NULL, OPT_THREAD},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0}};
    /* everything after "--" is the command to spawn */
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--") == 0) {
            o->spawn_argv = argv + i + 1;
            argc = i;
            break;
        }
    long v;
    int c;
    while ((c = getopt_long(argc, argv, "p:d:hV", longs, NULL)) != -1) {
        switch (c) {
        case 'p':
            if (!parse_long(optarg, &v) || v == 0)
                return fail("invalid pid '%s'%s", optarg, "");
            o->pid = v;
            break;
        case 'd': {
            char *end;
            o->delay = strtod(optarg, &end);
            if (end == optarg || *end || !(o->delay >= 0.05 && o->delay <= 3600))
                return fail("invalid delay '%s'%s (0.05 .. 3600 seconds)", optarg, "");
            break;
        }
        case OPT_ITER:
            if (!parse_long(optarg, &o->iterations))
                return fail("invalid --iterations '%s'%s", optarg, "");
            break;
        case OPT_LIMIT:
            if (!parse_long(optarg, &o->limit))
                return fail("invalid --limit '%s'%s", optarg, "");
            break;
        case OPT_GROUP:
            o->threads = strcmp(optarg, "thread") == 0;
            if (!o->threads && pytm_model_group_parse(optarg, &o->group))
                return fail("unknown group '%s'%s (filename, lineno, traceback, "
                            "thread)", optarg, "");
            break;
        case OPT_ONCE: o->once = true; break;
        case OPT_JSON: o->json = true; break;
        case OPT_CUMUL: o->cumulative = true; break;
        case OPT_LIST: o->list = true; break;
        case OPT_CLEAN: o->clean = true; break;
        case OPT_ATTACH: opt_attach = true; break;
        case OPT_CHILDREN: o->children = true; break;
        case OPT_THREAD: o->thread = optarg; break;
        case 'h': usage(stdout); exit(0);
        case 'V': printf("pytmtop %s\n", PYTM_VERSION); exit(0);
        default: usage(stderr); return 1;
        }
    }
    *n_files = 0;
    for (int i = optind; i < argc; i++) {
        if (*n_files == 2)
            return fail("too many files (at most OLD.pytm NEW.pytm)%s%s", "", "");
        files[(*n_files)++] = argv[i];
    }
    int sources = (o->pid != 0) + (*n_files > 0) + (o->spawn_argv != NULL);
    if (o->list || o->clean)
        return sources ? fail("--list/--clean take no target%s%s", "", "") : 0;
    if (sources != 1)
        return fail("%s%s", sources ? "give only one of -p PID, FILE or -- COMMAND"
                                    : "nothing to show: give -p PID, FILE.pytm or -- "
                                      "python script.py (see --help)", "");
    if (o->spawn_argv && !o->spawn_argv[0])
        return fail("no command after --%s%s", "", "");
    if (o->cumulative && (o->group == PYTM_MODEL_TRACEBACK || o->threads))
        return fail("--cumulative needs --group filename or lineno%s%s", "", "");
    if (o->json && !o->once)
        return fail("--json needs --once%s%s", "", "");
    if (opt_attach && !o->pid)
        return fail("--attach needs -p PID%s%s", "", "");
    if (o->children && !o->pid && !o->spawn_argv)
        return fail("--children needs -p PID (spawn mode follows children "
                    "anyway)%s%s", "", "");
    if (o->spawn_argv)
        o->children = true; /* pytm run follows them: show them */
    return 0;
}

static int
open_file(struct pytm_snap *s, struct pytm_source *src, const char *path)
{
    char msg[256] = "";
    int err = src ? pytm_source_open_file(src, path, msg, sizeof msg) : 0;
    if (!src) {
        struct pytm_dump_error de;
        err = pytm_dump_read(path, s, &de);
        snprintf(msg, sizeof msg, "%s", de.msg);
    }
    if (err) {
        char why[300];
        snprintf(why, sizeof why, "%s%s%s", pytm_strerror(err), msg[0] ? ": " : "", msg);
        return fail("cannot load %s: %s", path, why);
    }
    return 0;
}

static int
open_source(struct pytm_app *app, char **files, int n_files)
{
    struct pytm_app_opts *o = &app->opt;
    char buf[64];
    if (o->pid) {
        int err = pytm_source_open_pid(&app->src, (pid_t)o->pid);
        snprintf(buf, sizeof buf, "%lld", (long long)o->pid);
        if (err == PYTM_E_NOENT && pytm_attachcmd_pid_exists((pid_t)o->pid)) {
            if (!opt_attach)
                return fail("pid %s is not traced by pytm; start tracing it with: "
                            "pytmtop -p %s --attach", buf, buf);
            if (pytm_attachcmd_run("attach", (pid_t)o->pid, true) != 0)
                return fail("could not attach to pid %s (see above)%s", buf, "");
            we_attached = true;
            err = pytm_source_open_pid(&app->src, (pid_t)o->pid);
        }
        if (err == PYTM_E_NOENT && !pytm_attachcmd_pid_exists((pid_t)o->pid))
            return fail("pid %s: no such process, and no pytm arena is left "
                        "for it%s", buf, "");
        if (err) {
            return fail("pid %s: %s", buf, pytm_strerror(err));
        }
        return 0;
    }
    if (o->spawn_argv) {
        pid_t child = pytm_spawn_start(o->spawn_argv, !o->once);
        if (child < 0)
            return fail("cannot start %s: %s", o->spawn_argv[0], strerror(errno));
        app->child = child;
        int st;
        int err = pytm_spawn_attach(&app->src, child, 30000, &st);
        if (err) {
            if (st == -1) {
                kill(child, SIGTERM);
                waitpid(child, NULL, 0);
            }
            return fail("%s: no pytm arena appeared (%s; is pytm importable by "
                        "this python?)", o->spawn_argv[0], pytm_strerror(err));
        }
        if (o->once && pytm_spawn_settle(&app->src, child, (int)(o->delay * 1000)))
            app->child = 0; /* exited and reaped: nothing to stop */
        return 0;
    }
    if (n_files == 2) {
        if (open_file(&app->base, NULL, files[0]))
            return 1;
        app->has_base = true;
        app->base_taken_ns = app->base.meta.taken_realtime_ns;
        app->show_diff = true;
        app->sort = PYTM_MODEL_SORT_COMPARE;
        return open_file(NULL, &app->src, files[1]);
    }
    return open_file(NULL, &app->src, files[0]);
}

/* Batch mode on -p PID found the target exited: one line on stderr,
 * "pytmtop: pid N has exited: <what>", and the distinct exit status. */
static int
gone(const struct pytm_app *app, const char *what)
{
    fprintf(stderr, "pytmtop: pid %lld has exited: %s\n",
            (long long)app->opt.pid, what);
    return PYTM_LOOP_GONE;
}

/* --children: the tree over the opened source, with a first merge. */
static int
open_tree(struct pytm_app *app)
{
    app->tree = malloc(sizeof *app->tree);
    if (!app->tree)
        return fail("out of memory%s%s", "", "");
    int err = pytm_tree_init(app->tree, &app->src);
    if (err == 0)
        err = pytm_tree_refresh(app->tree, &app->src);
    if (err) {
        pytm_tree_free(app->tree);
        free(app->tree);
        app->tree = NULL;
        return fail("--children: %s%s", pytm_strerror(err), "");
    }
    return 0;
}

int
main(int argc, char **argv)
{
    setlocale(LC_ALL, "");
    static struct pytm_app app;
    app.opt.delay = 1.0;
    app.opt.group = PYTM_MODEL_LINENO;
    char *files[2];
    int n_files = 0;
    if (parse_args(argc, argv, &app.opt, files, &n_files))
        return 1;
    if (app.opt.list)
        return pytm_listcmd_list(stdout);
    if (app.opt.clean)
        return pytm_listcmd_clean(stdout);
    pytm_snap_init(&app.base);
    pytm_model_init(&app.table);
    pytm_model_init(&app.base_table);
    pytm_snap_init(&app.fsnap);
    pytm_snap_init(&app.fbase);
    pytm_thread_rows_init(&app.trows);
    app.group = app.opt.group;
    app.threads = app.opt.threads;
    app.cumulative = app.opt.cumulative;
    app.delay = app.opt.delay;
    app.sort = PYTM_MODEL_SORT_SIZE;
    app.descending = true;
    int rc = open_source(&app, files, n_files);
    if (rc == 0 && app.opt.children)
        rc = open_tree(&app);
    if (rc == 0 && app.opt.thread && !pytm_threads_select(&app, app.opt.thread))
        rc = fail("no thread '%s' in the snapshot%s (pytmtop --once --group "
                  "thread lists them)", app.opt.thread, "");
    if (rc == 0) {
        long refreshes = 0;
        if (app.opt.once) {
            if (pytm_once_run(&app, stdout))
                rc = app.model_err
                         ? fail("cannot build the table: %s%s",
                                pytm_strerror(app.model_err), "")
                         : fail("cannot write the output%s%s", "", "");
            else if (app.opt.pid && app.src.exited)
                rc = gone(&app, "the figures above are its last");
        } else {
            rc = pytm_loop_run(&app, &refreshes);
            if (rc == PYTM_LOOP_GONE) {
                char what[96];
                snprintf(what, sizeof what, "its last figures were shown; "
                         "stopped after %ld of %ld refreshes", refreshes,
                         app.opt.iterations);
                rc = gone(&app, what);
            }
        }
    }
    if (app.child > 0)
        pytm_spawn_stop(app.child); /* we started it: stop it with us */
    if (we_attached && pytm_attachcmd_run("detach", (pid_t)app.opt.pid, true) != 0)
        rc = rc ? rc : 1; /* its refusal is on stderr */
    pytm_app_done(&app);
    return rc;
}
