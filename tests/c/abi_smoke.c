/* Proves the C ABI is usable from C: connect, run a query, read the status and the
   out area, use a stale handle. Usage: abi_smoke "<key>\0<value>\0..." options are built
   from argv pairs. Exit code 0 on success. */
#include <stdio.h>
#include <string.h>
#include "pyro_postgres.h"

int main(int argc, char **argv) {
    char opts[4096];
    size_t len = 0;
    for (int i = 1; i + 1 < argc; i += 2) {
        size_t k = strlen(argv[i]), v = strlen(argv[i + 1]);
        if (len + k + v + 2 > sizeof opts) return 10;
        memcpy(opts + len, argv[i], k + 1); len += k + 1;
        memcpy(opts + len, argv[i + 1], v + 1); len += v + 1;
    }
    printf("version %s\n", (const char *)pyro_version());
    uint32_t h = pyro_conn_new();
    const PyroOut *out = pyro_conn_out(h);
    if (!h || !out) return 11;
    PyroStatus st = pyro_conn_connect(h, (const uint8_t *)opts, len);
    if (st != PYRO_STATUS_OK && st != PYRO_STATUS_OK_WITH_NOTICES) return 12;
    const char *sql = "SELECT 1 FROM generate_series(1, 3)";
    st = pyro_conn_query(h, (const uint8_t *)sql, strlen(sql), PYRO_DROP);
    if (st != PYRO_STATUS_OK) return 13;
    printf("rows %llu\n", (unsigned long long)out->value);
    if (out->value != 3) return 14;
    st = pyro_conn_query(h, (const uint8_t *)"SELEC", 5, PYRO_DROP);
    if (st != PYRO_STATUS_ERROR || out->len == 0) return 15;
    if (pyro_conn_ping(h) != PYRO_STATUS_OK) return 16;
    if (pyro_conn_free(h) != PYRO_STATUS_OK) return 17;
    if (pyro_conn_ping(h) != PYRO_STATUS_BAD_HANDLE) return 18;
    puts("ok");
    return 0;
}
