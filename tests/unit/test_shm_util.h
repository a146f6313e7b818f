/* Helpers shared by the shm unit tests (test_arena, test_reader): temp
 * directories used as shm_dir so that no test touches /dev/shm. */
#ifndef PYTM_TEST_SHM_UTIL_H
#define PYTM_TEST_SHM_UTIL_H

#define _GNU_SOURCE 1
#include <dirent.h>
#include <ftw.h>
#include <stdio.h>
#include <unistd.h>

static int
pytm_test_rm_one_(const char *path, const struct stat *st, int flag,
                  struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* rm -rf dir (depth first, symlinks not followed). */
static inline void
pytm_test_rm_rf(const char *dir)
{
    nftw(dir, pytm_test_rm_one_, 16, FTW_DEPTH | FTW_PHYS);
}

/* Number of entries in dir, "." and ".." excluded; -1 on error. */
static inline int
pytm_test_count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL)
        if (de->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}

#endif /* PYTM_TEST_SHM_UTIL_H */
