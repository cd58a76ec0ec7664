#include "client/import/csv.h"

#include <cerrno>
#include <cmath>
#include <fstream>
#include <limits>
#include <sstream>
#include <system_error>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/base/status_macros.h"

namespace assay::import {
namespace {

absl::Status ErrorAt(absl::string_view name, int line, int col, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(name, ":", line, ":", col, ": ", what));
}

// A binary or fractional cell: "1", "+1", "0", "-1", "true", "false", or a number in [0,1].
// Returns NaN for an empty / NA cell, an error message otherwise.
absl::StatusOr<double> ParseOutcome(absl::string_view raw) {
  const absl::string_view s = absl::StripAsciiWhitespace(raw);
  if (s.empty() || s == "NA" || s == "na" || s == "NaN" || s == "nan") {
    return std::numeric_limits<double>::quiet_NaN();
  }
  const std::string lower = absl::AsciiStrToLower(s);
  if (lower == "true") return 1.0;
  if (lower == "false") return 0.0;
  double v;
  if (!absl::SimpleAtod(s, &v) || !std::isfinite(v)) {
    return absl::InvalidArgumentError(absl::StrCat("cell '", s, "' is not a number"));
  }
  if (v == -1.0) return 0.0;  // ±1 coding
  if (v < 0 || v > 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("cell '", s, "' is not 1/0, +1/-1 or a fraction in [0,1]"));
  }
  return v;
}

absl::StatusOr<irt::ResponseMatrix> ParseWide(const std::vector<CsvRow>& rows,
                                              absl::string_view name) {
  const CsvRow& header = rows[0];
  std::vector<std::string> items(header.fields.begin() + 1, header.fields.end());
  if (items.empty()) return ErrorAt(name, header.line, 2, "header has no item columns");
  absl::flat_hash_map<std::string, int> item_col;
  for (size_t c = 0; c < items.size(); ++c) {
    items[c] = std::string(absl::StripAsciiWhitespace(items[c]));
    if (items[c].empty())
      return ErrorAt(name, header.line, static_cast<int>(c) + 2, "empty item id");
    if (!item_col.emplace(items[c], c).second) {
      return ErrorAt(name, header.line, static_cast<int>(c) + 2,
                     absl::StrCat("duplicate item id '", items[c], "'"));
    }
  }
  const Eigen::Index n = static_cast<Eigen::Index>(rows.size()) - 1;
  Eigen::MatrixXf y(n, static_cast<Eigen::Index>(items.size()));
  std::vector<std::string> models;
  absl::flat_hash_map<std::string, int> model_line;
  for (Eigen::Index r = 0; r < n; ++r) {
    const CsvRow& row = rows[r + 1];
    if (row.fields.size() != items.size() + 1) {
      return ErrorAt(name, row.line, 1,
                     absl::StrCat("expected ", items.size() + 1, " fields (model + ", items.size(),
                                  " items), got ", row.fields.size()));
    }
    std::string model(absl::StripAsciiWhitespace(row.fields[0]));
    if (model.empty()) return ErrorAt(name, row.line, 1, "empty model name");
    auto [it, inserted] = model_line.emplace(model, row.line);
    if (!inserted) {
      return ErrorAt(name, row.line, 1,
                     absl::StrCat("model '", model, "' already appears on line ", it->second));
    }
    models.push_back(std::move(model));
    for (size_t c = 0; c < items.size(); ++c) {
      auto v = ParseOutcome(row.fields[c + 1]);
      if (!v.ok()) return ErrorAt(name, row.line, static_cast<int>(c) + 2, v.status().message());
      y(r, static_cast<Eigen::Index>(c)) = static_cast<float>(*v);
    }
  }
  if (models.empty()) return ErrorAt(name, header.line, 1, "no model rows after the header");
  return irt::ResponseMatrix::FromDense(std::move(models), std::move(items), std::move(y));
}

absl::StatusOr<irt::ResponseMatrix> ParseLong(const std::vector<CsvRow>& rows,
                                              absl::string_view name, bool score, bool with_n) {
  const size_t want = with_n ? 4 : 3;
  std::vector<std::string> models, items;
  absl::flat_hash_map<std::string, int32_t> model_index, item_index;
  std::vector<irt::Cell> cells;
  auto intern = [](absl::flat_hash_map<std::string, int32_t>& index, std::vector<std::string>& ids,
                   const std::string& id) {
    auto [it, inserted] = index.emplace(id, static_cast<int32_t>(ids.size()));
    if (inserted) ids.push_back(id);
    return it->second;
  };
  for (size_t r = 1; r < rows.size(); ++r) {
    const CsvRow& row = rows[r];
    if (row.fields.size() != want) {
      return ErrorAt(name, row.line, 1,
                     absl::StrCat("expected ", want, " fields, got ", row.fields.size()));
    }
    const std::string model(absl::StripAsciiWhitespace(row.fields[0]));
    const std::string item(absl::StripAsciiWhitespace(row.fields[1]));
    if (model.empty()) return ErrorAt(name, row.line, 1, "empty model name");
    if (item.empty()) return ErrorAt(name, row.line, 2, "empty item id");
    irt::Cell cell{0, 0, 0, 1};
    const absl::string_view value = absl::StripAsciiWhitespace(row.fields[2]);
    if (with_n) {
      double k, n;
      if (!absl::SimpleAtod(value, &k) || !std::isfinite(k) || k < 0) {
        return ErrorAt(name, row.line, 3,
                       absl::StrCat("correct '", value, "' is not a count >= 0"));
      }
      const absl::string_view n_text = absl::StripAsciiWhitespace(row.fields[3]);
      if (!absl::SimpleAtod(n_text, &n) || !std::isfinite(n) || n <= 0) {
        return ErrorAt(name, row.line, 4, absl::StrCat("n '", n_text, "' is not a count > 0"));
      }
      if (k > n) return ErrorAt(name, row.line, 3, absl::StrCat("correct ", k, " exceeds n ", n));
      cell.successes = k;
      cell.trials = n;
    } else {
      auto v = ParseOutcome(value);
      if (!v.ok()) return ErrorAt(name, row.line, 3, v.status().message());
      if (std::isnan(*v)) continue;  // missing
      if (!score && *v != 0.0 && *v != 1.0) {
        return ErrorAt(
            name, row.line, 3,
            absl::StrCat("correct '", value, "' must be 0/1 (use a score column for fractions)"));
      }
      cell.successes = *v;
    }
    cell.model = intern(model_index, models, model);
    cell.item = intern(item_index, items, item);
    cells.push_back(cell);
  }
  if (cells.empty()) return ErrorAt(name, rows[0].line, 1, "no observations after the header");
  return irt::ResponseMatrix::FromCells(std::move(models), std::move(items), std::move(cells));
}

}  // namespace

absl::StatusOr<std::vector<CsvRow>> ParseCsv(absl::string_view text, absl::string_view name) {
  std::vector<CsvRow> rows;
  CsvRow row;
  std::string field;
  int line = 1;
  row.line = 1;
  bool in_quotes = false, after_quote = false, row_has_content = false;
  auto end_field = [&] {
    row.fields.push_back(std::move(field));
    field.clear();
    after_quote = false;
  };
  for (size_t i = 0; i < text.size(); ++i) {
    const char ch = text[i];
    const int col = static_cast<int>(row.fields.size()) + 1;
    if (in_quotes) {
      if (ch == '"') {
        if (i + 1 < text.size() && text[i + 1] == '"') {
          field.push_back('"');
          ++i;
        } else {
          in_quotes = false;
          after_quote = true;
        }
      } else {
        if (ch == '\n') ++line;
        field.push_back(ch);
      }
      continue;
    }
    if (ch == ',') {
      end_field();
      row_has_content = true;
    } else if (ch == '\n' || ch == '\r') {
      if (ch == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      if (row_has_content || !field.empty()) {
        end_field();
        rows.push_back(std::move(row));
      }
      row = CsvRow();
      row_has_content = false;
      field.clear();
      after_quote = false;
      ++line;
      row.line = line;
    } else if (after_quote) {
      return ErrorAt(name, line, col, "text after a closing quote");
    } else if (ch == '"' && field.empty()) {
      in_quotes = true;
      row_has_content = true;
    } else {
      field.push_back(ch);
    }
  }
  if (in_quotes)
    return ErrorAt(name, row.line, static_cast<int>(row.fields.size()) + 1, "unterminated quote");
  if (row_has_content || !field.empty()) {
    end_field();
    rows.push_back(std::move(row));
  }
  return rows;
}

absl::StatusOr<irt::ResponseMatrix> ParseResponsesCsv(absl::string_view text,
                                                      absl::string_view name) {
  ASSIGN_OR_RETURN(std::vector<CsvRow> rows, ParseCsv(text, name));
  if (rows.empty()) return ErrorAt(name, 1, 1, "file is empty");
  if (text.size() >= 3 && text.substr(0, 3) == "\xEF\xBB\xBF" && !rows[0].fields.empty()) {
    rows[0].fields[0].erase(0, 3);  // UTF-8 byte order mark
  }
  std::vector<std::string> header;
  for (const std::string& f : rows[0].fields) {
    header.push_back(absl::AsciiStrToLower(absl::StripAsciiWhitespace(f)));
  }
  if (header.size() >= 3 && header[0] == "model" && header[1] == "item") {
    if (header.size() == 3 && header[2] == "score") return ParseLong(rows, name, true, false);
    if (header.size() == 3 && header[2] == "correct") return ParseLong(rows, name, false, false);
    if (header.size() == 4 && header[2] == "correct" && header[3] == "n") {
      return ParseLong(rows, name, false, true);
    }
    return ErrorAt(
        name, rows[0].line, 3,
        absl::StrCat("long layout header must be model,item,correct[,n] or model,item,score; got ",
                     absl::StrJoin(header, ",")));
  }
  return ParseWide(rows, name);
}

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    // std::generic_category().message is thread safe, unlike strerror.
    return absl::NotFoundError(
        absl::StrCat("cannot open '", path, "': ", std::generic_category().message(errno)));
  }
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) return absl::UnavailableError(absl::StrCat("cannot read '", path, "'"));
  return buffer.str();
}

absl::StatusOr<irt::ResponseMatrix> ReadResponsesCsv(const std::string& path) {
  ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  return ParseResponsesCsv(text, path);
}

}  // namespace assay::import
