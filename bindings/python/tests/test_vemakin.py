"""Tests of the Python binding against the real library, and (with
VEMAKIN_TEST_SERVER set to a server's URL) against a real server and
PostgreSQL. Run: VEMAKIN_LIBRARY=build/client/libvemakin.so.0 \
PYTHONPATH=bindings/python python3 -m unittest discover -s bindings/python/tests -v
"""

import os
import shutil
import signal
import tempfile
import threading
import time
import unittest
import uuid

import vemakin

PASSWORD = "correct horse battery"


class StoreTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="vemakin-py-")
        self.store = vemakin.Store(os.path.join(self.dir, "guest.db"))

    def tearDown(self):
        self.store.close()
        shutil.rmtree(self.dir)

    def test_a_guest_store_works_offline_with_the_apis_filters_and_cursors(self):
        self.assertRegex(vemakin.library_version(), r"^\d+\.\d+\.\d+$")
        project = self.store.create("projects", {"name": "Neon Paradox"})
        for i in range(5):
            self.store.create("shots", {"project_id": project["id"], "title": "Shot %d" % i,
                                        "date": "2026-12-0%d" % (i + 1),
                                        "status": "done" if i % 2 else "pending"})
        done = self.store.list("shots", project_id=project["id"], status="done")
        self.assertEqual(done.total, 2)
        self.assertEqual([s["title"] for s in done], ["Shot 3", "Shot 1"])  # date DESC
        first = self.store.list("shots", project_id=project["id"], limit=2)
        self.assertTrue(first.has_more)
        second = self.store.list("shots", project_id=project["id"], limit=2,
                                 cursor=first.next_cursor)
        self.assertEqual([s["title"] for s in first] + [s["title"] for s in second],
                         ["Shot 4", "Shot 3", "Shot 2", "Shot 1"])
        by_skip = self.store.list("shots", project_id=project["id"], skip=4, limit=2)
        self.assertEqual([s["title"] for s in by_skip], ["Shot 0"])
        self.assertEqual(len(list(self.store.iterate("shots", page_size=2,
                                                     project_id=project["id"]))), 5)

    def test_update_changes_only_the_given_fields_and_delete_removes(self):
        project = self.store.create("projects", {"name": "Doc"})
        shot = self.store.create("shots", {"project_id": project["id"], "title": "A",
                                           "location": "Harbour"})
        changed = self.store.update("shots", shot["id"], status="done")
        self.assertEqual((changed["status"], changed["location"], changed["title"]),
                         ("done", "Harbour", "A"))
        self.store.delete("shots", shot["id"])
        with self.assertRaises(vemakin.NotFound) as caught:
            self.store.get("shots", shot["id"])
        self.assertEqual(caught.exception.code, 2)
        self.assertEqual(caught.exception.code_name, "not_found")

    def test_bad_input_raises_with_its_code_and_loses_nothing(self):
        project = self.store.create("projects", {"name": "Doc"})
        before = self.store.status()["pending_mutations"]
        with self.assertRaises(vemakin.InvalidArgument) as caught:
            self.store.create("shots", {"project_id": project["id"], "title": "x",
                                        "status": "maybe"})
        self.assertEqual(caught.exception.code, 1)
        self.assertIn("status", str(caught.exception))
        with self.assertRaises(vemakin.InvalidArgument):
            self.store.create("films", {})
        with self.assertRaises(vemakin.InvalidArgument):
            self.store.list("shots", project_id=project["id"], limit="ten")
        self.assertEqual(self.store.status()["pending_mutations"], before)
        self.assertEqual(self.store.list("shots", project_id=project["id"]).total, 0)

    def test_the_starter_catalog_and_settings(self):
        categories = self.store.catalog("categories")
        self.assertGreater(categories.total, 5)
        cameras = [c for c in categories if c["slug"] == "camera"]
        self.assertEqual(len(cameras), 1)
        items = self.store.catalog("items", category_id=cameras[0]["id"])
        self.assertGreater(items.total, 0)
        self.assertEqual(self.store.catalog_item(items.items[0]["id"])["id"], items.items[0]["id"])
        self.assertIsNone(self.store.setting("server"))
        self.store.set_setting("server", "https://sync.example.com")
        self.assertEqual(self.store.setting("server"), "https://sync.example.com")
        self.store.set_setting("server", None)
        self.assertIsNone(self.store.setting("server"))
        with self.assertRaises(vemakin.InvalidArgument):
            self.store.set_setting("server", "ftp://x")

    def test_an_unreachable_server_is_unavailable_and_the_guest_data_stays(self):
        self.store.create("projects", {"name": "Kept"})
        with self.store.sync(timeout_seconds=2) as sync:
            with self.assertRaises(vemakin.Unavailable) as caught:
                sync.register("http://127.0.0.1:9", "x@example.com", PASSWORD, "X")
            self.assertEqual(caught.exception.code, 6)
        self.assertEqual(self.store.status()["mode"], "guest")
        self.assertEqual(self.store.list("projects").total, 1)

    def test_a_closed_store_refuses_calls(self):
        self.store.close()
        with self.assertRaises(vemakin.FailedPrecondition):
            self.store.list("projects")


@unittest.skipUnless(os.environ.get("VEMAKIN_TEST_SERVER"), "needs VEMAKIN_TEST_SERVER")
class SyncTest(unittest.TestCase):
    def setUp(self):
        self.server = os.environ["VEMAKIN_TEST_SERVER"]
        self.dir = tempfile.mkdtemp(prefix="vemakin-py-sync-")
        self.stores = []

    def tearDown(self):
        for s in self.stores:
            s.close()
        shutil.rmtree(self.dir)

    def device(self, name):
        store = vemakin.Store(os.path.join(self.dir, name + ".db"))
        self.stores.append(store)
        return store

    def email(self, who):
        return "py-%s-%s@example.com" % (who, uuid.uuid4().hex[:10])

    def test_guest_work_is_claimed_shared_and_verified_equal(self):
        owner, crew = self.device("owner"), self.device("crew")
        project = owner.create("projects", {"name": "Shared"})
        owner.create("shots", {"project_id": project["id"], "title": "Opening"})
        phases = []
        with owner.sync(progress=lambda phase, done, total: phases.append(phase)) as s:
            user = s.register(self.server, self.email("owner"), PASSWORD, "Owner")
            self.assertEqual(owner.status()["owner_id"], user["id"])
            self.assertIn("push", phases)
            crew_email = self.email("crew")
            with crew.sync() as c:
                c.register(self.server, crew_email, PASSWORD, "Crew")
                s.add_member(project["id"], crew_email, "viewer")
                report = c.sync()
                self.assertGreaterEqual(report["snapshot_rows"] + report["pulled"], 2)
                self.assertEqual(crew.list("shots", project_id=project["id"]).total, 1)
                # A viewer's write is refused on the device already.
                with self.assertRaises(vemakin.PermissionDenied) as caught:
                    crew.create("shots", {"project_id": project["id"], "title": "Not mine"})
                self.assertEqual(caught.exception.code, 9)
                self.assertEqual(c.conflicts(), [])
                self.assertTrue(c.verify()["equal"])
            self.assertTrue(s.verify()["equal"])
            self.assertEqual(owner.setting("server"), self.server)

    def test_watch_delivers_another_devices_change_and_stops(self):
        email = self.email("watch")
        phone, laptop = self.device("phone"), self.device("laptop")
        with phone.sync() as p, laptop.sync() as l:
            p.register(self.server, email, PASSWORD, "Watcher")
            project = phone.create("projects", {"name": "Live"})
            p.sync()
            laptop.set_setting("server", self.server)  # signs in to the remembered server
            l.login(None, email, PASSWORD)
            seen = []

            def write_from_laptop():
                laptop.create("shots", {"project_id": project["id"], "title": "Live shot"})
                l.sync()

            writer = threading.Thread(target=write_from_laptop)

            def on_change(report):
                seen.append(report)
                titles = [s["title"] for s in phone.list("shots", project_id=project["id"])]
                return "Live shot" not in titles  # False (stop) once it has arrived

            writer.start()
            p.watch(on_change, wait_seconds=30)
            writer.join()
            self.assertTrue(any(r["pulled"] > 0 for r in seen), seen)
            self.assertEqual(phone.list("shots", project_id=project["id"]).total, 1)

            # stop_watch from another thread ends a watch parked in its long poll.
            stopper = threading.Timer(0, p.stop_watch)
            stopper.start()
            p.watch(lambda report: True, wait_seconds=60)
            stopper.join()

    def test_an_exception_in_the_watch_callback_stops_it_and_is_raised(self):
        email = self.email("raise")
        a, b = self.device("a"), self.device("b")
        with a.sync() as sa, b.sync() as sb:
            sa.register(self.server, email, PASSWORD, "A")
            sb.login(self.server, email, PASSWORD)
            b.create("projects", {"name": "Trigger"})
            sb.sync()

            def boom(report):
                raise KeyError("from the callback")

            with self.assertRaises(KeyError):
                sa.watch(boom, wait_seconds=30)
            # Closing the session from its own callback is refused, not a hang.
            b.create("projects", {"name": "Trigger again"})
            sb.sync()
            with self.assertRaises(vemakin.FailedPrecondition):
                sa.watch(lambda report: sa.close(), wait_seconds=30)
            self.assertTrue(sa.verify()["equal"])

    def test_closing_the_store_stops_a_watch_on_another_thread_and_waits_for_it(self):
        store = vemakin.Store(os.path.join(self.dir, "closing.db"))
        sync = store.sync()
        sync.register(self.server, self.email("closing"), PASSWORD, "Closing")
        errors = []

        def watch():
            try:
                sync.watch(lambda report: True, wait_seconds=30)
            except vemakin.FailedPrecondition as e:  # closed before it began: fine
                errors.append(e)

        watcher = threading.Thread(target=watch)
        watcher.start()
        started = time.monotonic()
        store.close()  # stops the watch, waits for it, then frees the handles
        watcher.join(15)
        self.assertFalse(watcher.is_alive())
        self.assertLess(time.monotonic() - started, 15)
        with self.assertRaises(vemakin.FailedPrecondition):
            sync.sync()
        with self.assertRaises(vemakin.FailedPrecondition):
            store.list("projects")

    def test_ctrl_c_ends_a_watch_on_the_main_thread(self):
        store = self.device("interrupted")
        with store.sync() as s:
            s.register(self.server, self.email("interrupted"), PASSWORD, "Interrupted")
            interrupt = threading.Timer(1.0, signal.raise_signal, args=(signal.SIGINT,))
            started = time.monotonic()
            interrupt.start()
            with self.assertRaises(KeyboardInterrupt):
                s.watch(lambda report: True, wait_seconds=30)
            interrupt.join()
            self.assertLess(time.monotonic() - started, 10)
            self.assertEqual(s.sync()["pushed"], 0)  # still usable afterwards

    def test_logout_keeps_unsynced_work_unless_discarded(self):
        store = self.device("leaving")
        with store.sync() as s:
            s.register(self.server, self.email("leaving"), PASSWORD, "Leaving")
            store.create("projects", {"name": "Unsynced"})
            with self.assertRaises(vemakin.FailedPrecondition) as caught:
                s.logout()
            self.assertEqual(caught.exception.code, 4)
            self.assertEqual(store.list("projects").total, 1)
            s.logout(discard=True)
            self.assertEqual(store.status()["mode"], "guest")


if __name__ == "__main__":
    unittest.main()
