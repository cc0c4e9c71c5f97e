// One row model for every "show" answer: columns with a header for the text table and a key
// for JSON, rows of cells, rendered either way. A column may be the table's only (a header, no
// key) or JSON's only (a key, no header), where the two views want a value in different forms
// (an SPI as 0x... in the table and a number in JSON, say).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace rampart::console {

// A cell: its text, and whether JSON quotes it (strings) or not (numbers, booleans).
struct Cell {
  std::string text;
  bool quoted = true;

  Cell(std::string s) : text(std::move(s)) {}  // NOLINT: a string is the usual cell
  Cell(const char* s) : text(s) {}             // NOLINT
  template <typename T>
    requires std::is_integral_v<T>
  static Cell number(T n) {
    return {std::to_string(n), false};
  }
  static Cell number(double x);
  static Cell boolean(bool b) { return {b ? "true" : "false", false}; }

 private:
  Cell(std::string s, bool q) : text(std::move(s)), quoted(q) {}
};

struct Column {
  std::string header;  // in the table; empty: JSON only
  std::string key;     // in JSON; empty: table only
};

class Rows {
 public:
  explicit Rows(std::vector<Column> columns) : columns_(std::move(columns)) {}
  // One cell per column, in the columns' order.
  void add(std::vector<Cell> cells) { rows_.push_back(std::move(cells)); }
  // Columns as wide as their widest cell, two spaces apart, a line per row under the headers.
  std::string table() const;
  // An array of objects, one per row, keys in the columns' order, and a newline.
  std::string json() const;
  std::string render(bool as_json) const { return as_json ? json() : table(); }
  size_t size() const noexcept { return rows_.size(); }

 private:
  std::vector<Column> columns_;
  std::vector<std::vector<Cell>> rows_;
};

}  // namespace rampart::console
