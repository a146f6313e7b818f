/* Unit tests for pytmtop's curses-free helpers: tui/format.c (sizes,
 * left truncation of paths with "…", row locations) and tui/sparkline.c
 * (ring wrap-around, scaling, cell budget). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "tui/app.h"
#include "tui/sparkline.h"

struct fixture {
    struct pytm_sparkline spark;
    char buf[3 * PYTM_SPARK_CAP + 1];
};

static int
setup(void **state)
{
    struct fixture *f = test_calloc(1, sizeof *f);
    if (!f)
        return -1;
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    test_free(*state);
    return 0;
}

static void
test_sizes(void **state)
{
    struct fixture *f = *state;
    pytm_fmt_size(f->buf, sizeof f->buf, 0, false);
    assert_string_equal(f->buf, "0 B");
    pytm_fmt_size(f->buf, sizeof f->buf, 1023, false);
    assert_string_equal(f->buf, "1023 B");
    pytm_fmt_size(f->buf, sizeof f->buf, 1536, false);
    assert_string_equal(f->buf, "1.50 KiB");
    pytm_fmt_size(f->buf, sizeof f->buf, 3 * 1024 * 1024, true);
    assert_string_equal(f->buf, "+3.00 MiB");
    pytm_fmt_size(f->buf, sizeof f->buf, -200 * 1024, true);
    assert_string_equal(f->buf, "-200 KiB");
    pytm_fmt_size(f->buf, sizeof f->buf, INT64_MIN, false);
    assert_true(f->buf[0] == '-');
}

static void
test_left_trunc(void **state)
{
    struct fixture *f = *state;
    pytm_fmt_left_trunc(f->buf, sizeof f->buf, "/usr/lib/python3.11/json.py", 12);
    /* exactly width code points: "…" + the last 11 */
    assert_string_equal(f->buf, "….11/json.py");
    pytm_fmt_left_trunc(f->buf, sizeof f->buf, "short.py", 12);
    assert_string_equal(f->buf, "short.py");
    /* multi-byte code points are never split */
    pytm_fmt_left_trunc(f->buf, sizeof f->buf, "café/日本語.py", 8);
    assert_string_equal(f->buf, "…/日本語.py");
}

static void
test_sparkline(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(pytm_sparkline_render(&f->spark, 10, f->buf, sizeof f->buf), 0);
    assert_string_equal(f->buf, "");
    pytm_sparkline_push(&f->spark, 0);
    pytm_sparkline_push(&f->spark, 50);
    pytm_sparkline_push(&f->spark, 100);
    assert_int_equal(pytm_sparkline_render(&f->spark, 10, f->buf, sizeof f->buf), 3);
    assert_string_equal(f->buf, "▁▅█");
    /* width limits to the most recent samples */
    assert_int_equal(pytm_sparkline_render(&f->spark, 1, f->buf, sizeof f->buf), 1);
    assert_string_equal(f->buf, "█");
    /* wrap-around keeps the newest CAP samples */
    for (int i = 0; i < PYTM_SPARK_CAP + 5; i++)
        pytm_sparkline_push(&f->spark, i == PYTM_SPARK_CAP + 4 ? 8 : 0);
    assert_int_equal(pytm_sparkline_render(&f->spark, 2, f->buf, sizeof f->buf), 2);
    assert_string_equal(f->buf, "▁█");
    /* a small buffer bounds the cells */
    char small[8];
    assert_int_equal(pytm_sparkline_render(&f->spark, 10, small, sizeof small), 2);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_sizes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_left_trunc, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sparkline, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
