// An order-independent digest of a set of rows (SPEC.md section 4.10): the
// sum, modulo 2^128, of the SHA-256 (first 16 bytes) of each row's canonical
// JSON text, with the row count. Adding rows in any order gives the same
// digest, so the server (PostgreSQL) and a client (SQLite) can compare a
// table without agreeing on an order or sending the rows.
//
// Canonical text: the row as the API renders it (core/json_codec.h values),
// numbers as doubles, dumped by nlohmann::json (keys sorted).
// Pure; a TableDigest is not thread-safe.
#ifndef VEMAKIN_CORE_DIGEST_H_
#define VEMAKIN_CORE_DIGEST_H_

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "core/model.h"

namespace vemakin::core {

class TableDigest {
 public:
  // Adds a row of `table`: numbers as doubles whatever their spelling
  // (PostgreSQL's "0" and SQLite's 0.0 are one value), then its JSON text.
  void Add(const TableSpec& table, const nlohmann::json& row);
  void AddText(std::string_view canonical_text);
  long long count() const { return count_; }
  // 32 hex digits.
  std::string Hex() const;
  nlohmann::json ToJson() const { return {{"count", count_}, {"digest", Hex()}}; }

 private:
  std::uint64_t high_ = 0;
  std::uint64_t low_ = 0;
  long long count_ = 0;
};

}  // namespace vemakin::core

#endif  // VEMAKIN_CORE_DIGEST_H_
