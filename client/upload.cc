#include "client/upload.h"

#include <algorithm>
#include <vector>

#include "absl/time/clock.h"
#include "client/call.h"
#include "client/client.h"

namespace assay::client {

bool ForEachResponseChunk(const irt::ResponseMatrix& data, const std::string& benchmark_id,
                          size_t max_cells,
                          const std::function<bool(const v1::UploadResponsesRequest&)>& chunk) {
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
