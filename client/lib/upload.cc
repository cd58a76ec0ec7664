#include "client/lib/upload.h"

#include <algorithm>
#include <vector>

#include "absl/time/clock.h"
#include "client/lib/call.h"
#include "client/lib/client.h"

namespace assay::client {

namespace {

using ChunkSink = std::function<bool(const v1::UploadResponsesRequest&)>;

// Columnar chunks of at most `max_cells` cells (a model's cells split where they do not fit).
bool ColumnarChunks(const irt::ResponseMatrix& data, const std::string& benchmark_id,
                    size_t max_cells, const ChunkSink& chunk) {
  // The matrix is stored by item; uploads go by model: gather each model's cells.
  const Eigen::Index n = data.num_models();
  std::vector<int64_t> start(static_cast<size_t>(n) + 1, 0);
  for (Eigen::Index i = 0; i < n; ++i)
    start[static_cast<size_t>(i) + 1] = start[i] + data.model_cells()[i];
  struct Cell {
    int32_t item;
    float successes, trials;
  };
  std::vector<Cell> cells(static_cast<size_t>(start.back()));
  std::vector<int64_t> fill(start.begin(), start.end() - 1);
  for (Eigen::Index j = 0; j < data.num_items(); ++j) {
    const irt::ResponseMatrix::Column col = data.column(j);
    for (Eigen::Index k = 0; k < col.size; ++k) {
      const int32_t i = col.rows == nullptr ? static_cast<int32_t>(k) : col.rows[k];
      const float w = col.w == nullptr ? 1.0f : col.w[k];
      cells[static_cast<size_t>(fill[static_cast<size_t>(i)]++)] =
          Cell{static_cast<int32_t>(j), col.y[k] * w, w};
    }
  }
  v1::UploadResponsesRequest request;
  // Matrix item → index in request.items (-1: not in this chunk yet), reset per chunk through
  // the chunk's own item list.
  std::vector<int32_t> item_slot(static_cast<size_t>(data.num_items()), -1);
  std::vector<int32_t> chunk_items;
  const bool weighted = data.weighted();
  const auto flush = [&]() {
    if (request.model_index_size() == 0) return true;
    if (!request.trials().empty() && std::all_of(request.trials().begin(), request.trials().end(),
                                                 [](float t) { return t == 1.0f; })) {
      request.clear_trials();
    }
    const bool more = chunk(request);
    request.Clear();
    for (const int32_t item : chunk_items) item_slot[static_cast<size_t>(item)] = -1;
    chunk_items.clear();
    return more;
  };
  bool first = true;
  for (Eigen::Index i = 0; i < n; ++i) {
    for (int64_t c = start[static_cast<size_t>(i)]; c < start[static_cast<size_t>(i) + 1]; ++c) {
      if (static_cast<size_t>(request.model_index_size()) >= max_cells && !flush()) return false;
      if (first) request.set_benchmark_id(benchmark_id);
      first = false;
      if (request.models_size() == 0 ||
          request.models(request.models_size() - 1) != data.model_ids()[static_cast<size_t>(i)]) {
        request.add_models(data.model_ids()[static_cast<size_t>(i)]);
      }
      const Cell& cell = cells[static_cast<size_t>(c)];
      int32_t& slot = item_slot[static_cast<size_t>(cell.item)];
      if (slot < 0) {
        slot = request.items_size();
        chunk_items.push_back(cell.item);
        request.add_items(data.item_ids()[static_cast<size_t>(cell.item)]);
      }
      request.add_model_index(static_cast<uint32_t>(request.models_size() - 1));
      request.add_item_index(static_cast<uint32_t>(slot));
      request.add_successes(cell.successes);
      if (weighted) request.add_trials(cell.trials);  // left out: every trials is 1
    }
  }
  return flush();
}

// Bitmap chunks of whole models, at most `max_cells` / J models each (J ≤ max_cells): each
// chunk's items are those its models answered, its models those with a cell. Walks each item's
// column from where the previous chunk stopped (columns are sorted by model).
bool BitmapChunks(const irt::ResponseMatrix& data, const std::string& benchmark_id,
                  size_t max_cells, const ChunkSink& chunk) {
  const size_t n = static_cast<size_t>(data.num_models());
  const size_t items = static_cast<size_t>(data.num_items());
  const size_t per_chunk = std::max<size_t>(1, max_cells / items);
  std::vector<Eigen::Index> begin(items, 0), end(items, 0);
  std::vector<int32_t> item_slot(items), model_slot(per_chunk);
  v1::UploadResponsesRequest request;
  request.set_benchmark_id(benchmark_id);
  for (size_t m0 = 0; m0 < n; m0 += per_chunk) {
    const size_t m1 = std::min(n, m0 + per_chunk);
    // Pass 1: each column's run in [m0, m1), the chunk's items and models.
    int32_t chunk_items = 0;
    size_t cells = 0;
    std::fill(model_slot.begin(), model_slot.end(), -1);
    for (size_t j = 0; j < items; ++j) {
      const irt::ResponseMatrix::Column col = data.column(static_cast<Eigen::Index>(j));
      Eigen::Index e = begin[j];
      if (col.rows == nullptr) {
        e = static_cast<Eigen::Index>(m1);  // dense: the run is the rows themselves
        if (j == 0) std::fill(model_slot.begin(), model_slot.begin() + (m1 - m0), 0);
      } else {
        for (; e < col.size && static_cast<size_t>(col.rows[e]) < m1; ++e) {
          model_slot[static_cast<size_t>(col.rows[e]) - m0] = 0;
        }
      }
      end[j] = e;
      item_slot[j] = e > begin[j] ? chunk_items++ : -1;
      cells += static_cast<size_t>(e - begin[j]);
      if (e > begin[j]) request.add_items(data.item_ids()[j]);
    }
    if (cells == 0) continue;
    for (size_t m = m0; m < m1; ++m) {
      if (model_slot[m - m0] < 0) continue;
      model_slot[m - m0] = request.models_size();
      request.add_models(data.model_ids()[m]);
    }
    // Pass 2: the bits (no observed bitmap when the block is full: dense data).
    const size_t stride = static_cast<size_t>(chunk_items);
    const size_t block = static_cast<size_t>(request.models_size()) * stride;
    const bool full = cells == block;
    std::string observed(full ? 0 : (block + 7) / 8, '\0'), correct((block + 7) / 8, '\0');
    auto* seen = reinterpret_cast<uint8_t*>(observed.data());
    auto* right = reinterpret_cast<uint8_t*>(correct.data());
    for (size_t j = 0; j < items; ++j) {
      if (item_slot[j] < 0) continue;
      const irt::ResponseMatrix::Column col = data.column(static_cast<Eigen::Index>(j));
      if (col.rows == nullptr) {  // dense: rows m0 .. m1 - 1 are the block's rows, in order
        size_t bit = static_cast<size_t>(item_slot[j]);
        for (Eigen::Index k = begin[j]; k < end[j]; ++k, bit += stride) {
          right[bit / 8] |= static_cast<uint8_t>((col.y[k] == 1.0f) << (bit % 8));
        }
      } else {
        for (Eigen::Index k = begin[j]; k < end[j]; ++k) {
          const size_t bit =
              static_cast<size_t>(model_slot[static_cast<size_t>(col.rows[k]) - m0]) * stride +
              static_cast<size_t>(item_slot[j]);
          if (!full) seen[bit / 8] |= static_cast<uint8_t>(1u << (bit % 8));
          right[bit / 8] |= static_cast<uint8_t>((col.y[k] == 1.0f) << (bit % 8));
        }
      }
      begin[j] = end[j];
    }
    request.mutable_bitmaps()->set_observed(std::move(observed));
    request.mutable_bitmaps()->set_correct(std::move(correct));
    if (!chunk(request)) return false;
    request.Clear();
  }
  return true;
}

}  // namespace

bool ForEachResponseChunk(const irt::ResponseMatrix& data, const std::string& benchmark_id,
                          size_t max_cells, const ChunkSink& chunk) {
  // Bitmaps take a quarter byte per cell of the models x items block, the columnar form about 7
  // bytes per observed cell: bitmaps for 0/1 outcomes unless the matrix is sparser than 1 in 28.
  const double block =
      static_cast<double>(data.num_models()) * static_cast<double>(data.num_items());
  const bool bitmaps =
      block < 28.0 * static_cast<double>(data.num_observed()) &&
      static_cast<size_t>(data.num_items()) <= (max_cells == 0 ? kBlockChunkCells : max_cells) &&
      data.binary();
  if (bitmaps) {
    return BitmapChunks(data, benchmark_id, max_cells == 0 ? kBlockChunkCells : max_cells, chunk);
  }
  return ColumnarChunks(data, benchmark_id, max_cells == 0 ? kColumnarChunkCells : max_cells,
                        chunk);
}

absl::StatusOr<v1::UploadResponsesResponse> UploadResponses(
    v1::BenchmarkService::StubInterface& stub, grpc::ClientContext& context,
    const irt::ResponseMatrix& data, const std::string& benchmark_id, size_t max_cells) {
  v1::UploadResponsesResponse response;
  std::unique_ptr<grpc::ClientWriterInterface<v1::UploadResponsesRequest>> writer =
      stub.UploadResponses(&context, &response);
  ForEachResponseChunk(data, benchmark_id, max_cells,
                       [&](const v1::UploadResponsesRequest& c) { return writer->Write(c); });
  writer->WritesDone();
  const grpc::Status status = writer->Finish();
  if (!status.ok()) return FromGrpcStatus(status, "UploadResponses");
  return response;
}

absl::StatusOr<v1::UploadResponsesResponse> UploadResponses(const AssayClient& client,
                                                            const irt::ResponseMatrix& data,
                                                            const std::string& benchmark_id,
                                                            absl::Duration timeout,
                                                            size_t max_cells) {
  auto stub = v1::BenchmarkService::NewStub(client.channel());
  for (int attempt = 0;; ++attempt) {
    auto context = client.Context(timeout);
    absl::StatusOr<v1::UploadResponsesResponse> response =
        UploadResponses(*stub, *context, data, benchmark_id, max_cells);
    if (response.ok()) return response;
    const grpc::Status status(static_cast<grpc::StatusCode>(response.status().code()),
                              std::string(response.status().message()));
    const std::optional<absl::Duration> pause =
        RetryAfter(status, *context, attempt, client.attempts());
    if (!pause.has_value()) return response;
    absl::SleepFor(*pause);
  }
}

}  // namespace assay::client
