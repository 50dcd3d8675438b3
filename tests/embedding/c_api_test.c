/* The C API as an application in C uses it (vemakin/vemakin.h), built as C11
 * against the shared library. Usage: c_api_test DIR [SERVER_URL EMAIL]
 *  - with DIR only: a guest store in DIR works offline (CRUD, validation
 *    errors, lists with filters and cursors, the catalog, settings);
 *  - with a server: the guest registers (its data is claimed), a second
 *    device signs in to the same account, a watch on the first sees the
 *    second's change through the change callback and is stopped from another
 *    thread in the middle of its long poll, both verify equal to the server,
 *    and sign-out refuses to drop unsynced work.
 * Prints "ok: N checks" and exits 0, or names the first failed check. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <vemakin/vemakin.h>

static int checks = 0;

#define CHECK(cond, ...)                                                     \
  do {                                                                       \
    ++checks;                                                                \
    if (!(cond)) {                                                           \
      fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #cond); \
      fprintf(stderr, __VA_ARGS__);                                          \
      fprintf(stderr, "\n");                                                 \
      exit(1);                                                               \
    }                                                                        \
  } while (0)

/* Every call reports into `last`; OK(call) is a call that must succeed. */
static vemakin_error last;
#define ERR (&last)
#define OK(call)                                                                          \
  do {                                                                                    \
    const int rc_ = (call);                                                               \
    CHECK(rc_ == VEMAKIN_OK, "%s: %s (%s)", #call, last.message, vemakin_code_name(rc_)); \
    CHECK(last.code == VEMAKIN_OK && last.message[0] == '\0', "err not cleared: %s",      \
          last.message);                                                                  \
  } while (0)

/* The value of "key": "..." in a JSON text (enough for ids and cursors). */
static void json_string(const char* json, const char* key, char* out, size_t size) {
  char pattern[64];
  snprintf(pattern, sizeof pattern, "\"%s\":\"", key);
  const char* p = strstr(json, pattern);
  out[0] = '\0';
  if (p == NULL) return;
  p += strlen(pattern);
  size_t n = 0;
  while (p[n] != '\0' && p[n] != '"' && n + 1 < size) ++n;
  memcpy(out, p, n);
  out[n] = '\0';
}

/* The value of "key": <integer> in a JSON text, or -1. */
static long long json_int(const char* json, const char* key) {
  char pattern[64];
  snprintf(pattern, sizeof pattern, "\"%s\":", key);
  const char* p = strstr(json, pattern);
  return p == NULL ? -1 : atoll(p + strlen(pattern));
}

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void offline(vemakin_store* store, char* project_id, size_t size) {
  char* out = NULL;
  CHECK(strcmp(vemakin_version(), "") != 0, "no version");

  OK(vemakin_create(store, "projects", "{\"name\": \"Neon Paradox\"}", &out, ERR));
  json_string(out, "id", project_id, size);
  CHECK(strlen(project_id) == 36, "project id in %s", out);
  vemakin_free(out);

  char body[256];
  for (int i = 0; i < 3; ++i) {
    snprintf(body, sizeof body,
             "{\"project_id\": \"%s\", \"title\": \"Shot %d\", \"date\": \"2026-12-0%d\"%s}",
             project_id, i, i + 1, i == 2 ? ", \"status\": \"done\"" : "");
    OK(vemakin_create(store, "shots", body, NULL, ERR));
  }

  /* Validation: a clear error, nothing written. */
  snprintf(body, sizeof body, "{\"project_id\": \"%s\", \"title\": \"x\", \"status\": \"maybe\"}",
           project_id);
  out = (char*)1;
  int rc = vemakin_create(store, "shots", body, &out, ERR);
  CHECK(rc == VEMAKIN_INVALID_ARGUMENT && last.code == rc, "got %s", vemakin_code_name(rc));
  CHECK(out == NULL, "out set on failure");
  CHECK(strstr(last.message, "status") != NULL, "message: %s", last.message);
  rc = vemakin_create(store, "shots", "{not json", NULL, ERR);
  CHECK(rc == VEMAKIN_INVALID_ARGUMENT, "bad JSON: %s", vemakin_code_name(rc));
  rc = vemakin_create(store, "films", "{}", NULL, ERR);
  CHECK(rc == VEMAKIN_INVALID_ARGUMENT && strstr(last.message, "films"), "%s", last.message);
  rc = vemakin_get(store, "shots", "00000000-0000-4000-8000-000000000000", &out, ERR);
  CHECK(rc == VEMAKIN_NOT_FOUND, "get unknown: %s", vemakin_code_name(rc));
  rc = vemakin_create(NULL, "shots", "{}", NULL, ERR);
  CHECK(rc == VEMAKIN_INVALID_ARGUMENT, "NULL store: %s", vemakin_code_name(rc));
  /* A message longer than err->message is cut whole characters at a time. */
  char long_name[1400];
  for (size_t i = 0; i + 2 < sizeof long_name; i += 2) memcpy(long_name + i, "\xc3\xa9", 2);
  long_name[sizeof long_name - 2] = '\0';
  rc = vemakin_get(store, long_name, "x", &out, ERR);
  CHECK(rc == VEMAKIN_INVALID_ARGUMENT, "long collection name: %s", vemakin_code_name(rc));
  const size_t cut = strlen(last.message);
  CHECK(cut > 900 && cut < sizeof last.message, "cut at %zu", cut);
  CHECK(((unsigned char)last.message[cut - 1] & 0xC0) != 0xC0, "cut inside a character");
  size_t lead = cut;
  while (lead > 0 && ((unsigned char)last.message[lead - 1] & 0xC0) == 0x80) --lead;
  CHECK(lead == 0 || cut - lead == 1 || (unsigned char)last.message[lead - 1] < 0x80,
        "a character cut in two at %zu", cut);

  /* Lists: filter, then pages by cursor in the API's order (date DESC). */
  char query[1024];
  snprintf(query, sizeof query, "{\"project_id\": \"%s\", \"status\": \"done\"}", project_id);
  OK(vemakin_list(store, "shots", query, &out, ERR));
  CHECK(json_int(out, "total") == 1 && strstr(out, "Shot 2"), "filtered: %s", out);
  vemakin_free(out);
  snprintf(query, sizeof query, "{\"project_id\": \"%s\", \"limit\": 2}", project_id);
  OK(vemakin_list(store, "shots", query, &out, ERR));
  CHECK(json_int(out, "total") == 3 && strstr(out, "\"has_more\":true"), "page 1: %s", out);
  CHECK(strstr(out, "Shot 2") && strstr(out, "Shot 1") && !strstr(out, "Shot 0"), "%s", out);
  char cursor[512];
  json_string(out, "next_cursor", cursor, sizeof cursor);
  vemakin_free(out);
  snprintf(query, sizeof query, "{\"project_id\": \"%s\", \"limit\": 2, \"cursor\": \"%s\"}",
           project_id, cursor);
  OK(vemakin_list(store, "shots", query, &out, ERR));
  CHECK(strstr(out, "Shot 0") && !strstr(out, "Shot 1") && strstr(out, "\"has_more\":false"),
        "page 2: %s", out);
  vemakin_free(out);
  rc = vemakin_list(store, "shots", "{\"project_id\": 7}", &out, ERR);
  CHECK(rc == VEMAKIN_INVALID_ARGUMENT, "non-string filter: %s", vemakin_code_name(rc));

  /* Update only the fields given; delete. */
  OK(vemakin_list(store, "projects", NULL, &out, ERR));
  CHECK(json_int(out, "total") == 1, "%s", out);
  vemakin_free(out);
  OK(vemakin_update(store, "projects", project_id, "{\"name\": \"Neon Paradox II\"}", &out, ERR));
  CHECK(strstr(out, "Neon Paradox II") != NULL, "%s", out);
  vemakin_free(out);
  snprintf(body, sizeof body, "{\"project_id\": \"%s\", \"title\": \"Cut\"}", project_id);
  OK(vemakin_create(store, "shots", body, &out, ERR));
  char cut_id[64];
  json_string(out, "id", cut_id, sizeof cut_id);
  vemakin_free(out);
  OK(vemakin_delete(store, "shots", cut_id, ERR));
  rc = vemakin_get(store, "shots", cut_id, &out, ERR);
  CHECK(rc == VEMAKIN_NOT_FOUND, "deleted shot: %s", vemakin_code_name(rc));

  /* The starter catalog and the status of a guest store. */
  OK(vemakin_catalog(store, "categories", NULL, &out, ERR));
  CHECK(json_int(out, "total") > 5, "catalog: %s", out);
  vemakin_free(out);
  OK(vemakin_status(store, &out, ERR));
  CHECK(strstr(out, "\"mode\":\"guest\"") && json_int(out, "pending_mutations") >= 4, "%s", out);
  vemakin_free(out);

  /* Settings. */
  rc = vemakin_setting_get(store, "server", &out, ERR);
  CHECK(rc == VEMAKIN_NOT_FOUND, "unset server: %s", vemakin_code_name(rc));
  rc = vemakin_setting_set(store, "server", "ftp://nope", ERR);
  CHECK(rc == VEMAKIN_INVALID_ARGUMENT, "bad server: %s", vemakin_code_name(rc));
  rc = vemakin_setting_set(store, "colour", "blue", ERR);
  CHECK(rc == VEMAKIN_INVALID_ARGUMENT, "unknown key: %s", vemakin_code_name(rc));
  rc = vemakin_setting_set(store, "ca-file", "relative/ca.pem", ERR);
  CHECK(rc == VEMAKIN_INVALID_ARGUMENT, "relative ca-file: %s", vemakin_code_name(rc));
  OK(vemakin_setting_set(store, "ca-file", "/etc/ssl/certs/ca-certificates.crt", ERR));
  OK(vemakin_setting_get(store, "ca-file", &out, ERR));
  CHECK(strcmp(out, "/etc/ssl/certs/ca-certificates.crt") == 0, "ca-file %s", out);
  vemakin_free(out);
  OK(vemakin_setting_set(store, "ca-file", NULL, ERR));
}

struct progress_count {
  long long calls;
  long long snapshot_done;
};

static void on_progress(void* context, const char* phase, long long done, long long total) {
  struct progress_count* p = context;
  (void)total;
  ++p->calls;
  if (strcmp(phase, "snapshot") == 0 && done > p->snapshot_done) p->snapshot_done = done;
}

struct watch_state {
  vemakin_sync* sync;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int changes;       /* change callbacks received */
  long long pulled;  /* rows they brought */
  int rc;            /* vemakin_watch's result */
  int done;
  vemakin_error err;
};

static int on_change(void* context, const char* report) {
  struct watch_state* w = context;
  pthread_mutex_lock(&w->mu);
  ++w->changes;
  if (json_int(report, "pulled") > 0) w->pulled += json_int(report, "pulled");
  pthread_cond_broadcast(&w->cv);
  pthread_mutex_unlock(&w->mu);
  return 0; /* go on watching: the stop comes from the main thread */
}

static void* watch_thread(void* arg) {
  struct watch_state* w = arg;
  const int rc = vemakin_watch(w->sync, 60, on_change, w, &w->err);
  pthread_mutex_lock(&w->mu);
  w->rc = rc;
  w->done = 1;
  pthread_cond_broadcast(&w->cv);
  pthread_mutex_unlock(&w->mu);
  return NULL;
}

static void online(vemakin_store* store, const char* dir, const char* server, const char* email,
                   const char* project_id) {
  char* out = NULL;
  struct progress_count progress = {0, 0};
  vemakin_sync* sync = NULL;
  int rc = vemakin_sync_new(store, "{\"timeout_seconds\": 0}", NULL, NULL, &sync, ERR);
  CHECK(rc == VEMAKIN_INVALID_ARGUMENT && sync == NULL, "bad option: %s", vemakin_code_name(rc));
  OK(vemakin_sync_new(store, "{\"timeout_seconds\": 30}", on_progress, &progress, &sync, ERR));
  rc = vemakin_sync_now(sync, &out, ERR);
  CHECK(rc == VEMAKIN_FAILED_PRECONDITION, "sync before sign-in: %s", vemakin_code_name(rc));

  /* Registering claims the guest's work; the server is remembered. */
  OK(vemakin_register(sync, server, email, "correct horse battery", "Director", &out, ERR));
  CHECK(strstr(out, email) != NULL, "user: %s", out);
  vemakin_free(out);
  OK(vemakin_status(store, &out, ERR));
  CHECK(strstr(out, "\"mode\":\"account\"") && json_int(out, "pending_mutations") == 0, "%s",
        out);
  vemakin_free(out);
  OK(vemakin_setting_get(store, "server", &out, ERR));
  CHECK(strcmp(out, server) == 0, "remembered %s", out);
  vemakin_free(out);
  CHECK(progress.calls > 0, "no progress reported");

  /* A second device of the same account: signs in with the remembered-less
   * store given the server, loads everything by snapshot. */
  char path[1024];
  snprintf(path, sizeof path, "%s/laptop.db", dir);
  vemakin_store* laptop = NULL;
  OK(vemakin_store_open(path, &laptop, ERR));
  vemakin_sync* laptop_sync = NULL;
  OK(vemakin_sync_new(laptop, NULL, NULL, NULL, &laptop_sync, ERR));
  OK(vemakin_login(laptop_sync, server, email, "correct horse battery", &out, ERR));
  vemakin_free(out);
  char query[1024];
  snprintf(query, sizeof query, "{\"project_id\": \"%s\"}", project_id);
  OK(vemakin_list(laptop, "shots", query, &out, ERR));
  CHECK(json_int(out, "total") == 3, "laptop shots: %s", out);
  vemakin_free(out);

  /* The first device watches; the laptop's change reaches it live. */
  struct watch_state w;
  memset(&w, 0, sizeof w);
  w.sync = sync;
  pthread_mutex_init(&w.mu, NULL);
  pthread_cond_init(&w.cv, NULL);
  pthread_t thread;
  CHECK(pthread_create(&thread, NULL, watch_thread, &w) == 0, "pthread_create");
  char body[256];
  snprintf(body, sizeof body, "{\"project_id\": \"%s\", \"title\": \"From the laptop\"}",
           project_id);
  OK(vemakin_create(laptop, "shots", body, NULL, ERR));
  OK(vemakin_sync_now(laptop_sync, &out, ERR));
  CHECK(json_int(out, "pushed") == 1, "laptop push: %s", out);
  vemakin_free(out);
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_sec += 30;
  pthread_mutex_lock(&w.mu);
  int waited = 0;
  while (w.pulled < 1 && !w.done && waited == 0) waited = pthread_cond_timedwait(&w.cv, &w.mu, &until);
  pthread_mutex_unlock(&w.mu);
  CHECK(w.pulled >= 1, "the laptop's change did not reach the watch within 30 s");
  CHECK(!w.done, "the watch ended early: %s", w.err.message);
  OK(vemakin_list(store, "shots", query, &out, ERR));
  CHECK(json_int(out, "total") == 4 && strstr(out, "From the laptop"), "%s", out);
  vemakin_free(out);

  /* Stopped from this thread while it waits in its next 60 s long poll. */
  const double stop_at = now_seconds();
  vemakin_watch_stop(sync);
  pthread_join(thread, NULL);
  CHECK(w.rc == VEMAKIN_OK, "watch: %s (%s)", vemakin_code_name(w.rc), w.err.message);
  CHECK(now_seconds() - stop_at < 10, "the stop waited for the long poll (%.1f s)",
        now_seconds() - stop_at);

  /* Both equal to the server. */
  OK(vemakin_verify(sync, &out, ERR));
  CHECK(strstr(out, "\"equal\":true") != NULL, "verify: %s", out);
  vemakin_free(out);
  OK(vemakin_verify(laptop_sync, &out, ERR));
  CHECK(strstr(out, "\"equal\":true") != NULL, "laptop verify: %s", out);
  vemakin_free(out);
  OK(vemakin_conflicts(sync, 100, &out, ERR));
  CHECK(strcmp(out, "[]") == 0, "conflicts: %s", out);
  vemakin_free(out);

  /* Unsynced work blocks a sign-out; discarding it is explicit. */
  snprintf(body, sizeof body, "{\"project_id\": \"%s\", \"title\": \"Unsynced\"}", project_id);
  OK(vemakin_create(laptop, "shots", body, NULL, ERR));
  rc = vemakin_logout(laptop_sync, 0, ERR);
  CHECK(rc == VEMAKIN_FAILED_PRECONDITION, "logout with pending: %s", vemakin_code_name(rc));
  OK(vemakin_logout(laptop_sync, VEMAKIN_LOGOUT_DISCARD, ERR));
  OK(vemakin_status(laptop, &out, ERR));
  CHECK(strstr(out, "\"mode\":\"guest\"") != NULL, "%s", out);
  vemakin_free(out);

  /* Sign in again with the server remembered by the store. */
  OK(vemakin_login(laptop_sync, NULL, email, "correct horse battery", &out, ERR));
  vemakin_free(out);
  OK(vemakin_list(laptop, "shots", query, &out, ERR));
  CHECK(json_int(out, "total") == 4, "after sign-in again: %s", out);
  vemakin_free(out);

  vemakin_sync_free(laptop_sync);
  vemakin_store_close(laptop);
  vemakin_sync_free(sync);
  pthread_cond_destroy(&w.cv);
  pthread_mutex_destroy(&w.mu);
}

int main(int argc, char** argv) {
  if (argc != 2 && argc != 4) {
    fprintf(stderr, "usage: %s DIR [SERVER_URL EMAIL]\n", argv[0]);
    return 2;
  }
  char path[1024];
  snprintf(path, sizeof path, "%s/director.db", argv[1]);
  vemakin_store* store = NULL;
  int rc = vemakin_store_open("/nonexistent-dir/x.db", &store, ERR);
  CHECK(rc != VEMAKIN_OK && store == NULL && last.message[0] != '\0', "opened a bad path");
  OK(vemakin_store_open(path, &store, ERR));
  char project_id[64];
  offline(store, project_id, sizeof project_id);
  if (argc == 4) online(store, argv[1], argv[2], argv[3], project_id);
  vemakin_store_close(store);
  printf("ok: %d checks\n", checks);
  return 0;
}
