#include "core/digest.h"

#include <openssl/evp.h>

#include <cstdio>

namespace vemakin::core {

void TableDigest::Add(const TableSpec& table, const nlohmann::json& row) {
  nlohmann::json canonical = row;
  for (const FieldSpec& f : table.fields) {
    auto it = canonical.find(f.name);
    if (f.type == FieldType::kNumber && it != canonical.end() && it->is_number()) {
      *it = it->get<double>();
    }
  }
  AddText(canonical.dump());
}

void TableDigest::AddText(std::string_view text) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(text.data(), text.size(), md, &len, EVP_sha256(), nullptr);
  std::uint64_t h = 0, l = 0;
  for (int i = 0; i < 8; ++i) h = (h << 8) | md[i];
  for (int i = 8; i < 16; ++i) l = (l << 8) | md[i];
  const std::uint64_t sum = low_ + l;
  high_ += h + (sum < low_ ? 1 : 0);
  low_ = sum;
  ++count_;
}

std::string TableDigest::Hex() const {
  char buf[33];
  std::snprintf(buf, sizeof buf, "%016llx%016llx", static_cast<unsigned long long>(high_),
                static_cast<unsigned long long>(low_));
  return buf;
}

}  // namespace vemakin::core
