"""Vemakin Sync for Python: the offline store and its sync, over the C API.

Pure Python (ctypes) over libvemakin.so.0 (vemakin/vemakin.h); no compiled
extension. The library is found from $VEMAKIN_LIBRARY (a path), else by the
system's loader (the libvemakin-client package installs it).

    import vemakin
    with vemakin.Store("crew.db") as store:            # guest mode at once
        project = store.create("projects", {"name": "Neon Paradox"})
        store.create("shots", {"project_id": project["id"], "title": "Opening crane"})
        page = store.list("shots", project_id=project["id"], status="pending", limit=50)
        with store.sync() as sync:
            sync.register("https://sync.example.com", "me@example.com", "a passphrase", "Me")
            sync.sync()                                  # push, then pull
            sync.watch(lambda report: print(report["pulled"], "new"))  # until stopped

Errors raise VemakinError (or a subclass per code: NotFound, InvalidArgument,
Unavailable, ...) carrying `.code` (the C API's number) and `.code_name`.

Thread-safety is the C API's: a Store may be shared by threads; a Sync is
used by one thread at a time, except Sync.stop_watch() from any thread.
close() (and leaving a `with` block) stops a running watch and waits for
every call in progress on the handle before it frees it.
"""

import atexit
import contextlib
import ctypes
import ctypes.util
import json
import os
import threading
import weakref

__all__ = [
    "Store", "Sync", "Page", "VemakinError", "InvalidArgument", "NotFound", "AlreadyExists",
    "FailedPrecondition", "Aborted", "Unavailable", "DataLoss", "Unauthenticated",
    "PermissionDenied", "DeadlineExceeded", "Internal", "library_version",
]


class VemakinError(Exception):
    """A failed call: `code` is the C API's vemakin_code, `message` its text."""

    code = None
    code_name = "unknown"

    def __init__(self, code, code_name, message):
        super().__init__(message)
        self.code = code
        self.code_name = code_name
        self.message = message

    def __str__(self):
        return "%s: %s" % (self.code_name, self.message)


class InvalidArgument(VemakinError):
    pass


class NotFound(VemakinError):
    pass


class AlreadyExists(VemakinError):
    pass


class FailedPrecondition(VemakinError):
    pass


class Aborted(VemakinError):
    pass


class Unavailable(VemakinError):
    pass


class DataLoss(VemakinError):
    pass


class Unauthenticated(VemakinError):
    pass


class PermissionDenied(VemakinError):
    pass


class DeadlineExceeded(VemakinError):
    pass


class Internal(VemakinError):
    pass


# vemakin_code values (vemakin.h) -> exception classes.
_ERRORS = {
    1: InvalidArgument, 2: NotFound, 3: AlreadyExists, 4: FailedPrecondition, 5: Aborted,
    6: Unavailable, 7: DataLoss, 8: Unauthenticated, 9: PermissionDenied, 10: DeadlineExceeded,
    11: Internal,
}


class _Error(ctypes.Structure):
    _fields_ = [("code", ctypes.c_int), ("message", ctypes.c_char * 1024)]


_PROGRESS = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_char_p, ctypes.c_longlong,
                             ctypes.c_longlong)
_CHANGE = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_char_p)

_lib = None

# Syncs watching now: stopped at interpreter exit, before daemon threads are
# torn down inside a C call (which would abort the process).
_watching = weakref.WeakSet()


def _stop_watches_at_exit():
    watches = list(_watching)
    for sync in watches:
        sync.stop_watch()
    for sync in watches:
        sync._watch_done.wait(10)


atexit.register(_stop_watches_at_exit)


def _library():
    """Loads libvemakin once and declares every function's signature."""
    global _lib
    if _lib is not None:
        return _lib
    path = os.environ.get("VEMAKIN_LIBRARY") or ctypes.util.find_library("vemakin") \
        or "libvemakin.so.0"
    lib = ctypes.CDLL(path)
    P, S, I, LL = ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.c_longlong
    OUT, ERR = ctypes.POINTER(ctypes.c_void_p), ctypes.POINTER(_Error)
    signatures = {
        "vemakin_version": ([], S),
        "vemakin_code_name": ([I], S),
        "vemakin_free": ([P], None),
        "vemakin_store_open": ([S, OUT, ERR], I),
        "vemakin_store_close": ([P], None),
        "vemakin_create": ([P, S, S, OUT, ERR], I),
        "vemakin_get": ([P, S, S, OUT, ERR], I),
        "vemakin_update": ([P, S, S, S, OUT, ERR], I),
        "vemakin_delete": ([P, S, S, ERR], I),
        "vemakin_list": ([P, S, S, OUT, ERR], I),
        "vemakin_catalog": ([P, S, S, OUT, ERR], I),
        "vemakin_catalog_item": ([P, S, OUT, ERR], I),
        "vemakin_status": ([P, OUT, ERR], I),
        "vemakin_setting_get": ([P, S, OUT, ERR], I),
        "vemakin_setting_set": ([P, S, S, ERR], I),
        "vemakin_sync_new": ([P, S, _PROGRESS, P, OUT, ERR], I),
        "vemakin_sync_free": ([P], None),
        "vemakin_register": ([P, S, S, S, S, OUT, ERR], I),
        "vemakin_login": ([P, S, S, S, OUT, ERR], I),
        "vemakin_logout": ([P, I, ERR], I),
        "vemakin_sync_now": ([P, OUT, ERR], I),
        "vemakin_pull_only": ([P, OUT, ERR], I),
        "vemakin_push_only": ([P, OUT, ERR], I),
        "vemakin_verify": ([P, OUT, ERR], I),
        "vemakin_conflicts": ([P, LL, OUT, ERR], I),
        "vemakin_add_member": ([P, S, S, S, OUT, ERR], I),
        "vemakin_watch": ([P, I, _CHANGE, P, ERR], I),
        "vemakin_watch_stop": ([P], None),
    }
    for name, (args, result) in signatures.items():
        fn = getattr(lib, name)
        fn.argtypes = args
        fn.restype = result
    _lib = lib
    return lib


def library_version():
    """The C library's version, e.g. "0.1.0"."""
    return _library().vemakin_version().decode()


def _text(value):
    return None if value is None else str(value).encode()


class _Handle:
    """A C handle freed exactly once, when closed and no call uses it: close()
    from any thread marks it closed (calls from then on raise
    FailedPrecondition), waits for the calls in progress, then frees it;
    a second close() waits for the same free."""

    def __init__(self, pointer, what, free):
        self._pointer = pointer
        self.what = what
        self._free = free
        self._cv = threading.Condition()
        self._calls = 0
        self._threads = {}  # thread ident -> calls it is inside
        self._closing = False
        self._freed = False

    @contextlib.contextmanager
    def use(self):
        ident = threading.get_ident()
        with self._cv:
            if self._closing:
                raise FailedPrecondition(4, "failed_precondition", "the %s is closed" % self.what)
            self._calls += 1
            self._threads[ident] = self._threads.get(ident, 0) + 1
        try:
            yield self._pointer
        finally:
            with self._cv:
                self._calls -= 1
                self._threads[ident] -= 1
                if not self._threads[ident]:
                    del self._threads[ident]
                self._cv.notify_all()

    def close(self, before_wait=None):
        """`before_wait(pointer)` runs once, when the handle is first marked
        closed (a running watch is stopped there)."""
        with self._cv:
            if threading.get_ident() in self._threads:
                raise FailedPrecondition(
                    4, "failed_precondition",
                    "the %s cannot be closed from a call on it (a callback)" % self.what)
            if not self._closing:
                self._closing = True
                if before_wait is not None:
                    before_wait(self._pointer)
            while self._calls:
                self._cv.wait()
            if not self._freed:
                self._freed = True
                self._free(self._pointer)
                self._pointer = None

    def in_call(self):
        """The pointer while the calling thread is inside a call on it."""
        with self._cv:
            return self._pointer if threading.get_ident() in self._threads else None


def _call(fn, *args, out=False):
    """Calls a C API function; returns its `out` text (decoded JSON) or None."""
    lib = _library()
    err = _Error()
    if out:
        result = ctypes.c_void_p()
        rc = fn(*args, ctypes.byref(result), ctypes.byref(err))
    else:
        rc = fn(*args, ctypes.byref(err))
    if rc != 0:
        cls = _ERRORS.get(rc, VemakinError)
        raise cls(rc, lib.vemakin_code_name(rc).decode(),
                  err.message.decode("utf-8", "replace"))
    if not out:
        return None
    try:
        return ctypes.string_at(result.value).decode() if result.value else None
    finally:
        lib.vemakin_free(result)


def _json_call(fn, *args):
    text = _call(fn, *args, out=True)
    return None if text is None else json.loads(text)


class Page:
    """One page of a list: `items` (dicts), `total`, `skip`, `limit`,
    `has_more` and `next_cursor` (pass it as cursor= for the next page)."""

    def __init__(self, envelope):
        self.items = envelope["items"]
        self.total = envelope["total"]
        self.skip = envelope["skip"]
        self.limit = envelope["limit"]
        self.has_more = envelope["has_more"]
        self.next_cursor = envelope.get("next_cursor")

    def __iter__(self):
        return iter(self.items)

    def __len__(self):
        return len(self.items)

    def __repr__(self):
        return "Page(%d of %d, has_more=%s)" % (len(self.items), self.total, self.has_more)


def _query(filters, skip, limit, cursor):
    q = {k: v for k, v in filters.items() if v is not None}
    if skip is not None:
        q["skip"] = skip
    if limit is not None:
        q["limit"] = limit
    if cursor is not None:
        q["cursor"] = cursor
    return json.dumps(q).encode()


class Store:
    """One local store file (":memory:" for a private in-memory one). Works at
    once in guest mode; collections are "projects", "shots", "notes", "tasks"
    and "inventory"; rows are dicts with the REST API's field names."""

    COLLECTIONS = ("projects", "shots", "notes", "tasks", "inventory")

    def __init__(self, path="vemakin.db"):
        lib = _library()
        handle = ctypes.c_void_p()
        err = _Error()
        rc = lib.vemakin_store_open(os.fsencode(path), ctypes.byref(handle), ctypes.byref(err))
        if rc != 0:
            raise _ERRORS.get(rc, VemakinError)(rc, lib.vemakin_code_name(rc).decode(),
                                                err.message.decode("utf-8", "replace"))
        self._handle = _Handle(handle, "store", lib.vemakin_store_close)
        self._syncs = []
        self._syncs_lock = threading.Lock()
        self._closing = False

    def close(self):
        """Closes the store and every Sync made from it (stopping their
        watches), once the calls in progress have returned."""
        with self._syncs_lock:
            self._closing = True  # no new Sync from now on
            syncs = list(self._syncs)
        for s in syncs:
            s.close()  # each waits until its handle is freed
        self._handle.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:  # interpreter shutdown: the library may be gone
            pass

    def _json(self, name, *args):
        with self._handle.use() as h:
            return _json_call(getattr(_library(), name), h, *args)

    def create(self, collection, row):
        return self._json("vemakin_create", _text(collection), json.dumps(row).encode())

    def get(self, collection, row_id):
        return self._json("vemakin_get", _text(collection), _text(row_id))

    def update(self, collection, row_id, **fields):
        return self._json("vemakin_update", _text(collection), _text(row_id),
                          json.dumps(fields).encode())

    def delete(self, collection, row_id):
        with self._handle.use() as h:
            _call(_library().vemakin_delete, h, _text(collection), _text(row_id))

    def list(self, collection, skip=None, limit=None, cursor=None, **filters):
        """A Page of `collection` with the API's filters (project_id=,
        status=, date=, priority=, category=, shot_id=, task_id=), order,
        skip/limit, or cursor= (a previous page's next_cursor)."""
        return Page(self._json("vemakin_list", _text(collection),
                               _query(filters, skip, limit, cursor)))

    def iterate(self, collection, page_size=500, **filters):
        """Every row of a list, following the cursors."""
        cursor = None
        while True:
            page = self.list(collection, limit=page_size, cursor=cursor, **filters)
            yield from page.items
            if not page.has_more:
                return
            cursor = page.next_cursor

    def catalog(self, kind, skip=None, limit=None, cursor=None, **filters):
        """The gear catalog: kind "categories", "brands" (category_id=) or
        "items" (category_id=, brand_id=)."""
        return Page(self._json("vemakin_catalog", _text(kind), _query(filters, skip, limit, cursor)))

    def catalog_item(self, item_id):
        return self._json("vemakin_catalog_item", _text(item_id))

    def status(self):
        return self._json("vemakin_status")

    def setting(self, key):
        """A setting ("server", "ca-file"), or None when unset."""
        try:
            with self._handle.use() as h:
                return _call(_library().vemakin_setting_get, h, _text(key), out=True)
        except NotFound:
            return None

    def set_setting(self, key, value):
        """Sets a setting; None unsets it."""
        with self._handle.use() as h:
            _call(_library().vemakin_setting_set, h, _text(key), _text(value))

    def sync(self, timeout_seconds=30, ca_file=None, progress=None):
        """A Sync session over this store. `progress(phase, done, total)` is
        called during syncs (total is -1 when unknown)."""
        return Sync(self, timeout_seconds, ca_file, progress)


class Sync:
    """A sync session over a Store (Store.sync()). Use one per thread;
    stop_watch() may be called from any thread."""

    def __init__(self, store, timeout_seconds=30, ca_file=None, progress=None):
        options = {"timeout_seconds": timeout_seconds}
        if ca_file is not None:
            options["ca_file"] = os.fsdecode(ca_file)
        self._progress_error = None

        def on_progress(_context, phase, done, total):
            try:
                if progress is not None:
                    progress(phase.decode(), done, total)
            except BaseException as e:  # never unwind through C
                self._progress_error = e
                pointer = self._handle.in_call()
                if pointer is not None:
                    _library().vemakin_watch_stop(pointer)  # a watch ends; a sync ignores it

        self._progress = _PROGRESS(on_progress)  # kept alive with the handle
        self._watch_done = threading.Event()
        lib = _library()
        handle = ctypes.c_void_p()
        err = _Error()
        with store._syncs_lock:
            if store._closing:
                raise FailedPrecondition(4, "failed_precondition", "the store is closed")
            with store._handle.use() as store_pointer:
                rc = lib.vemakin_sync_new(store_pointer, json.dumps(options).encode(),
                                          self._progress if progress else _PROGRESS(), None,
                                          ctypes.byref(handle), ctypes.byref(err))
            if rc != 0:
                raise _ERRORS.get(rc, VemakinError)(rc, lib.vemakin_code_name(rc).decode(),
                                                    err.message.decode("utf-8", "replace"))
            self._handle = _Handle(handle, "sync session", lib.vemakin_sync_free)
            self._store = store
            store._syncs.append(self)

    def close(self):
        """Frees the session: a watch running on it is stopped, and every call
        in progress is waited for (not from a callback of this session)."""
        self._handle.close(before_wait=_library().vemakin_watch_stop)
        with self._store._syncs_lock:
            if self in self._store._syncs:
                self._store._syncs.remove(self)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _run(self, fn, *args):
        self._progress_error = None
        with self._handle.use() as h:
            result = _json_call(fn, h, *args)
        if self._progress_error is not None:
            raise self._progress_error
        return result

    def register(self, server_url, email, password, name):
        """Creates an account (server_url None: the store's remembered
        server), claims the guest data into it, syncs. Returns the user. When
        the account was made but the first sync failed, the store stays
        signed in and the sync's error is raised: call sync() later."""
        return self._run(_library().vemakin_register, _text(server_url), _text(email),
                         _text(password), _text(name))

    def login(self, server_url, email, password):
        """Signs in (server_url None: the server this store is signed in to,
        else the remembered one), as register() does."""
        return self._run(_library().vemakin_login, _text(server_url), _text(email),
                         _text(password))

    def logout(self, discard=False, everywhere=False):
        with self._handle.use() as h:
            _call(_library().vemakin_logout, h, (1 if discard else 0) | (2 if everywhere else 0))

    def sync(self):
        """Push, then pull until up to date; returns the report dict."""
        return self._run(_library().vemakin_sync_now)

    def pull_only(self):
        return self._run(_library().vemakin_pull_only)

    def push_only(self):
        return self._run(_library().vemakin_push_only)

    def verify(self):
        """{"equal": bool, "mismatched": [...], ...} against the server."""
        return self._run(_library().vemakin_verify)

    def conflicts(self, limit=1000):
        return self._run(_library().vemakin_conflicts, limit)

    def add_member(self, project_id, email, role):
        return self._run(_library().vemakin_add_member, _text(project_id), _text(email),
                         _text(role))

    def watch(self, on_change, wait_seconds=20):
        """Keeps the store in sync until stopped: on_change(report) is called
        after each round that changed something; it returns False to stop
        (None or True go on). stop_watch() from another thread stops it too,
        and so does Ctrl-C when watch() runs on the main thread (the watch
        then runs on a helper thread, which also calls on_change). An
        exception raised by on_change or by the progress callback stops the
        watch and is raised again here."""
        if not 1 <= int(wait_seconds) <= 300:
            raise InvalidArgument(1, "invalid_argument", "wait_seconds must be 1 to 300")
        raised = []

        def callback(_context, report):
            try:
                return 1 if on_change(json.loads(report.decode())) is False else 0
            except BaseException as e:  # never unwind through C
                raised.append(e)
                return 1

        cb = _CHANGE(callback)
        self._progress_error = None
        outcome = []
        self._watch_done = threading.Event()

        def run():
            try:
                with self._handle.use() as h:
                    _call(_library().vemakin_watch, h, int(wait_seconds), cb, None)
                outcome.append(None)
            except BaseException as e:
                outcome.append(e)
            finally:
                self._watch_done.set()

        if threading.current_thread() is threading.main_thread():
            # The main thread must keep running bytecode for Ctrl-C to arrive.
            worker = threading.Thread(target=run, name="vemakin-watch", daemon=True)
            _watching.add(self)
            worker.start()
            try:
                while worker.is_alive():
                    worker.join(0.2)
            except BaseException:  # Ctrl-C, SystemExit, ...: stop it, then go on raising
                if worker.is_alive():
                    self.stop_watch()
                worker.join()
                raise
            finally:
                _watching.discard(self)
        else:
            _watching.add(self)
            try:
                run()
            finally:
                _watching.discard(self)
        if outcome and outcome[0] is not None:
            raise outcome[0]
        if raised:
            raise raised[0]
        if self._progress_error is not None:
            raise self._progress_error

    def stop_watch(self):
        """From any thread: makes watch() return soon. Never blocks."""
        try:
            with self._handle.use() as h:
                _library().vemakin_watch_stop(h)
        except FailedPrecondition:  # closed: nothing watches
            pass
