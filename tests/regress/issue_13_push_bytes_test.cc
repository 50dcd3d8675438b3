// Issue 13: a push request is bounded by bytes as well as by count. Before,
// the client sent up to push_batch mutations whatever their size, so a crew
// that wrote a few dozen long notes offline sent a body over the server's
// VEMAKIN_MAX_BODY_BYTES, got 413, and sent the same body again at every
// sync: the outbox jammed (LESSONS.md, "The outbox must never jam").
#include <gtest/gtest.h>

#include <string>

#include "tests/e2e/sync_test_support.h"
#include "vemakin/client/store.h"
#include "vemakin/client/sync.h"

namespace vemakin::testing {
namespace {

class Issue13PushBytes : public SyncFixture {
 protected:
  // Pushes the server answered with `status`, from its metrics.
  static double Pushes(const std::string& base, int status) {
    const double n = MetricAt(base,
                              "vemakin_http_requests_total{method=\"POST\",route=\"/api/sync/"
                              "push\",status=\"" +
                                  std::to_string(status) + "\"}");
    return n < 0 ? 0 : n;
  }
  // Options of a second server over the suite's schema, with this body cap.
  static server::ServerOptions WithBodyCap(std::size_t bytes) {
    server::ServerOptions o;
    UseTestDatabase(o);
    o.schema = server_->schema();
    o.listen = "127.0.0.1:0";
    o.logger = std::make_shared<NullLogger>();
    o.max_body_bytes = bytes;
    return o;
  }
  // A project and `count` notes of `chars` characters each, written offline.
  static void WriteLongNotes(Store& store, int count, size_t chars) {
    const std::string project = store.Create(Collection::kProjects, {{"name", "Script"}})["id"];
    store.Batch([&] {
      for (int i = 0; i < count; ++i) {
        store.Create(Collection::kNotes, {{"project_id", project},
                                          {"title", "Scene " + std::to_string(i)},
                                          {"content", std::string(chars, 'a' + i % 26)}});
      }
    });
  }
};

// 30 notes of 90,000 characters: 2.7 MB of mutations, far over the server's
// 1 MiB body cap, arrive in several requests, none refused.
TEST_F(Issue13PushBytes, LongNotesWrittenOfflineArriveInRequestsTheServerAccepts) {
  Device d = NewAccount("writer");
  const double ok_before = Pushes(Url(), 200);
  const double refused_before = MetricAt(Url(), "vemakin_http_requests_refused_total");
  WriteLongNotes(*d.store, 30, 90000);
  const client::SyncReport report = d.sync->Sync();
  EXPECT_EQ(report.pushed, 31);
  EXPECT_EQ(d.store->Status().pending_mutations, 0);
  EXPECT_EQ(MetricAt(Url(), "vemakin_http_requests_refused_total") - refused_before, 0);
  // At most five notes (450 KB) fit in the client's 512 KiB budget per request.
  EXPECT_GE(Pushes(Url(), 200) - ok_before, 6);
  ExpectConverged(d);
}

// A server's body cap holds the largest mutation a client may push (a
// 100,000-character note): a smaller one is refused at start, never found out
// by a client whose outbox it would jam.
TEST_F(Issue13PushBytes, AServerRefusesABodyCapBelowTheLargestMutation) {
  try {
    server::Server refused(WithBodyCap(150 << 10));
    ADD_FAILURE() << "a 150 KiB body cap was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find("max_body_bytes"), std::string::npos) << e.what();
  }
}

// A client whose requests are larger than the server takes (its byte budget
// set above the cap, as a proxy with a smaller cap would make it) gets 413,
// sends the same mutations again in smaller requests, and nothing is lost or
// applied twice.
TEST_F(Issue13PushBytes, ARequestRefusedAsTooLargeIsSentAgainInSmallerOnes) {
  server::Server small(WithBodyCap(server::ServerOptions::kMinBodyBytes));
  small.Start();
  const std::string base = "http://127.0.0.1:" + std::to_string(small.port());
  auto store = OpenStore("field");
  client::SyncClientOptions so;
  so.push_batch_bytes = 4 << 20;
  SyncClient sync(*store, so);
  sync.Register(base, "field-" + RandomUuid().substr(0, 8) + "@example.com", kPassword, "Field");
  WriteLongNotes(*store, 12, 90000);  // 1.08 MB: one request under the budget, over the cap
  const client::SyncReport report = sync.Sync();
  EXPECT_EQ(report.pushed, 13);
  EXPECT_EQ(report.rejected, 0);
  EXPECT_EQ(store->Status().pending_mutations, 0);
  // The path under test was taken: the listener refused a body (413).
  EXPECT_GE(MetricAt(base, "vemakin_http_requests_refused_total"), 1);
  const client::VerifyReport v = sync.Verify();
  EXPECT_TRUE(v.equal) << v.ToJson().dump(2);
  small.Stop();
}

}  // namespace
}  // namespace vemakin::testing
