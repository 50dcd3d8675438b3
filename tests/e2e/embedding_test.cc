// The embedding APIs as applications use them, against an in-process server
// on the test PostgreSQL: the C test program (tests/embedding/c_api_test.c,
// built as C11 against libvemakin.so) and the Python binding's own suite
// (bindings/python/tests) through ctypes. Each runs as its own process.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "tests/e2e/api_test_support.h"
#include "tests/support/process.h"

namespace vemakin::testing {
namespace {

class Embedding : public ServerSuite {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("vemakin-embed-" + std::to_string(::getpid()) + "-" + RandomUuid().substr(0, 8));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  static std::string Url() { return "http://127.0.0.1:" + std::to_string(port()); }
  static std::string Email(const std::string& who) {
    return who + "-" + RandomUuid().substr(0, 8) + "@example.com";
  }
  std::filesystem::path dir_;
};

TEST_F(Embedding, CProgramWorksOfflineAsAGuest) {
  const RunResult r = testing::Run({VEMAKIN_C_API_TEST_BIN, dir_.string()});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("ok: "), std::string::npos) << r.out;
}

TEST_F(Embedding, CProgramRegistersSyncsWatchesAndVerifies) {
  const RunResult r = testing::Run({VEMAKIN_C_API_TEST_BIN, dir_.string(), Url(), Email("c-api")});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("ok: "), std::string::npos) << r.out;
}

TEST_F(Embedding, PythonBindingSuitePassesAgainstTheServer) {
  const std::string python_dir = std::string(VEMAKIN_SOURCE_DIR) + "/bindings/python";
  const RunResult r = testing::Run(
      {"/usr/bin/env", std::string("VEMAKIN_LIBRARY=") + VEMAKIN_C_LIBRARY,
       "PYTHONPATH=" + python_dir, "VEMAKIN_TEST_SERVER=" + Url(), "PYTHONDONTWRITEBYTECODE=1",
       "python3", "-m", "unittest", "discover", "-v", "-s", python_dir + "/tests"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  // unittest reports on stderr; every test must have run (none skipped).
  EXPECT_NE(r.err.find("\nOK\n"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("skipped"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("Ran 12 tests"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace vemakin::testing
