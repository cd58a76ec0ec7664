#include "server/resources/benchmarks.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "core/base/status_macros.h"
#include "server/resources/paging.h"
#include "server/resources/request_ids.h"
#include "server/storage/response_rows.h"

namespace assay::server {
namespace {

constexpr char kTagSeparator = '\x1f';
constexpr float kMaxTrials = 1e6f;

absl::Status CheckId(const std::string& id, const std::string& field, size_t max_size) {
  if (id.empty() || id.size() > max_size) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": must be 1 to ", max_size, " characters, got ", id.size()));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> JoinTags(const v1::BenchmarkItem& item, const std::string& field) {
  for (int t = 0; t < item.tags_size(); ++t) {
    const std::string tag_field = absl::StrCat(field, ".tags[", t, "]");
    RETURN_IF_ERROR(CheckId(item.tags(t), tag_field, 128));
    if (item.tags(t).find(kTagSeparator) != std::string::npos) {
      return absl::InvalidArgumentError(absl::StrCat(tag_field, ": contains U+001F"));
    }
  }
  return absl::StrJoin(item.tags(), std::string(1, kTagSeparator));
}

std::vector<std::string> SplitTags(const std::string& joined) {
  if (joined.empty()) return {};
  return absl::StrSplit(joined, kTagSeparator);
}

// A chunk's dictionary of ids: valid and without repeats.
absl::Status CheckDictionary(const google::protobuf::RepeatedPtrField<std::string>& ids,
                             const char* field) {
  absl::flat_hash_set<absl::string_view> seen;
  for (int i = 0; i < ids.size(); ++i) {
    RETURN_IF_ERROR(CheckId(ids[i], absl::StrCat(field, "[", i, "]"), 256));
    if (!seen.insert(ids[i]).second) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, "[", i, "]: '", ids[i], "' appears twice in the chunk"));
    }
  }
  return absl::OkStatus();
}

// Checks the chunk on its own (no database): shapes, indices, values.
absl::Status CheckChunk(const v1::UploadResponsesRequest& c) {
  RETURN_IF_ERROR(CheckDictionary(c.models(), "models"));
  RETURN_IF_ERROR(CheckDictionary(c.items(), "items"));
  const int n = c.model_index_size();
  if (c.item_index_size() != n || c.successes_size() != n ||
      (c.trials_size() != 0 && c.trials_size() != n)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "model_index, item_index, successes (and trials unless empty) must have the same length; "
        "got ",
        n, ", ", c.item_index_size(), ", ", c.successes_size(), ", ", c.trials_size()));
  }
  for (int k = 0; k < n; ++k) {
    if (c.model_index(k) >= static_cast<uint32_t>(c.models_size())) {
      return absl::InvalidArgumentError(absl::StrCat("model_index[", k, "]: ", c.model_index(k),
                                                     " but the chunk lists ", c.models_size(),
                                                     " models"));
    }
    if (c.item_index(k) >= static_cast<uint32_t>(c.items_size())) {
      return absl::InvalidArgumentError(absl::StrCat("item_index[", k, "]: ", c.item_index(k),
                                                     " but the chunk lists ", c.items_size(),
                                                     " items"));
    }
    const float t = c.trials_size() == 0 ? 1.0f : c.trials(k);
    if (!(t > 0) || !(t <= kMaxTrials)) {
      return absl::InvalidArgumentError(
          absl::StrCat("trials[", k, "]: must be in (0, 1e6], got ", t));
    }
    const float s = c.successes(k);
    if (!(s >= 0) || !(s <= t)) {
      return absl::InvalidArgumentError(
          absl::StrCat("successes[", k, "]: must be in [0, trials = ", t, "], got ", s));
    }
  }
  for (int i = 0; i < c.item_tags_size(); ++i) {
    const std::string field = absl::StrCat("item_tags[", i, "]");
    RETURN_IF_ERROR(CheckId(c.item_tags(i).id(), field + ".id", 256));
    RETURN_IF_ERROR(JoinTags(c.item_tags(i), field).status());
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status BenchmarkNotFound(const std::string& benchmark_id) {
  return absl::NotFoundError(absl::StrCat("benchmark_id: no benchmark '", benchmark_id, "'"));
}

absl::Status BenchmarkManager::Create(WriteContext& ctx, const Principal& who,
                                      const v1::CreateBenchmarkRequest& req, v1::Benchmark* out) {
  RETURN_IF_ERROR(CheckId(req.name(), "name", 200));
  if (req.description().size() > 10000) {
    return absl::InvalidArgumentError("description: at most 10000 characters");
  }
  std::vector<storage::Entry> items;
  absl::flat_hash_set<std::string> seen;
  for (int i = 0; i < req.items_size(); ++i) {
    const std::string field = absl::StrCat("items[", i, "]");
    RETURN_IF_ERROR(CheckId(req.items(i).id(), field + ".id", 256));
    ASSIGN_OR_RETURN(std::string tags, JoinTags(req.items(i), field));
    if (!seen.insert(req.items(i).id()).second) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ".id: '", req.items(i).id(), "' appears twice"));
    }
    items.push_back(storage::Entry{req.items(i).id(), std::move(tags)});
  }
  return WithRequestId(ctx.txn(), who.team_id, "CreateBenchmark", req, out, [&]() -> absl::Status {
    storage::BenchmarkRecord record;
    record.public_id = absl::StrCat("bm_", RandomHex(8));
    record.team_id = who.team_id;
    record.name = req.name();
    record.description = req.description();
    record.created_at = absl::ToUnixSeconds(absl::Now());
    RETURN_IF_ERROR(ctx.txn().InsertBenchmark(record));
    for (size_t j = 0; j < items.size(); ++j) {
      RETURN_IF_ERROR(ctx.txn().InsertEntry(record.id, storage::EntryKind::kItem,
                                            static_cast<int64_t>(j), items[j]));
    }
    RETURN_IF_ERROR(
        ctx.txn().SetBenchmarkCounts(record.id, 0, static_cast<int64_t>(items.size()), 0));
    out->set_id(record.public_id);
    out->set_name(record.name);
    out->set_description(record.description);
    out->set_created_at(record.created_at);
    out->set_num_items(static_cast<int64_t>(items.size()));
    return absl::OkStatus();
  });
}

absl::StatusOr<BenchmarkManager::Names*> BenchmarkManager::NamesOf(
    storage::WriteTxn& txn, const storage::BenchmarkRecord& record) {
  auto it = names_.find(record.id);
  if (it != names_.end()) return it->second.get();
  auto names = std::make_unique<Names>();
  for (auto [kind, map] : {std::make_pair(storage::EntryKind::kModel, &names->models),
                           std::make_pair(storage::EntryKind::kItem, &names->items)}) {
    ASSIGN_OR_RETURN(std::vector<storage::Entry> entries, txn.BenchmarkEntries(record.id, kind));
    map->reserve(entries.size());
    for (size_t i = 0; i < entries.size(); ++i) {
      (*map)[std::move(entries[i].name)] = static_cast<int32_t>(i);
    }
  }
  names->num_cells = record.num_cells;
  return names_.emplace(record.id, std::move(names)).first->second.get();
}

absl::Status BenchmarkManager::UploadChunk(WriteContext& ctx, const Principal& who,
                                           const std::string& benchmark_id,
                                           const v1::UploadResponsesRequest& chunk,
                                           int64_t chunk_no, v1::UploadResponsesResponse* totals) {
  const auto in_chunk = [chunk_no](const absl::Status& s) {
    absl::Status out(s.code(), absl::StrCat("chunk ", chunk_no, ": ", s.message()));
    s.ForEachPayload([&](absl::string_view url, const absl::Cord& payload) {
      out.SetPayload(url, payload);
    });
    return out;
  };
  if (absl::Status valid = CheckChunk(chunk); !valid.ok()) return in_chunk(valid);
  ASSIGN_OR_RETURN(std::optional<storage::BenchmarkRecord> record,
                   ctx.txn().FindBenchmark(who.team_id, benchmark_id));
  if (!record.has_value()) return BenchmarkNotFound(benchmark_id);
  ASSIGN_OR_RETURN(Names * names, NamesOf(ctx.txn(), *record));

  // Chunk-local indices → benchmark indices (new ids get the next indices).
  std::vector<storage::Entry> new_models, new_items;
  const auto resolve = [](const google::protobuf::RepeatedPtrField<std::string>& ids,
                          const absl::flat_hash_map<std::string, int32_t>& known,
                          std::vector<storage::Entry>& added) {
    std::vector<int32_t> global(static_cast<size_t>(ids.size()));
    for (int i = 0; i < ids.size(); ++i) {
      auto it = known.find(ids[i]);
      if (it != known.end()) {
        global[static_cast<size_t>(i)] = it->second;
      } else {
        global[static_cast<size_t>(i)] = static_cast<int32_t>(known.size() + added.size());
        added.push_back(storage::Entry{ids[i], ""});
      }
    }
    return global;
  };
  const std::vector<int32_t> model_of = resolve(chunk.models(), names->models, new_models);
  const std::vector<int32_t> item_of = resolve(chunk.items(), names->items, new_items);
  std::vector<std::pair<int32_t, std::string>> tag_updates;  // (item index, joined tags)
  for (int i = 0; i < chunk.item_tags_size(); ++i) {
    const v1::BenchmarkItem& item = chunk.item_tags(i);
    auto known = names->items.find(item.id());
    int32_t idx = -1;
    if (known != names->items.end()) {
      idx = known->second;
    } else {
      for (size_t k = 0; k < new_items.size() && idx < 0; ++k) {
        if (new_items[k].name == item.id()) idx = static_cast<int32_t>(names->items.size() + k);
      }
    }
    if (idx < 0) {
      return in_chunk(absl::InvalidArgumentError(
          absl::StrCat("item_tags[", i, "].id: unknown item '", item.id(),
                       "' (declare it in CreateBenchmark or in this chunk's items)")));
    }
    tag_updates.emplace_back(idx, *JoinTags(item, ""));
  }

  // Cells grouped by model, sorted by item; a (model, item) pair may appear once per chunk.
  struct Keyed {
    int32_t model;
    PackedCell cell;
    int source;
  };
  std::vector<Keyed> cells(static_cast<size_t>(chunk.model_index_size()));
  for (int k = 0; k < chunk.model_index_size(); ++k) {
    cells[static_cast<size_t>(k)] =
        Keyed{model_of[chunk.model_index(k)],
              PackedCell{item_of[chunk.item_index(k)], chunk.successes(k),
                         chunk.trials_size() == 0 ? 1.0f : chunk.trials(k)},
              k};
  }
  const auto by_model_then_item = [](const Keyed& x, const Keyed& y) {
    return x.model != y.model ? x.model < y.model : x.cell.item < y.cell.item;
  };
  // The clients send cells in this order already (client/upload.h): check before sorting.
  if (!std::is_sorted(cells.begin(), cells.end(), by_model_then_item)) {
    std::sort(cells.begin(), cells.end(), by_model_then_item);
  }
  for (size_t k = 1; k < cells.size(); ++k) {
    if (cells[k].model == cells[k - 1].model && cells[k].cell.item == cells[k - 1].cell.item) {
      return in_chunk(absl::InvalidArgumentError(absl::StrCat(
          "cells ", std::min(cells[k - 1].source, cells[k].source), " and ",
          std::max(cells[k - 1].source, cells[k].source), " are both (model_index, item_index) = (",
          chunk.model_index(cells[k].source), ", ", chunk.item_index(cells[k].source), ")")));
    }
  }

  // Everything is checked: from here on, changes (undone together on failure).
  const int64_t row_id = record->id;
  ctx.OnRollback([this, row_id] { names_.erase(row_id); });
  storage::WriteTxn& txn = ctx.txn();
  for (auto [kind, added, map] :
       {std::make_tuple(storage::EntryKind::kModel, &new_models, &names->models),
        std::make_tuple(storage::EntryKind::kItem, &new_items, &names->items)}) {
    for (storage::Entry& e : *added) {
      const int32_t idx = static_cast<int32_t>(map->size());
      RETURN_IF_ERROR(txn.InsertEntry(row_id, kind, idx, e));
      (*map)[std::move(e.name)] = idx;
    }
  }
  for (const auto& [idx, tags] : tag_updates) RETURN_IF_ERROR(txn.SetItemTags(row_id, idx, tags));
  MergeCounts counts;
  std::vector<PackedCell> updates;
  for (size_t begin = 0; begin < cells.size();) {
    size_t end = begin;
    updates.clear();
    while (end < cells.size() && cells[end].model == cells[begin].model) {
      updates.push_back(cells[end++].cell);
    }
    ASSIGN_OR_RETURN(std::optional<std::string> stored,
                     txn.ResponseRow(row_id, cells[begin].model));
    std::vector<PackedCell> row;
    if (stored.has_value()) {
      ASSIGN_OR_RETURN(row, UnpackRow(*stored));
    }
    const MergeCounts c = MergeRow(row, updates);
    if (c.added + c.changed > 0) {
      RETURN_IF_ERROR(txn.PutResponseRow(row_id, cells[begin].model, PackRow(row)));
    }
    counts.added += c.added;
    counts.changed += c.changed;
    counts.unchanged += c.unchanged;
    begin = end;
  }
  if (counts.added > 0) {  // over the team's cell limit: the whole chunk is undone
    const absl::Status admitted =
        Admit(quotas_, txn, who, Limit::kCells, static_cast<double>(counts.added));
    if (!admitted.ok()) return in_chunk(admitted);
  }
  if (counts.added > 0 || !new_models.empty() || !new_items.empty()) {
    names->num_cells += counts.added;
    RETURN_IF_ERROR(txn.SetBenchmarkCounts(row_id, static_cast<int64_t>(names->models.size()),
                                           static_cast<int64_t>(names->items.size()),
                                           names->num_cells));
  }
  totals->set_chunks(totals->chunks() + 1);
  totals->set_cells(totals->cells() + static_cast<int64_t>(cells.size()));
  totals->set_cells_added(totals->cells_added() + counts.added);
  totals->set_cells_changed(totals->cells_changed() + counts.changed);
  totals->set_cells_unchanged(totals->cells_unchanged() + counts.unchanged);
  totals->set_models_added(totals->models_added() + static_cast<int64_t>(new_models.size()));
  totals->set_items_added(totals->items_added() + static_cast<int64_t>(new_items.size()));
  return absl::OkStatus();
}

absl::StatusOr<storage::BenchmarkRecord> BenchmarkManager::Find(const Principal& who,
                                                                const std::string& benchmark_id) {
  ASSIGN_OR_RETURN(std::optional<storage::BenchmarkRecord> record,
                   storage_->FindBenchmark(who.team_id, benchmark_id));
  if (!record.has_value()) return BenchmarkNotFound(benchmark_id);
  return *std::move(record);
}

void BenchmarkManager::ToProtoWithCurrent(const storage::BenchmarkRecord& r,
                                          const std::string& current_fit_id, v1::Benchmark* out) {
  out->set_id(r.public_id);
  out->set_name(r.name);
  out->set_description(r.description);
  out->set_created_at(r.created_at);
  out->set_num_cells(r.num_cells);
  out->set_num_models(r.num_models);
  out->set_num_items(r.num_items);
  out->set_current_fit_id(current_fit_id);
}

absl::Status BenchmarkManager::ToProto(const storage::BenchmarkRecord& r, v1::Benchmark* out) {
  std::string current;
  if (r.current_fit_id != 0) {
    ASSIGN_OR_RETURN(std::optional<storage::FitRecord> fit,
                     storage_->FindFitById(r.current_fit_id));
    if (fit.has_value()) current = fit->public_id;
  }
  ToProtoWithCurrent(r, current, out);
  return absl::OkStatus();
}

absl::Status BenchmarkManager::Get(const Principal& who, const std::string& benchmark_id,
                                   v1::Benchmark* out) {
  ASSIGN_OR_RETURN(storage::BenchmarkRecord record, Find(who, benchmark_id));
  return ToProto(record, out);
}

absl::Status BenchmarkManager::List(const Principal& who, const v1::ListBenchmarksRequest& req,
                                    v1::ListBenchmarksResponse* out) {
  ASSIGN_OR_RETURN(
      std::string next,
      ListNewestFirst(
          req.page_size(), req.page_token(),
          [&](int64_t before, int limit) {
            return storage_->ListBenchmarks(who.team_id, before, limit);
          },
          [&](const storage::BenchmarkRecord& r) { return ToProto(r, out->add_benchmarks()); }));
  out->set_next_page_token(next);
  return absl::OkStatus();
}

absl::Status BenchmarkManager::ListItems(const Principal& who,
                                         const v1::ListBenchmarkItemsRequest& req,
                                         v1::ListBenchmarkItemsResponse* out) {
  ASSIGN_OR_RETURN(const Page page, ParsePage(req.page_size(), req.page_token(), 1000, 10000));
  ASSIGN_OR_RETURN(storage::BenchmarkRecord record, Find(who, req.benchmark_id()));
  ASSIGN_OR_RETURN(std::vector<storage::Entry> items,
                   storage_->BenchmarkEntries(record.id, storage::EntryKind::kItem));
  const int64_t end =
      std::min<int64_t>(page.cursor + page.size, static_cast<int64_t>(items.size()));
  for (int64_t j = page.cursor; j < end; ++j) {
    v1::BenchmarkItem* item = out->add_items();
    item->set_id(items[static_cast<size_t>(j)].name);
    for (std::string& tag : SplitTags(items[static_cast<size_t>(j)].tags)) item->add_tags(tag);
  }
  if (end < static_cast<int64_t>(items.size())) out->set_next_page_token(absl::StrCat(end));
  return absl::OkStatus();
}

absl::StatusOr<irt::ResponseMatrix> BenchmarkManager::LoadMatrix(int64_t benchmark_row_id) {
  ASSIGN_OR_RETURN(std::optional<irt::ResponseMatrix> dense, LoadDenseMatrix(benchmark_row_id));
  if (dense.has_value()) return *std::move(dense);
  // Rows first, then the names: names only grow, so every index in the rows has a name.
  std::vector<irt::Cell> cells;
  absl::Status unpacked = absl::OkStatus();
  RETURN_IF_ERROR(
      storage_->ForEachResponseRow(benchmark_row_id, [&](int64_t model, const std::string& bytes) {
        absl::StatusOr<std::vector<PackedCell>> row = UnpackRow(bytes);
        if (!row.ok()) {
          unpacked.Update(row.status());
          return;
        }
        for (const PackedCell& c : *row) {
          cells.push_back(irt::Cell{static_cast<int32_t>(model), c.item, c.successes, c.trials});
        }
      }));
  RETURN_IF_ERROR(unpacked);
  ASSIGN_OR_RETURN(EntryNames names, NamesOfEntries(benchmark_row_id));
  return irt::ResponseMatrix::FromCells(std::move(names.models), std::move(names.items),
                                        std::move(cells));
}

absl::StatusOr<BenchmarkManager::EntryNames> BenchmarkManager::NamesOfEntries(
    int64_t benchmark_row_id) {
  EntryNames names;
  for (auto [kind, list] : {std::make_pair(storage::EntryKind::kModel, &names.models),
                            std::make_pair(storage::EntryKind::kItem, &names.items)}) {
    ASSIGN_OR_RETURN(std::vector<storage::Entry> entries,
                     storage_->BenchmarkEntries(benchmark_row_id, kind));
    for (storage::Entry& e : entries) list->push_back(std::move(e.name));
  }
  return names;
}

absl::StatusOr<std::optional<irt::ResponseMatrix>> BenchmarkManager::LoadDenseMatrix(
    int64_t benchmark_row_id) {
  ASSIGN_OR_RETURN(std::optional<storage::BenchmarkRecord> record,
                   storage_->FindBenchmarkById(benchmark_row_id));
  if (!record.has_value()) return std::nullopt;
  // Staging N×J values costs 4 bytes a cell, observed or not: only for matrices at least a
  // quarter full (then it is no more than the cell list it replaces).
  const auto quarter_full = [&](size_t models, size_t items) {
    return models > 0 && items > 0 &&
           models * items <= 4 * static_cast<size_t>(std::max<int64_t>(record->num_cells, 0));
  };
  if (!quarter_full(static_cast<size_t>(record->num_models),
                    static_cast<size_t>(record->num_items))) {
    return std::nullopt;
  }
  ASSIGN_OR_RETURN(EntryNames names, NamesOfEntries(benchmark_row_id));
  std::vector<std::string>& models = names.models;
  std::vector<std::string>& items = names.items;
  const size_t n = models.size(), j = items.size();
  if (!quarter_full(n, j)) return std::nullopt;  // grown since the record was read
  std::vector<float> values(n * j, std::numeric_limits<float>::quiet_NaN());
  bool fits = true;  // unit trials and indices within the names read above
  absl::Status unpacked = absl::OkStatus();
  RETURN_IF_ERROR(
      storage_->ForEachResponseRow(benchmark_row_id, [&](int64_t model, const std::string& bytes) {
        if (!fits || !unpacked.ok()) return;
        if (model < 0 || static_cast<size_t>(model) >= n) {
          fits = false;  // a model added after the names were read
          return;
        }
        const absl::Status read = ForEachUnitTrialCell(bytes, [&](int32_t item, float y) {
          if (item < 0 || static_cast<size_t>(item) >= j) return false;
          values[static_cast<size_t>(item) * n + static_cast<size_t>(model)] = y;
          return true;
        });
        if (absl::IsFailedPrecondition(read)) {
          fits = false;  // the row carries trials, or an item added after the names were read
        } else {
          unpacked.Update(read);
        }
      }));
  RETURN_IF_ERROR(unpacked);
  if (!fits) return std::nullopt;
  return irt::ResponseMatrix::FromDenseColumns(std::move(models), std::move(items),
                                               std::move(values));
}

absl::StatusOr<std::vector<std::vector<std::string>>> BenchmarkManager::ItemTags(
    int64_t benchmark_row_id) {
  ASSIGN_OR_RETURN(std::vector<storage::Entry> items,
                   storage_->BenchmarkEntries(benchmark_row_id, storage::EntryKind::kItem));
  std::vector<std::vector<std::string>> tags;
  tags.reserve(items.size());
  for (const storage::Entry& e : items) tags.push_back(SplitTags(e.tags));
  return tags;
}

}  // namespace assay::server
