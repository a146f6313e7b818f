/* model/model: names, table lifecycle, buffers and group membership.
 *
 * The model is split by job: model_group.c builds a table (grouping,
 * filter), model_rank.c ranks strings and orders keys, model_sort.c
 * sorts, model_diff.c joins a table with a baseline.
 */
#include "model.h"

#include <stdlib.h>
#include <string.h>

#include "model_int.h"
#include "pytm_error.h"

/* ---- names ------------------------------------------------------------ */

static const char *const group_names[] = {
#define GROUP_NAME(e, name) name,
    PYTM_MODEL_GROUPS(GROUP_NAME)
#undef GROUP_NAME
};

static const char *const sort_names[] = {
#define SORT_NAME(e, name, title, seq) name,
    PYTM_MODEL_SORTS(SORT_NAME)
#undef SORT_NAME
};

static const char *const sort_titles[] = {
#define SORT_TITLE(e, name, title, seq) title,
    PYTM_MODEL_SORTS(SORT_TITLE)
#undef SORT_TITLE
};

const char *
pytm_model_group_name(enum pytm_model_group g)
{
    return (unsigned)g < PYTM_MODEL_N_GROUPS ? group_names[g] : "?";
}

const char *
pytm_model_sort_name(enum pytm_model_sort s)
{
    return (unsigned)s < PYTM_MODEL_N_SORTS ? sort_names[s] : "?";
}

const char *
pytm_model_sort_title(enum pytm_model_sort s)
{
    return (unsigned)s < PYTM_MODEL_N_SORTS ? sort_titles[s] : "?";
}

int
pytm_model_group_parse(const char *name, enum pytm_model_group *out)
{
    for (unsigned i = 0; name && i < PYTM_MODEL_N_GROUPS; i++)
        if (strcmp(name, group_names[i]) == 0) {
            *out = (enum pytm_model_group)i;
            return 0;
        }
    return PYTM_E_INVAL;
}

int
pytm_model_sort_parse(const char *name, enum pytm_model_sort *out)
{
    for (unsigned i = 0; name && i < PYTM_MODEL_N_SORTS; i++)
        if (strcmp(name, sort_names[i]) == 0) {
            *out = (enum pytm_model_sort)i;
            return 0;
        }
    return PYTM_E_INVAL;
}

/* ---- lifecycle -------------------------------------------------------- */

void
pytm_model_init(struct pytm_model_table *t)
{
    memset(t, 0, sizeof *t);
    t->sort = PYTM_MODEL_SORT_SIZE;
    t->descending = true;
}

void
pytm_model_free(struct pytm_model_table *t)
{
    free(t->rows);
    free(t->srank_);
    free(t->sorder_);
    free(t->srank_base_);
    free(t->seq_);
    free(t->filter_);
    struct pytm_model_work *w = t->work_;
    if (w) {
        free(w->slot);
        free(w->fkh);
        free(w->frow);
        free(w->canon);
        free(w->tbh);
        free(w->sh);
        free(w->mark);
        free(w->ents);
        free(w->rows2);
        free(w);
    }
    pytm_model_init(t);
}

void
pytm_model_reset(struct pytm_model_table *t)
{
    t->n_rows = 0;
    t->n_sorted = 0;
    t->seq_len_ = 0;
    t->diffed = false;
    t->base_snap = NULL;
    t->base_total_size = t->base_total_count = 0;
    free(t->srank_base_);
    t->srank_base_ = NULL;
}

int
pytm_model_grow(void **p, size_t *cap, size_t n, size_t size)
{
    if (n <= *cap)
        return 0;
    size_t c = *cap ? *cap : 64;
    while (c < n)
        c = c > SIZE_MAX / 2 ? n : c * 2;
    if (c > SIZE_MAX / size)
        return PYTM_E_NOMEM;
    void *q = realloc(*p, c * size);
    if (!q)
        return PYTM_E_NOMEM;
    *p = q;
    *cap = c;
    return 0;
}

int
pytm_model_reserve(struct pytm_model_table *t, size_t n)
{
    return pytm_model_grow((void **)&t->rows, &t->rows_cap_, n, sizeof *t->rows);
}

struct pytm_model_work *
pytm_model_work(struct pytm_model_table *t)
{
    if (!t->work_)
        t->work_ = calloc(1, sizeof *t->work_);
    return t->work_;
}

const struct pytm_snap *
pytm_model_row_snap(const struct pytm_model_table *t,
                    const struct pytm_model_row *row)
{
    return (row->flags & PYTM_MODEL_ROW_BASE) ? t->base_snap : t->snap;
}

/* ---- membership ------------------------------------------------------- */

bool
pytm_model_row_has_tb(const struct pytm_model_table *t,
                      const struct pytm_model_row *row, uint32_t tb)
{
    const struct pytm_snap *s = pytm_model_row_snap(t, row);
    const uint32_t *srank = model_row_srank(t, row);
    if (t->group == PYTM_MODEL_TRACEBACK) {
        uint32_t n = model_tb_len(s, tb);
        if (n != model_tb_len(s, row->tb))
            return false;
        for (uint32_t k = 0; k < n; k++)
            if (model_tb_fkey(s, srank, tb, k)
                != model_tb_fkey(s, srank, row->tb, k))
                return false;
        return true;
    }
    uint64_t mask = t->group == PYTM_MODEL_FILENAME ? ~(uint64_t)UINT32_MAX
                                                    : UINT64_MAX;
    uint64_t want = model_fkey(srank, row->str, row->lineno) & mask;
    uint32_t n = t->cumulative ? model_tb_len(s, tb) : 1;
    for (uint32_t k = 0; k < n; k++)
        if ((model_tb_fkey(s, srank, tb, k) & mask) == want)
            return true;
    return false;
}
