#include "console/rows.hpp"

#include <algorithm>
#include <sstream>

#include "console/counter_format.hpp"

namespace rampart::console {

Cell Cell::number(double x) {
  std::ostringstream out;
  out << x;
  return {out.str(), false};
}

std::string Rows::table() const {
  std::vector<size_t> shown;  // the columns the table has, in order
  for (size_t c = 0; c < columns_.size(); ++c)
    if (!columns_[c].header.empty()) shown.push_back(c);
  std::vector<size_t> width(shown.size());
  for (size_t i = 0; i < shown.size(); ++i) {
    width[i] = columns_[shown[i]].header.size();
    for (const auto& row : rows_) width[i] = std::max(width[i], row[shown[i]].text.size());
  }
  std::string out;
  auto line = [&](auto&& text_of) {
    for (size_t i = 0; i < shown.size(); ++i) {
      const std::string& text = text_of(shown[i]);
      out += text;
      if (i + 1 < shown.size()) out.append(width[i] - text.size() + 2, ' ');
    }
    out += '\n';
  };
  line([&](size_t c) -> const std::string& { return columns_[c].header; });
  for (const auto& row : rows_) line([&](size_t c) -> const std::string& { return row[c].text; });
  return out;
}

std::string Rows::json() const {
  std::string out = "[";
  for (size_t r = 0; r < rows_.size(); ++r) {
    out += r ? ", {" : "{";
    bool first = true;
    for (size_t c = 0; c < columns_.size(); ++c) {
      if (columns_[c].key.empty()) continue;
      out += first ? "\"" : ", \"";
      out += columns_[c].key + "\": ";
      const Cell& cell = rows_[r][c];
      out += cell.quoted ? "\"" + json_escape(cell.text) + "\"" : cell.text;
      first = false;
    }
    out += "}";
  }
  return out + "]\n";
}

}  // namespace rampart::console
