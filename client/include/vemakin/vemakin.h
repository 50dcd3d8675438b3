/* vemakin.h: the C API of libvemakin-client, for applications in C, Swift,
 * Kotlin, Electron or Python (bindings/python) that embed the offline store
 * and its sync. It is a stable C ABI over the C++ library (vemakin/client/):
 * opaque handles, JSON text for rows, queries and reports, an error code and
 * message for every call that can fail, and plain function pointers for
 * callbacks. Link with `pkg-config --cflags --libs vemakin` (libvemakin.so.0).
 *
 * Conventions of every function below:
 *  - A function that can fail returns a vemakin_code: VEMAKIN_OK (0) on
 *    success, else the error's code, also written with its message into
 *    `*err` when `err` is not NULL (and err->code = VEMAKIN_OK on success).
 *    A call that failed changes nothing, with two exceptions: a sync call
 *    keeps the batches it applied before failing (each one whole, with its
 *    position: the next call resumes), and vemakin_register/vemakin_login
 *    stay signed in when the sign-in succeeded but the first sync failed
 *    (vemakin_status then says "mode": "account"; sync again later).
 *  - `char** out` parameters receive a NUL-terminated UTF-8 JSON text
 *    allocated by the library, to be released with vemakin_free(); they are
 *    set to NULL when the call fails. `out` may be NULL when the caller does
 *    not want the result.
 *  - Strings passed in are NUL-terminated UTF-8, borrowed for the call only.
 *  - Rows are JSON objects with the REST API's field names (SPEC.md, and
 *    docs/client.md); lists return the API's envelope
 *    {"items", "total", "skip", "limit", "has_more", "next_cursor"}.
 *  - No function lets a C++ exception escape.
 *
 * Thread-safety: a vemakin_store may be used by several threads at once
 * (calls are serialised inside). A vemakin_sync is used by one thread at a
 * time, except vemakin_watch_stop(), which any thread may call while the
 * handle lives; several vemakin_sync handles may share one store (e.g. one
 * watching, one pushing). Lifetimes: free a vemakin_sync only after every
 * call on it has returned (a watch included: stop it, then wait for
 * vemakin_watch to return), and close a store only after every vemakin_sync
 * made on it is freed. Nothing here may be called from a signal handler.
 *
 * Signals: the library never changes the process's signal dispositions. A
 * write to a closed connection raises SIGPIPE on the writing thread; the
 * library's threads hold it blocked while they do network I/O and discard
 * what they raised, so the host's own SIGPIPE handling is left as it was.
 */
#ifndef VEMAKIN_VEMAKIN_H_
#define VEMAKIN_VEMAKIN_H_

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define VEMAKIN_API __attribute__((visibility("default")))
#else
#define VEMAKIN_API
#endif

/* The ABI version: bumped (with the SONAME) only by an incompatible change. */
#define VEMAKIN_ABI_VERSION 0

/* Error codes; their meaning for a retry is docs/client.md's. */
typedef enum vemakin_code {
  VEMAKIN_OK = 0,
  VEMAKIN_INVALID_ARGUMENT = 1,    /* bad input, e.g. a field that fails validation */
  VEMAKIN_NOT_FOUND = 2,           /* no such row (or not visible), no such setting */
  VEMAKIN_ALREADY_EXISTS = 3,      /* a create of an existing id with other values */
  VEMAKIN_FAILED_PRECONDITION = 4, /* not now: not signed in, changes pending, ... */
  VEMAKIN_ABORTED = 5,             /* retry the whole operation */
  VEMAKIN_UNAVAILABLE = 6,         /* server unreachable or failing: retry later */
  VEMAKIN_DATA_LOSS = 7,           /* a damaged store file */
  VEMAKIN_UNAUTHENTICATED = 8,     /* sign in again */
  VEMAKIN_PERMISSION_DENIED = 9,   /* e.g. a viewer writing */
  VEMAKIN_DEADLINE_EXCEEDED = 10,
  VEMAKIN_INTERNAL = 11
} vemakin_code;

typedef struct vemakin_error {
  int code;           /* a vemakin_code */
  char message[1024]; /* NUL-terminated; cut (on a UTF-8 boundary) when longer */
} vemakin_error;

typedef struct vemakin_store vemakin_store; /* one open store file */
typedef struct vemakin_sync vemakin_sync;   /* a sync session over a store */

/* "0.1.0": the library's version. Never fails; the text is static. */
VEMAKIN_API const char* vemakin_version(void);
/* The name of a code ("invalid_argument", ...). Static text. */
VEMAKIN_API const char* vemakin_code_name(int code);
/* Releases a text returned through an `out` parameter. NULL is fine. */
VEMAKIN_API void vemakin_free(char* text);

/* ---------------------------------------------------------------- store */

/* Opens or creates the store file at `path` (":memory:" for a private
 * in-memory store): guest mode at once, with the starter catalog. A new file
 * is readable by its owner only. DATA_LOSS for a damaged or foreign file,
 * FAILED_PRECONDITION for a file of a newer client. */
VEMAKIN_API int vemakin_store_open(const char* path, vemakin_store** out, vemakin_error* err);
/* Closes it. Every vemakin_sync made on it must be freed first. NULL is fine. */
VEMAKIN_API void vemakin_store_close(vemakin_store* store);

/* `collection` is "projects", "shots", "notes", "tasks" or "inventory".
 * Each write is one local transaction with its outbox entry. */
/* Creates a row from a JSON object (a client-chosen "id" is kept); `*out` is
 * the stored row. Repeating it with the same id and values returns the row. */
VEMAKIN_API int vemakin_create(vemakin_store* store, const char* collection, const char* row_json,
                               char** out, vemakin_error* err);
VEMAKIN_API int vemakin_get(vemakin_store* store, const char* collection, const char* id,
                            char** out, vemakin_error* err);
/* Changes only the fields of `patch_json`; `*out` is the row after. */
VEMAKIN_API int vemakin_update(vemakin_store* store, const char* collection, const char* id,
                               const char* patch_json, char** out, vemakin_error* err);
VEMAKIN_API int vemakin_delete(vemakin_store* store, const char* collection, const char* id,
                               vemakin_error* err);
/* A page of a list. `query_json` (NULL = {}) holds the API's query
 * parameters: the filters ("project_id", needed by shots, notes and tasks;
 * "status", "date", "priority", "category", "shot_id", "task_id"), "skip"
 * and "limit" (numbers), or "cursor" (a previous page's next_cursor). */
VEMAKIN_API int vemakin_list(vemakin_store* store, const char* collection, const char* query_json,
                             char** out, vemakin_error* err);
/* The gear catalog: `kind` is "categories", "brands" (filter "category_id")
 * or "items" (filters "category_id", "brand_id"); `query_json` as above. */
VEMAKIN_API int vemakin_catalog(vemakin_store* store, const char* kind, const char* query_json,
                                char** out, vemakin_error* err);
VEMAKIN_API int vemakin_catalog_item(vemakin_store* store, const char* id, char** out,
                                     vemakin_error* err);
/* {"client_id", "owner_id", "mode", "account", "server_url",
 *  "pending_mutations", "last_sync_at", "cursor", "conflicts"}. */
VEMAKIN_API int vemakin_status(vemakin_store* store, char** out, vemakin_error* err);
/* The store's settings ("server", "ca-file"; see `vemakin config`).
 * vemakin_setting_get: NOT_FOUND when unset; `*out` is the plain value (not
 * JSON). vemakin_setting_set with value NULL unsets it. */
VEMAKIN_API int vemakin_setting_get(vemakin_store* store, const char* key, char** out,
                                    vemakin_error* err);
VEMAKIN_API int vemakin_setting_set(vemakin_store* store, const char* key, const char* value,
                                    vemakin_error* err);

/* ----------------------------------------------------------------- sync */

/* Sync progress: `phase` is "push", "snapshot" or "pull" (`done` rows or
 * mutations so far, `total` -1 when unknown), "wait" (waiting for the
 * server's changes held back behind an open transaction) or, during a
 * watch, "retry" (the server cannot be reached; `done` is the seconds until
 * the next attempt: show "offline"). Called on the thread running the sync,
 * with no lock held: it may call the store's functions, but must not call
 * this sync handle's functions (but vemakin_watch_stop) nor free it, and
 * must return (no longjmp, no C++ exception). */
typedef void (*vemakin_progress_fn)(void* context, const char* phase, long long done,
                                    long long total);

/* A sync session over `store`, which must outlive it. `options_json` (NULL =
 * defaults): {"timeout_seconds": 30, "ca_file": "/path/ca.pem"} (ca_file
 * defaults to the store's "ca-file" setting, then the system's authorities).
 * `progress` may be NULL; `context` is passed back to it. */
VEMAKIN_API int vemakin_sync_new(vemakin_store* store, const char* options_json,
                                 vemakin_progress_fn progress, void* context, vemakin_sync** out,
                                 vemakin_error* err);
VEMAKIN_API void vemakin_sync_free(vemakin_sync* sync);

/* Create an account or sign in, claim the guest data into it, then sync.
 * `server_url` NULL: the server this store is signed in to (signing in
 * again), else the store's remembered "server" setting, which may have been
 * set by whoever handed over the store file: an application that did not
 * set it itself should show the user where the password goes
 * (vemakin_setting_get). `*out` is the user {"id", "email", "name", ...}. */
VEMAKIN_API int vemakin_register(vemakin_sync* sync, const char* server_url, const char* email,
                                 const char* password, const char* name, char** out,
                                 vemakin_error* err);
VEMAKIN_API int vemakin_login(vemakin_sync* sync, const char* server_url, const char* email,
                              const char* password, char** out, vemakin_error* err);

#define VEMAKIN_LOGOUT_DISCARD 1    /* drop local changes not yet pushed */
#define VEMAKIN_LOGOUT_EVERYWHERE 2 /* revoke every token of the account first */
/* Signs out and empties the store (a fresh guest store); FAILED_PRECONDITION
 * while changes are pending, unless VEMAKIN_LOGOUT_DISCARD. */
VEMAKIN_API int vemakin_logout(vemakin_sync* sync, int flags, vemakin_error* err);

/* Push, then pull until up to date. `*out` is the report {"pushed",
 * "rejected", "pulled", "snapshot_rows", "bytes_received", "bytes_sent",
 * "rebased", "cursor"}. */
VEMAKIN_API int vemakin_sync_now(vemakin_sync* sync, char** out, vemakin_error* err);
VEMAKIN_API int vemakin_pull_only(vemakin_sync* sync, char** out, vemakin_error* err);
VEMAKIN_API int vemakin_push_only(vemakin_sync* sync, char** out, vemakin_error* err);
/* Compares the store's digests with the server's at one position: `*out` is
 * {"equal", "mismatched": [tables], "tables", ...}. A difference is not a
 * failure of the call: read "equal". */
VEMAKIN_API int vemakin_verify(vemakin_sync* sync, char** out, vemakin_error* err);
/* The conflict log (oldest first, at most `limit`): a JSON array of
 * {"mutation_id", "table", "row_id", "kind", "reason", "detail", ...}. */
VEMAKIN_API int vemakin_conflicts(vemakin_sync* sync, long long limit, char** out,
                                  vemakin_error* err);
/* Gives `email`'s account `role` ("editor" or "viewer") on a project this
 * account owns; `*out` is the membership. */
VEMAKIN_API int vemakin_add_member(vemakin_sync* sync, const char* project_id, const char* email,
                                   const char* role, char** out, vemakin_error* err);

/* Live changes: `report_json` is the report of a round that changed
 * something (as vemakin_sync_now's). Return 0 to go on watching, non-zero to
 * stop. Called on the watching thread, with the rules of the progress
 * callback; the text is valid during the call. */
typedef int (*vemakin_change_fn)(void* context, const char* report_json);
/* Keeps the store in sync until stopped: each round pushes, then waits up to
 * `wait_seconds` (1..300; the server answers after at most 30) for others'
 * changes (a long poll) and applies them. An unreachable server is retried
 * with backoff (1 s doubling to 30 s), each wait told to the progress
 * callback as "retry". Returns VEMAKIN_OK when stopped (by the callback or
 * by vemakin_watch_stop), or the error that ended it. */
VEMAKIN_API int vemakin_watch(vemakin_sync* sync, int wait_seconds, vemakin_change_fn on_change,
                              void* context, vemakin_error* err);
/* From any thread while the handle lives: makes vemakin_watch return soon
 * (a long poll in flight is cut short; a connection attempt in progress is
 * let finish, at most the connect timeout). Never blocks. Called while no
 * watch runs, the next one returns at once. */
VEMAKIN_API void vemakin_watch_stop(vemakin_sync* sync);

#ifdef __cplusplus
}
#endif

#endif /* VEMAKIN_VEMAKIN_H_ */
