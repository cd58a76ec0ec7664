#include "client/import/csv.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>
#include <limits>
#include <optional>
#include <system_error>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/function_ref.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/types/span.h"
#include "core/base/huge_pages.h"
#include "core/base/status_macros.h"

namespace assay::import {
namespace {

absl::Status ErrorAt(absl::string_view name, int line, int col, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(name, ":", line, ":", col, ": ", what));
}

// A binary or fractional cell: "1", "+1", "0", "-1", "true", "false", or a number in [0,1].
// Returns NaN for an empty / NA cell, an error message otherwise. No allocation on success.
absl::StatusOr<double> ParseOutcome(absl::string_view raw) {
  if (raw.size() == 1) {  // the common cells, first
    if (raw[0] == '1') return 1.0;
    if (raw[0] == '0') return 0.0;
  }
  const absl::string_view s = absl::StripAsciiWhitespace(raw);
  if (s.empty() || s == "NA" || s == "na" || s == "NaN" || s == "nan") {
    return std::numeric_limits<double>::quiet_NaN();
  }
  if (absl::EqualsIgnoreCase(s, "true")) return 1.0;
  if (absl::EqualsIgnoreCase(s, "false")) return 0.0;
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

using Fields = absl::Span<const absl::string_view>;

// The wide layout, a row at a time: the header's item ids, then one model per row, written
// straight into the dense N×J matrix (rows are staged in a small row-major block and copied
// into the column-major matrix a block at a time, so the writes stay sequential).
class WideReader {
 public:
  WideReader(absl::string_view name, size_t max_rows) : name_(name), max_rows_(max_rows) {}

  absl::Status Header(int line, Fields header) {
    header_line_ = line;
    if (header.size() < 2) return ErrorAt(name_, line, 2, "header has no item columns");
    items_.reserve(header.size() - 1);
    for (size_t c = 1; c < header.size(); ++c) {
      std::string id(absl::StripAsciiWhitespace(header[c]));
      if (id.empty()) return ErrorAt(name_, line, static_cast<int>(c) + 1, "empty item id");
      if (!item_col_.emplace(id, c).second) {
        return ErrorAt(name_, line, static_cast<int>(c) + 1,
                       absl::StrCat("duplicate item id '", id, "'"));
      }
      items_.push_back(std::move(id));
    }
    const auto j = static_cast<Eigen::Index>(items_.size());
    ReserveHugePages(y_, max_rows_ * items_.size());
    y_.resize(max_rows_ * items_.size());
    block_.resize(kBlockRows, j);
    return absl::OkStatus();
  }

  absl::Status Row(int line, Fields row) {
    if (row.size() != items_.size() + 1) {
      return ErrorAt(name_, line, 1,
                     absl::StrCat("expected ", items_.size() + 1, " fields (model + ",
                                  items_.size(), " items), got ", row.size()));
    }
    ASSIGN_OR_RETURN(std::string model, NewModel(line, row[0]));
    for (size_t c = 0; c < items_.size(); ++c) {
      absl::StatusOr<double> v = ParseOutcome(row[c + 1]);
      if (!v.ok()) return ErrorAt(name_, line, static_cast<int>(c) + 2, v.status().message());
      block_(staged_, static_cast<Eigen::Index>(c)) = static_cast<float>(*v);
    }
    Stage(std::move(model));
    return absl::OkStatus();
  }

  // Row() for a line with no quote and no line break in it (ParseResponsesCsv's fast path): the
  // same checks and errors, parsing the cells in place with 0 and 1 decoded inline.
  absl::Status PlainRow(int line, absl::string_view text) {
    const size_t comma = text.find(',');
    if (comma == absl::string_view::npos) return WrongWidth(line, text);
    ASSIGN_OR_RETURN(std::string model, NewModel(line, text.substr(0, comma)));
    const char* p = text.data() + comma + 1;
    const char* const end = text.data() + text.size();
    float* out = block_.row(staged_).data();
    const size_t j = items_.size();
    size_t c = 0;
    // Eight "d," cells at a time while the row is nothing but 0/1 cells (the common wide file):
    // 16 bytes as two little-endian words, the commas and digits checked by mask, then the
    // digits' low bits are the values. Any other byte leaves the rest of the row to the loop
    // below.
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    while (c + 8 <= j && end - p >= 16) {
      uint64_t w[2];
      std::memcpy(w, p, 16);
      constexpr uint64_t kOdd = 0xFF00FF00FF00FF00ull, kCommas = 0x2C002C002C002C00ull;
      constexpr uint64_t kEven = 0x00FE00FE00FE00FEull, kDigits = 0x0030003000300030ull;
      if (((w[0] & kOdd) != kCommas) | ((w[1] & kOdd) != kCommas) |
          ((w[0] & kEven) != kDigits) | ((w[1] & kEven) != kDigits)) {
        break;
      }
      for (size_t k = 0; k < 8; ++k) out[c + k] = static_cast<float>(p[2 * k] & 1);
      c += 8;
      p += 16;
    }
#endif
    for (; c < j; ++c) {
      if (p > end) return WrongWidth(line, text);  // fewer cells than items
      if (end - p >= 1 && (*p == '0' || *p == '1') && (p + 1 == end || p[1] == ',')) {
        out[c] = static_cast<float>(*p - '0');
        p += 2;
        continue;
      }
      const char* q = static_cast<const char*>(std::memchr(p, ',', static_cast<size_t>(end - p)));
      if (q == nullptr) q = end;
      absl::StatusOr<double> v = ParseOutcome(absl::string_view(p, static_cast<size_t>(q - p)));
      if (!v.ok()) return ErrorAt(name_, line, static_cast<int>(c) + 2, v.status().message());
      out[c] = static_cast<float>(*v);
      p = q + 1;
    }
    if (p <= end) return WrongWidth(line, text);  // more cells than items
    Stage(std::move(model));
    return absl::OkStatus();
  }

  absl::StatusOr<irt::ResponseMatrix> Finish() {
    Flush();
    if (models_.empty()) return ErrorAt(name_, header_line_, 1, "no model rows after the header");
    // Fewer rows than lines (blank lines, the header): close up the columns, in place.
    const size_t n = models_.size();
    if (n < max_rows_) {
      for (size_t c = 1; c < items_.size(); ++c) {
        std::memmove(y_.data() + c * n, y_.data() + c * max_rows_, n * sizeof(float));
      }
      y_.resize(n * items_.size());
    }
    return irt::ResponseMatrix::FromDenseColumns(std::move(models_), std::move(items_),
                                                 std::move(y_));
  }

 private:
  static constexpr Eigen::Index kBlockRows = 64;

  // A row's model name (field 1), checked: not empty, not seen on an earlier line.
  absl::StatusOr<std::string> NewModel(int line, absl::string_view field) {
    std::string model(absl::StripAsciiWhitespace(field));
    if (model.empty()) return ErrorAt(name_, line, 1, "empty model name");
    auto [it, inserted] = model_line_.emplace(model, line);
    if (!inserted) {
      return ErrorAt(name_, line, 1,
                     absl::StrCat("model '", model, "' already appears on line ", it->second));
    }
    return model;
  }

  // Keeps the row just written into block_'s next row.
  void Stage(std::string model) {
    models_.push_back(std::move(model));
    if (++staged_ == kBlockRows) Flush();
  }

  absl::Status WrongWidth(int line, absl::string_view text) const {
    const size_t fields = static_cast<size_t>(std::count(text.begin(), text.end(), ',')) + 1;
    return ErrorAt(name_, line, 1,
                   absl::StrCat("expected ", items_.size() + 1, " fields (model + ", items_.size(),
                                " items), got ", fields));
  }

  // Copies the staged rows into their columns, 16 columns at a time so that the reads (16
  // floats of a row) and the writes (a run of each column) both stay within a few cache lines.
  void Flush() {
    if (staged_ == 0) return;
    const size_t j = items_.size();
    float* const dst = y_.data() + written_;
    for (size_t c0 = 0; c0 < j; c0 += 16) {
      const size_t c1 = std::min(j, c0 + 16);
      for (Eigen::Index r = 0; r < staged_; ++r) {
        const float* src = block_.row(r).data();
        for (size_t c = c0; c < c1; ++c) dst[c * max_rows_ + static_cast<size_t>(r)] = src[c];
      }
    }
    written_ += staged_;
    staged_ = 0;
  }

  absl::string_view name_;
  size_t max_rows_;
  int header_line_ = 1;
  std::vector<std::string> items_, models_;
  absl::flat_hash_map<std::string, size_t> item_col_;
  absl::flat_hash_map<std::string, int> model_line_;
  std::vector<float> y_;  // max_rows_ × J, column-major
  Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> block_;
  Eigen::Index staged_ = 0, written_ = 0;
};

// The long layout, a row at a time: model, item, outcome (or count and n) per row. Ids are
// interned once each (looked up by view, copied only when new).
class LongReader {
 public:
  LongReader(absl::string_view name, bool score, bool with_n)
      : name_(name), score_(score), with_n_(with_n) {}

  absl::Status Row(int line, Fields row) {
    const size_t want = with_n_ ? 4 : 3;
    if (row.size() != want) {
      return ErrorAt(name_, line, 1, absl::StrCat("expected ", want, " fields, got ", row.size()));
    }
    const absl::string_view model = absl::StripAsciiWhitespace(row[0]);
    const absl::string_view item = absl::StripAsciiWhitespace(row[1]);
    if (model.empty()) return ErrorAt(name_, line, 1, "empty model name");
    if (item.empty()) return ErrorAt(name_, line, 2, "empty item id");
    irt::Cell cell{0, 0, 0, 1};
    const absl::string_view value = absl::StripAsciiWhitespace(row[2]);
    if (with_n_) {
      double k, n;
      if (!absl::SimpleAtod(value, &k) || !std::isfinite(k) || k < 0) {
        return ErrorAt(name_, line, 3, absl::StrCat("correct '", value, "' is not a count >= 0"));
      }
      const absl::string_view n_text = absl::StripAsciiWhitespace(row[3]);
      if (!absl::SimpleAtod(n_text, &n) || !std::isfinite(n) || n <= 0) {
        return ErrorAt(name_, line, 4, absl::StrCat("n '", n_text, "' is not a count > 0"));
      }
      if (k > n) return ErrorAt(name_, line, 3, absl::StrCat("correct ", k, " exceeds n ", n));
      cell.successes = k;
      cell.trials = n;
    } else {
      absl::StatusOr<double> v = ParseOutcome(value);
      if (!v.ok()) return ErrorAt(name_, line, 3, v.status().message());
      if (std::isnan(*v)) return absl::OkStatus();  // missing
      if (!score_ && *v != 0.0 && *v != 1.0) {
        return ErrorAt(
            name_, line, 3,
            absl::StrCat("correct '", value, "' must be 0/1 (use a score column for fractions)"));
      }
      cell.successes = *v;
    }
    cell.model = Intern(model_index_, models_, model);
    cell.item = Intern(item_index_, items_, item);
    cells_.push_back(cell);
    return absl::OkStatus();
  }

  absl::StatusOr<irt::ResponseMatrix> Finish(int header_line) {
    if (cells_.empty()) return ErrorAt(name_, header_line, 1, "no observations after the header");
    return irt::ResponseMatrix::FromCells(std::move(models_), std::move(items_), std::move(cells_));
  }

 private:
  static int32_t Intern(absl::flat_hash_map<std::string, int32_t>& index,
                        std::vector<std::string>& ids, absl::string_view id) {
    if (auto it = index.find(id); it != index.end()) return it->second;
    const auto next = static_cast<int32_t>(ids.size());
    index.emplace(std::string(id), next);
    ids.emplace_back(id);
    return next;
  }

  absl::string_view name_;
  bool score_, with_n_;
  std::vector<std::string> models_, items_;
  absl::flat_hash_map<std::string, int32_t> model_index_, item_index_;
  std::vector<irt::Cell> cells_;
};

}  // namespace

absl::Status ForEachCsvRow(absl::string_view text, absl::string_view name,
                           absl::FunctionRef<absl::Status(int line, Fields fields)> visit) {
  const size_t n = text.size();
  // A row's fields: views into `text`, or for a quoted field into `unquoted` (spans first, then
  // views, since `unquoted` may move while the row is read).
  struct Span {
    bool quoted;
    size_t offset, size;
  };
  std::vector<Span> spans;
  std::vector<absl::string_view> fields;
  std::string unquoted;
  int line = 1;
  size_t i = 0;
  while (i < n) {
    const int row_line = line;
    spans.clear();
    unquoted.clear();
    bool content = false;  // a blank line is no row
    for (;;) {
      if (i < n && text[i] == '"') {  // a quoted field: "" is a quote, newlines are kept
        content = true;
        const size_t start = unquoted.size();
        ++i;
        for (;;) {
          const size_t quote = text.find('"', i);
          if (quote == absl::string_view::npos) {
            return ErrorAt(name, row_line, static_cast<int>(spans.size()) + 1,
                           "unterminated quote");
          }
          line += static_cast<int>(std::count(text.begin() + i, text.begin() + quote, '\n'));
          unquoted.append(text.data() + i, quote - i);
          i = quote + 1;
          if (i < n && text[i] == '"') {
            unquoted.push_back('"');
            ++i;
            continue;
          }
          break;
        }
        spans.push_back({true, start, unquoted.size() - start});
        if (i < n && text[i] != ',' && text[i] != '\n' && text[i] != '\r') {
          return ErrorAt(name, line, static_cast<int>(spans.size()), "text after a closing quote");
        }
      } else {  // a plain field, up to the next comma or line end
        size_t j = i;
        while (j < n && text[j] != ',' && text[j] != '\n' && text[j] != '\r') ++j;
        if (j > i) content = true;
        spans.push_back({false, i, j - i});
        i = j;
      }
      if (i < n && text[i] == ',') {
        content = true;
        ++i;
        continue;
      }
      if (i < n) {  // the line end: \n, \r\n or \r
        if (text[i] == '\r' && i + 1 < n && text[i + 1] == '\n') ++i;
        ++i;
        ++line;
      }
      break;
    }
    if (!content) continue;
    fields.clear();
    for (const Span& s : spans) {
      fields.push_back(s.quoted ? absl::string_view(unquoted).substr(s.offset, s.size)
                                : text.substr(s.offset, s.size));
    }
    RETURN_IF_ERROR(visit(row_line, fields));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<CsvRow>> ParseCsv(absl::string_view text, absl::string_view name) {
  std::vector<CsvRow> rows;
  RETURN_IF_ERROR(ForEachCsvRow(text, name, [&](int line, Fields fields) {
    rows.push_back(CsvRow{line, std::vector<std::string>(fields.begin(), fields.end())});
    return absl::OkStatus();
  }));
  return rows;
}

absl::StatusOr<irt::ResponseMatrix> ParseResponsesCsv(absl::string_view text,
                                                      absl::string_view name) {
  if (absl::StartsWith(text, "\xEF\xBB\xBF")) text.remove_prefix(3);  // UTF-8 byte order mark
  // At most one model per line after the header: the wide matrix is sized once.
  size_t lines = 1;  // memchr, not std::count: GCC 12 at -O2 counts bytes one at a time
  for (const char* at = text.data(); const char* nl = static_cast<const char*>(std::memchr(
           at, '\n', static_cast<size_t>(text.data() + text.size() - at)));
       at = nl + 1) {
    ++lines;
  }
  // With no quote anywhere and every \r part of a \r\n, a line is a row and a comma a field
  // boundary: the wide rows after the header then take WideReader::PlainRow, at disk speed.
  bool plain = text.find('"') == absl::string_view::npos;
  for (size_t r = text.find('\r'); plain && r != absl::string_view::npos; r = text.find('\r', r + 1)) {
    plain = r + 1 < text.size() && text[r + 1] == '\n';
  }
  std::optional<WideReader> wide;
  std::optional<LongReader> long_reader;
  int header_line = 0;
  // The plain path: where the first row after the header starts, and its line.
  std::optional<std::pair<size_t, int>> body;
  const absl::Status read = ForEachCsvRow(text, name, [&](int line, Fields fields) -> absl::Status {
    if (wide.has_value() && plain) {  // the header is read: the rest goes line by line (below)
      body.emplace(static_cast<size_t>(fields.front().data() - text.data()), line);
      return absl::CancelledError();
    }
    if (wide.has_value()) return wide->Row(line, fields);
    if (long_reader.has_value()) return long_reader->Row(line, fields);
    header_line = line;
    std::vector<std::string> header;
    for (absl::string_view f : fields) {
      header.push_back(absl::AsciiStrToLower(absl::StripAsciiWhitespace(f)));
    }
    if (header.size() >= 3 && header[0] == "model" && header[1] == "item") {
      if (header.size() == 3 && (header[2] == "score" || header[2] == "correct")) {
        long_reader.emplace(name, header[2] == "score", false);
      } else if (header.size() == 4 && header[2] == "correct" && header[3] == "n") {
        long_reader.emplace(name, false, true);
      } else {
        return ErrorAt(name, line, 3,
                       absl::StrCat("long layout header must be model,item,correct[,n] or "
                                    "model,item,score; got ",
                                    absl::StrJoin(header, ",")));
      }
      return absl::OkStatus();
    }
    wide.emplace(name, lines);
    return wide->Header(line, fields);
  });
  if (!read.ok() && !body.has_value()) return read;
  if (body.has_value()) {
    auto [at, line] = *body;
    while (at < text.size()) {
      size_t eol = text.find('\n', at);
      if (eol == absl::string_view::npos) eol = text.size();
      absl::string_view row = text.substr(at, eol - at);
      if (!row.empty() && row.back() == '\r') row.remove_suffix(1);
      if (!row.empty()) RETURN_IF_ERROR(wide->PlainRow(line, row));
      at = eol + 1;
      ++line;
    }
  }
  if (wide.has_value()) return wide->Finish();
  if (long_reader.has_value()) return long_reader->Finish(header_line);
  return ErrorAt(name, 1, 1, "file is empty");
}

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    // std::generic_category().message is thread safe, unlike strerror.
    return absl::NotFoundError(
        absl::StrCat("cannot open '", path, "': ", std::generic_category().message(errno)));
  }
  // One read into a buffer of the file's size (no stream copy: half the memory, at disk speed).
  std::string text;
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  in.seekg(0, std::ios::beg);
  if (size > 0) {
    // Reserve (untouched), ask for huge pages, then fill: a page fault per 4 KiB cost more than
    // the parse (core/base/huge_pages.h).
    text.reserve(static_cast<size_t>(size));
    AdviseHugePages(text.data(), static_cast<size_t>(size));
    text.resize(static_cast<size_t>(size));
    in.read(text.data(), size);
    text.resize(static_cast<size_t>(in.gcount()));
  }
  // A pipe or a special file has no size: read what comes.
  if (size <= 0 || in.peek() != std::char_traits<char>::eof()) {
    in.clear();
    text.append(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  if (in.bad()) return absl::UnavailableError(absl::StrCat("cannot read '", path, "'"));
  return text;
}

absl::StatusOr<irt::ResponseMatrix> ReadResponsesCsv(const std::string& path) {
  ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  return ParseResponsesCsv(text, path);
}

}  // namespace assay::import
