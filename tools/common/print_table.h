// Column-aligned text tables for the tools' human output (the --json forms
// print JSON instead). Header-only: the tools share it, no library needs it.
#ifndef VEMAKIN_TOOLS_COMMON_PRINT_TABLE_H_
#define VEMAKIN_TOOLS_COMMON_PRINT_TABLE_H_

#include <algorithm>
#include <iostream>
#include <string>
#include <vector>

namespace vemakin::tools {

// Prints `header` and `rows` to stdout, each column as wide as its widest
// cell, two spaces apart.
inline void PrintTable(const std::vector<std::string>& header,
                       const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width(header.size());
  for (size_t i = 0; i < header.size(); ++i) width[i] = header[i].size();
  for (const auto& row : rows) {
    for (size_t i = 0; i < row.size() && i < width.size(); ++i) {
      width[i] = std::max(width[i], row[i].size());
    }
  }
  auto print_row = [&](const std::vector<std::string>& row) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size() && i < width.size()) {
        line += std::string(width[i] - row[i].size() + 2, ' ');
      }
    }
    std::cout << line << "\n";
  };
  print_row(header);
  for (const auto& row : rows) print_row(row);
}

}  // namespace vemakin::tools

#endif  // VEMAKIN_TOOLS_COMMON_PRINT_TABLE_H_
