/* status_names_test.c: operators tell agents apart. Two agents of one
 * förbund deliver; `finsamctl status` (table and JSON) and /api/status
 * name each by its certificate's name and file in DATA/agents/ and by a
 * short hex fingerprint of its key (the first 8 bytes of BLAKE2b-256 of
 * the public key, computed here independently), never by a prefix of the
 * Z85 key; the table's headers say what they count; an agent whose
 * certificate was removed is shown as not listed. The JSON keeps its old
 * fields (agent, pending_at_agent, ...). */
#include "cli_util.h"
#include "cluster.h"
#include "testutil.h"

#include <czmq.h>
#include <signal.h>
#include <sodium.h>
#include <string.h>
#include <unistd.h>

/* The fingerprint of the certificate at path, and its Z85 key. */
static void s_fingerprint(const char *path, char *hex, char *z85)
{
    zcert_t *cert = zcert_load(path);
    CHECK(cert);
    snprintf(z85, 41, "%s", zcert_public_txt(cert));
    uint8_t hash[32];
    CHECK(sodium_init() >= 0);
    crypto_generichash(hash, sizeof hash, zcert_public_key(cert), 32, NULL, 0);
    for (int i = 0; i < 8; i++)
        sprintf(hex + 2 * i, "%02x", hash[i]);
    zcert_destroy(&cert);
}

typedef struct {
    const char *dir_name, *agent_id;
    char dir[400], hex[17], z85[41];
} s_agent_t;

static void test_status_names_agents(void)
{
    cluster_t c;
    cluster_init(&c);
    s_agent_t agents[] = {{"nv-kontoret", "nv-kontoret", "", "", ""}, {"nv-filial", NULL, "", "", ""}};
    for (size_t i = 0; i < TU_NELEMS(agents); i++) {
        s_agent_t *a = &agents[i];
        snprintf(a->dir, sizeof a->dir, "%s/%s", c.dir, a->dir_name);
        /* The first names its certificate with --agent-id; the second
         * keeps keygen's default name. */
        const char *keygen[] = {"-d", a->dir, "-F", "NV", "keygen", "--agent-id", a->agent_id, NULL};
        if (!a->agent_id)
            keygen[5] = NULL;
        CHECK_EQ(cli_run("finsam-agent", keygen, NULL), 0);
        char src[600], dst[600];
        snprintf(src, sizeof src, "%s/keys/collector.key", c.cdir);
        snprintf(dst, sizeof dst, "%s/keys/collector.key", a->dir);
        char *text = tu_read_file(src);
        CHECK(text && tu_write_file(dst, text) == 0);
        free(text);
        snprintf(src, sizeof src, "%s/keys/agent.key", a->dir);
        snprintf(dst, sizeof dst, "%s/agents/%s.key", c.cdir, a->dir_name);
        text = tu_read_file(src);
        CHECK(text && tu_write_file(dst, text) == 0);
        free(text);
        s_fingerprint(dst, a->hex, a->z85);
    }
    cluster_start_collector_http(&c);
    for (size_t i = 0; i < TU_NELEMS(agents); i++) {
        const char *demo[] = {"demo", "--events", "10", "--seed", i ? "2" : "1", "--exit-when-empty", NULL};
        CHECK_EQ(cluster_agent(&c, agents[i].dir, 60000, demo), 0);
    }

    /* The table: names, files, fingerprints and headers that say what
     * they count; no 8-character Z85 prefix. */
    const char *table[] = {"status", NULL};
    char *out;
    CHECK_EQ(cluster_ctl(&c, &out, table), 0);
    CHECK(strstr(out, "AGENT (CERT NAME)") && strstr(out, "FILE IN agents/") &&
          strstr(out, "KEY FINGERPRINT"));
    CHECK(strstr(out, "EVENTS STORED") && strstr(out, "QUEUED AT SITE") && !strstr(out, "PENDING"));
    CHECK(strstr(out, "nv-kontoret ") && strstr(out, "finsam-agent NV"));
    for (size_t i = 0; i < TU_NELEMS(agents); i++) {
        char file[64], prefix[9];
        snprintf(file, sizeof file, "%s.key", agents[i].dir_name);
        snprintf(prefix, sizeof prefix, "%.8s", agents[i].z85);
        CHECK(strstr(out, file) && strstr(out, agents[i].hex));
        CHECK(!strstr(out, prefix));
    }
    free(out);

    /* finsamctl status --format json and /api/status: the same names,
     * with the old fields kept. */
    json_t *ctl = cluster_status(&c);
    int status;
    size_t len;
    char *http = cluster_http_get(&c, "/api/status", &status, &len);
    CHECK_EQ(status, 200);
    json_t *api = json_loads(strstr(http, "\r\n\r\n") + 4, 0, NULL);
    CHECK(api);
    free(http);
    json_t *reports[] = {ctl, api};
    for (size_t r = 0; r < 2; r++) {
        json_t *list = json_object_get(reports[r], "agents");
        CHECK_EQ(json_array_size(list), 2);
        for (size_t i = 0; i < TU_NELEMS(agents); i++) {
            size_t k;
            json_t *a, *found = NULL;
            json_array_foreach(list, k, a)
                if (!strcmp(json_string_value(json_object_get(a, "agent")), agents[i].z85))
                    found = a;
            CHECK(found);
            char file[64];
            snprintf(file, sizeof file, "%s.key", agents[i].dir_name);
            CHECK(!strcmp(json_string_value(json_object_get(found, "file")), file));
            CHECK(!strcmp(json_string_value(json_object_get(found, "fingerprint")), agents[i].hex));
            CHECK(!strcmp(json_string_value(json_object_get(found, "name")),
                          agents[i].agent_id ? agents[i].agent_id : "finsam-agent NV"));
            CHECK(json_is_true(json_object_get(found, "listed")));
            CHECK_EQ(json_integer_value(json_object_get(found, "events_stored")), 10);
            CHECK(json_is_integer(json_object_get(found, "pending_at_agent")));
        }
    }
    json_decref(ctl);
    json_decref(api);

    /* A certificate removed from the allow-list: the agent is still in the
     * ledger, shown as not listed, still with its fingerprint. */
    char path[600];
    snprintf(path, sizeof path, "%s/agents/nv-filial.key", c.cdir);
    CHECK(unlink(path) == 0);
    CHECK_EQ(cluster_ctl(&c, &out, table), 0);
    CHECK(strstr(out, "(not listed)") && strstr(out, agents[1].hex));
    free(out);
    cluster_stop_collector(&c, SIGTERM);
}

static const test_case_t s_cases[] = {
    {"status, API: certificate name, file and fingerprint", test_status_names_agents},
};

int main(int argc, char **argv)
{
    return test_run(s_cases, TU_NELEMS(s_cases), argc, argv);
}
