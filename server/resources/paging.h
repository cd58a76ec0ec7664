// Page size and token handling shared by every List call: a page token is an opaque decimal
// cursor (a row id or an offset) the server handed out as next_page_token.
#ifndef ASSAY_SERVER_RESOURCES_PAGING_H_
#define ASSAY_SERVER_RESOURCES_PAGING_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace assay::server {

struct Page {
  int size = 0;        // requested page size, defaults applied
  int64_t cursor = 0;  // from the token; 0 for the first page
};

// InvalidArgument "page_size: ..." outside [1, max_size] (0 means default_size), "page_token: ..."
// for a token the server did not hand out.
inline absl::StatusOr<Page> ParsePage(int page_size, const std::string& page_token,
                                      int default_size = 100, int max_size = 1000) {
  Page page;
  page.size = page_size == 0 ? default_size : page_size;
  if (page.size < 1 || page.size > max_size) {
    return absl::InvalidArgumentError(
        absl::StrCat("page_size: must be in [1, ", max_size, "], got ", page_size));
  }
  if (!page_token.empty() && (!absl::SimpleAtoi(page_token, &page.cursor) || page.cursor <= 0)) {
    return absl::InvalidArgumentError("page_token: malformed (pass next_page_token unchanged)");
  }
  return page;
}

// One page of a list whose records carry a row id `id` and come newest first: parses the page,
// calls `list(before_id, limit)` (→ StatusOr<vector<Record>>, row id < before_id unless 0), adds
// each record with `add(record)` (→ Status), and returns the next page token ("" on the last).
template <typename ListFn, typename AddFn>
absl::StatusOr<std::string> ListNewestFirst(int page_size, const std::string& page_token,
                                            ListFn list, AddFn add) {
  auto page = ParsePage(page_size, page_token);
  if (!page.ok()) return page.status();
  auto records = list(page->cursor, page->size + 1);
  if (!records.ok()) return records.status();
  const bool more = static_cast<int>(records->size()) > page->size;
  if (more) records->resize(static_cast<size_t>(page->size));
  for (const auto& record : *records) {
    absl::Status added = add(record);
    if (!added.ok()) return added;
  }
  return more ? absl::StrCat(records->back().id) : std::string();
}

}  // namespace assay::server

#endif  // ASSAY_SERVER_RESOURCES_PAGING_H_
