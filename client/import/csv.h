// CSV input: a small RFC 4180 reader (quoted fields, "" escapes, CRLF) and the response-matrix
// importer for the two layouts `assay fit` reads.
#ifndef ASSAY_CLIENT_IMPORT_CSV_H_
#define ASSAY_CLIENT_IMPORT_CSV_H_

#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "absl/strings/string_view.h"
#include "core/irt/responses.h"

namespace assay::import {

struct CsvRow {
  int line;  // 1-based physical line where the row starts
  std::vector<std::string> fields;
};

// Calls `visit(line, fields)` for each row of `text` in order, stopping at the first error it
// returns; `fields` (views into `text`, or into a scratch buffer for quoted fields) are valid only
// during the call, and nothing is allocated per field. Blank lines are skipped. InvalidArgument
// "NAME:LINE:COL: ..." for an unterminated quote or text after a closing quote.
absl::Status ForEachCsvRow(
    absl::string_view text, absl::string_view name,
    absl::FunctionRef<absl::Status(int line, absl::Span<const absl::string_view> fields)> visit);

// Splits `text` into rows (ForEachCsvRow, copied).
absl::StatusOr<std::vector<CsvRow>> ParseCsv(absl::string_view text, absl::string_view name);

// Reads a response matrix, choosing the layout from the header:
//  long:  header `model,item,correct[,n]` (correct: 0/1/±1/true/false, or k of n with the n column)
//         or `model,item,score` (score in [0,1]); repeated (model,item) rows are pooled as samples.
//  wide:  anything else: header = [label or empty], item ids...; one row per model, name first;
//         cells 1/0, +1/-1, a fraction in [0,1], or empty / NA for missing.
// Errors are InvalidArgument "NAME:LINE:COL: what was wrong" (COL = 1-based field number).
absl::StatusOr<irt::ResponseMatrix> ParseResponsesCsv(absl::string_view text,
                                                      absl::string_view name);

// Reads the file at `path` and parses it as above. NotFound if it cannot be read.
absl::StatusOr<irt::ResponseMatrix> ReadResponsesCsv(const std::string& path);

// Reads a whole file. NotFound / Unavailable with the path and reason.
absl::StatusOr<std::string> ReadFile(const std::string& path);

}  // namespace assay::import

#endif  // ASSAY_CLIENT_IMPORT_CSV_H_
