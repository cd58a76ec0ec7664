#include "server/resources/benchmarks.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/functional/function_ref.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "core/base/huge_pages.h"
#include "core/base/status_macros.h"
#include "core/base/yield.h"
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

// Bit k of a bitmap (bytes, least significant bit first).
bool Bit(const std::string& bits, size_t k) {
  return ((static_cast<uint8_t>(bits[k / 8]) >> (k % 8)) & 1) != 0;
}

// The block form of a chunk: no columnar cells beside it, bitmaps of the block's size, no bits
// past it, correct only where observed.
absl::Status CheckBitmaps(const v1::UploadResponsesRequest& c) {
  if (c.model_index_size() + c.item_index_size() + c.successes_size() + c.trials_size() > 0) {
    return absl::InvalidArgumentError(
        "bitmaps: a chunk carries either bitmaps or columnar cells (model_index, item_index, "
        "successes, trials), not both");
  }
  const v1::ResponseBitmaps& b = c.bitmaps();
  const size_t items = static_cast<size_t>(c.items_size());
  const size_t block = static_cast<size_t>(c.models_size()) * items;
  const size_t bytes = (block + 7) / 8;
  const auto wrong_size = [&](const char* field, size_t got, const char* unless) {
    return absl::InvalidArgumentError(
        absl::StrCat("bitmaps.", field, ": ", got, " bytes, but a block of ", c.models_size(),
                     " models x ", items, " items takes ", bytes, unless));
  };
  if (b.correct().size() != bytes) return wrong_size("correct", b.correct().size(), "");
  if (!b.observed().empty() && b.observed().size() != bytes) {
    return wrong_size("observed", b.observed().size(), " (or 0: every cell observed)");
  }
  const bool all_observed = b.observed().empty();
  for (size_t k = block; k < 8 * bytes; ++k) {
    if (Bit(b.correct(), k) || (!all_observed && Bit(b.observed(), k))) {
      return absl::InvalidArgumentError(
          absl::StrCat("bitmaps: bit ", k, " is set, past the block's ", block, " bits"));
    }
  }
  if (all_observed) return absl::OkStatus();
  for (size_t byte = 0; byte < bytes; ++byte) {
    const auto stray = static_cast<uint8_t>(b.correct()[byte] & ~b.observed()[byte]);
    if (stray == 0) continue;
    const size_t k = 8 * byte + static_cast<size_t>(__builtin_ctz(stray));
    return absl::InvalidArgumentError(absl::StrCat(
        "bitmaps.correct: bit ", k, " (models[", k / items, "] '", c.models(k / items), "', items[",
        k % items, "] '", c.items(k % items), "') is set but the cell is not observed"));
  }
  return absl::OkStatus();
}

// Checks the chunk on its own (no database): shapes, indices, values.
absl::Status CheckChunk(const v1::UploadResponsesRequest& c) {
  RETURN_IF_ERROR(CheckDictionary(c.models(), "models"));
  RETURN_IF_ERROR(CheckDictionary(c.items(), "items"));
  if (c.has_bitmaps()) RETURN_IF_ERROR(CheckBitmaps(c));
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

  // Columnar cells grouped by model, sorted by item; a (model, item) pair may appear once per
  // chunk. (Bitmap rows are decoded one at a time as they are merged, below: unique ids in both
  // dictionaries mean no pair can repeat.)
  struct Keyed {
    int32_t model;
    PackedCell cell;
    int source;  // index of the columnar cell
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
  // One model's cells in the chunk: PackedCells sorted by item, or, in a bitmap chunk whose items
  // are consecutive benchmark items, the row already packed from the chunk's bits (no PackedCell
  // per cell); `count` cells either way.
  struct RowUpdate {
    int32_t model = 0;
    int64_t count = 0;
    const std::vector<PackedCell>* cells = nullptr;
    std::string packed;
  };
  // Calls `update` for each model of the chunk with cells.
  const auto for_each_model = [&](absl::FunctionRef<absl::Status(const RowUpdate&)> update) {
    std::vector<PackedCell> row;
    for (size_t begin = 0; begin < cells.size();) {
      row.clear();
      size_t end = begin;
      while (end < cells.size() && cells[end].model == cells[begin].model) {
        row.push_back(cells[end++].cell);
      }
      RETURN_IF_ERROR(
          update(RowUpdate{cells[begin].model, static_cast<int64_t>(row.size()), &row, {}}));
      begin = end;
    }
    if (!chunk.has_bitmaps()) return absl::OkStatus();
    const v1::ResponseBitmaps& b = chunk.bitmaps();
    const bool all_observed = b.observed().empty();
    const size_t items = item_of.size();
    bool consecutive = true, in_order = true;
    for (size_t j = 1; j < items; ++j) {
      consecutive &= item_of[j] == item_of[j - 1] + 1;
      in_order &= item_of[j] > item_of[j - 1];
    }
    for (size_t m = 0; m < model_of.size(); ++m) {
      if (consecutive && items > 0) {
        RowUpdate u{model_of[m], 0, nullptr, {}};
        uint32_t count = 0;
        u.packed = PackBitRow(item_of[0], static_cast<uint32_t>(items), b.observed(), b.correct(),
                              m * items, count);
        u.count = count;
        if (count > 0) RETURN_IF_ERROR(update(u));
        continue;
      }
      row.clear();
      for (size_t j = 0, k = m * items; j < items; ++j, ++k) {
        if (!all_observed && !Bit(b.observed(), k)) continue;
        row.push_back(PackedCell{item_of[j], Bit(b.correct(), k) ? 1.0f : 0.0f, 1.0f});
      }
      if (!in_order) {
        std::sort(row.begin(), row.end(),
                  [](const PackedCell& x, const PackedCell& y) { return x.item < y.item; });
      }
      if (!row.empty()) {
        RETURN_IF_ERROR(update(RowUpdate{model_of[m], static_cast<int64_t>(row.size()), &row, {}}));
      }
    }
    return absl::OkStatus();
  };

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
  int64_t received = 0;
  RETURN_IF_ERROR(for_each_model([&](const RowUpdate& u) -> absl::Status {
    received += u.count;
    ASSIGN_OR_RETURN(std::optional<std::string> stored, txn.ResponseRow(row_id, u.model));
    if (!stored.has_value()) {  // a new row: every cell added
      counts.added += u.count;
      return txn.PutResponseRow(row_id, u.model, u.cells != nullptr ? PackRow(*u.cells) : u.packed);
    }
    std::vector<PackedCell> unpacked;
    if (u.cells == nullptr) {
      ASSIGN_OR_RETURN(unpacked, UnpackRow(u.packed));
    }
    ASSIGN_OR_RETURN(std::vector<PackedCell> row, UnpackRow(*stored));
    const MergeCounts c = MergeRow(row, u.cells != nullptr ? *u.cells : unpacked);
    counts.added += c.added;
    counts.changed += c.changed;
    counts.unchanged += c.unchanged;
    if (c.added + c.changed == 0) return absl::OkStatus();
    return txn.PutResponseRow(row_id, u.model, PackRow(row));
  }));
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
  totals->set_cells(totals->cells() + received);
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
                   storage_->Reads()->FindBenchmark(who.team_id, benchmark_id));
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
                     storage_->Reads()->FindFitById(r.current_fit_id));
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
            return storage_->Reads()->ListBenchmarks(who.team_id, before, limit);
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
                   storage_->Reads()->BenchmarkEntries(record.id, storage::EntryKind::kItem));
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
  RETURN_IF_ERROR(storage_->Reads()->ForEachResponseRow(
      benchmark_row_id, [&](int64_t model, const std::string& bytes) {
        absl::StatusOr<std::vector<PackedCell>> row = UnpackRow(bytes);
        if (!row.ok()) {
          unpacked.Update(row.status());
          return;
        }
        YieldPoint(static_cast<int64_t>(row->size()));  // a fit runner's load (core/base/yield.h)
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
                     storage_->Reads()->BenchmarkEntries(benchmark_row_id, kind));
    for (storage::Entry& e : entries) list->push_back(std::move(e.name));
  }
  return names;
}

absl::StatusOr<std::optional<irt::ResponseMatrix>> BenchmarkManager::LoadDenseMatrix(
    int64_t benchmark_row_id) {
  ASSIGN_OR_RETURN(std::optional<storage::BenchmarkRecord> record,
                   storage_->Reads()->FindBenchmarkById(benchmark_row_id));
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
  // Rows arrive in model order and are decoded into a block of kBlock rows (row-major, so each
  // row is written in order), which is then copied into the column-major values a column's run at
  // a time: no scattered writes.
  constexpr size_t kBlock = 64;
  const float nan = std::numeric_limits<float>::quiet_NaN();
  std::vector<float> values;
  ReserveHugePages(values, n * j);  // first-touch faults cost more than the decode
  values.resize(n * j);
  std::vector<float> block(kBlock * j, nan);
  size_t block_start = 0;
  const auto flush = [&](size_t block_end) {  // models [block_start, block_end) are in `block`
    YieldPoint(static_cast<int64_t>((block_end - block_start) * j));  // a fit runner's load
    for (size_t item = 0; item < j; ++item) {
      float* column = &values[item * n];
      for (size_t m = block_start; m < block_end; ++m) {
        column[m] = block[(m - block_start) * j + item];
      }
    }
    std::fill(block.begin(), block.end(), nan);
    block_start = block_end;
  };
  bool fits = true;  // unit trials and indices within the names read above
  absl::Status unpacked = absl::OkStatus();
  RETURN_IF_ERROR(storage_->Reads()->ForEachResponseRow(
      benchmark_row_id, [&](int64_t model, const std::string& bytes) {
        if (!fits || !unpacked.ok()) return;
        if (model < 0 || static_cast<size_t>(model) >= n) {
          fits = false;  // a model added after the names were read
          return;
        }
        const size_t m = static_cast<size_t>(model);
        while (m >= block_start + kBlock) flush(std::min(block_start + kBlock, n));
        YieldPoint(static_cast<int64_t>(j));
        const absl::Status read = DecodeUnitTrialRow(bytes, &block[(m - block_start) * j], j);
        if (absl::IsFailedPrecondition(read)) {
          fits = false;  // the row carries trials, or an item added after the names were read
        } else {
          unpacked.Update(read);
        }
      }));
  while (fits && unpacked.ok() && block_start < n) flush(std::min(block_start + kBlock, n));
  RETURN_IF_ERROR(unpacked);
  if (!fits) return std::nullopt;
  return irt::ResponseMatrix::FromDenseColumns(std::move(models), std::move(items),
                                               std::move(values));
}

absl::StatusOr<std::vector<std::vector<std::string>>> BenchmarkManager::ItemTags(
    int64_t benchmark_row_id) {
  ASSIGN_OR_RETURN(
      std::vector<storage::Entry> items,
      storage_->Reads()->BenchmarkEntries(benchmark_row_id, storage::EntryKind::kItem));
  std::vector<std::vector<std::string>> tags;
  tags.reserve(items.size());
  for (const storage::Entry& e : items) tags.push_back(SplitTags(e.tags));
  return tags;
}

}  // namespace assay::server
