#include "server/grpc/benchmark_service.h"

#include <memory>
#include <string>

#include "server/api/unary.h"
#include "server/grpc/watch_stream.h"

namespace assay::server {
namespace {

// UploadResponses: one chunk at a time; each is a CommitQueue work, and the next chunk is read only
// once the previous one is durable. The reply (after the client half-closes) carries the totals
// and the benchmark as it is then. A failing chunk ends the call with its error.
class UploadStream final : public grpc::ServerReadReactor<v1::UploadResponsesRequest> {
 public:
  UploadStream(grpc::CallbackServerContext* context, const ServerDeps& deps,
               v1::UploadResponsesResponse* response)
      : deps_(deps), response_(response) {
    AuthenticateThen(deps_, AuthorizationOf(*context), Role::kWrite,
                     [this, context](absl::StatusOr<Principal> who) {
                       absl::Status allowed = who.status();
                       if (allowed.ok())
                         allowed = TakeWrite(deps_, *who).status();  // one per upload
                       if (!allowed.ok()) {
                         AddRetryPushback(context, allowed);
                         Finish(ToGrpcStatus(allowed));
                         return;
                       }
                       who_ = *std::move(who);
                       StartRead(&chunk_);
                     });
  }

  void OnReadDone(bool ok) override {
    if (!ok) {  // the client half-closed (or the call ended): answer with the totals
      if (benchmark_id_.empty()) {
        Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                            "benchmark_id: the upload sent no chunk"));
        return;
      }
      const absl::Status queued = deps_.executor->Submit([this] {
        Finish(ToGrpcStatus(api::FinishUpload(deps_, who_, benchmark_id_, response_)));
      });
      if (!queued.ok()) Finish(ToGrpcStatus(queued));
      return;
    }
    ++chunk_no_;
    if (chunk_no_ == 1) benchmark_id_ = chunk_.benchmark_id();
    if (benchmark_id_.empty()) {
      Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          "chunk 1: benchmark_id: required in the first message"));
      return;
    }
    if (!chunk_.benchmark_id().empty() && chunk_.benchmark_id() != benchmark_id_) {
      Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          "chunk " + std::to_string(chunk_no_) +
                              ": benchmark_id: differs from the first message's"));
      return;
    }
    const absl::Status queued = deps_.commits->Submit(
        [this](WriteContext& ctx) {
          return api::UploadChunkWork(deps_, ctx, who_, benchmark_id_, chunk_, chunk_no_,
                                      response_);
        },
        [this](absl::Status status) {
          if (status.ok()) {
            StartRead(&chunk_);
          } else {
            Finish(ToGrpcStatus(status));
          }
        });
    if (!queued.ok()) Finish(ToGrpcStatus(queued));
  }

  void OnDone() override { delete this; }

 private:
  const ServerDeps deps_;
  v1::UploadResponsesResponse* response_;
  Principal who_;
  v1::UploadResponsesRequest chunk_;  // the chunk being read or stored
  std::string benchmark_id_;
  int64_t chunk_no_ = 0;
};

}  // namespace

grpc::ServerUnaryReactor* BenchmarkServiceImpl::CreateBenchmark(
    grpc::CallbackServerContext* context, const v1::CreateBenchmarkRequest* request,
    v1::Benchmark* response) {
  return Serve(context, deps_, &api::CreateBenchmark, request, response);
}

grpc::ServerUnaryReactor* BenchmarkServiceImpl::GetBenchmark(grpc::CallbackServerContext* context,
                                                             const v1::GetBenchmarkRequest* request,
                                                             v1::Benchmark* response) {
  return Serve(context, deps_, &api::GetBenchmark, request, response);
}

grpc::ServerUnaryReactor* BenchmarkServiceImpl::ListBenchmarks(
    grpc::CallbackServerContext* context, const v1::ListBenchmarksRequest* request,
    v1::ListBenchmarksResponse* response) {
  return Serve(context, deps_, &api::ListBenchmarks, request, response);
}

grpc::ServerReadReactor<v1::UploadResponsesRequest>* BenchmarkServiceImpl::UploadResponses(
    grpc::CallbackServerContext* context, v1::UploadResponsesResponse* response) {
  return new UploadStream(context, deps_, response);
}

grpc::ServerUnaryReactor* BenchmarkServiceImpl::ListBenchmarkItems(
    grpc::CallbackServerContext* context, const v1::ListBenchmarkItemsRequest* request,
    v1::ListBenchmarkItemsResponse* response) {
  return Serve(context, deps_, &api::ListBenchmarkItems, request, response);
}

grpc::ServerUnaryReactor* BenchmarkServiceImpl::StartFit(grpc::CallbackServerContext* context,
                                                         const v1::StartFitRequest* request,
                                                         v1::Fit* response) {
  return Serve(context, deps_, &api::StartFit, request, response);
}

grpc::ServerUnaryReactor* BenchmarkServiceImpl::GetFit(grpc::CallbackServerContext* context,
                                                       const v1::GetFitRequest* request,
                                                       v1::Fit* response) {
  return Serve(context, deps_, &api::GetFit, request, response);
}

grpc::ServerUnaryReactor* BenchmarkServiceImpl::ListFits(grpc::CallbackServerContext* context,
                                                         const v1::ListFitsRequest* request,
                                                         v1::ListFitsResponse* response) {
  return Serve(context, deps_, &api::ListFits, request, response);
}

grpc::ServerWriteReactor<v1::Fit>* BenchmarkServiceImpl::WatchFit(
    grpc::CallbackServerContext* context, const v1::WatchFitRequest* request) {
  return new WatchStream<v1::Fit>(context, deps_, api::WatchFit(deps_, *request));
}

grpc::ServerUnaryReactor* BenchmarkServiceImpl::CancelFit(grpc::CallbackServerContext* context,
                                                          const v1::CancelFitRequest* request,
                                                          v1::Fit* response) {
  return Serve(context, deps_, &api::CancelFit, request, response);
}

grpc::ServerUnaryReactor* BenchmarkServiceImpl::SetCurrentFit(
    grpc::CallbackServerContext* context, const v1::SetCurrentFitRequest* request,
    v1::Benchmark* response) {
  return Serve(context, deps_, &api::SetCurrentFit, request, response);
}

grpc::ServerUnaryReactor* BenchmarkServiceImpl::ListAbilities(
    grpc::CallbackServerContext* context, const v1::ListAbilitiesRequest* request,
    v1::ListAbilitiesResponse* response) {
  return Serve(context, deps_, &api::ListAbilities, request, response);
}

grpc::ServerUnaryReactor* BenchmarkServiceImpl::ListItemParams(
    grpc::CallbackServerContext* context, const v1::ListItemParamsRequest* request,
    v1::ListItemParamsResponse* response) {
  return Serve(context, deps_, &api::ListItemParams, request, response);
}

grpc::ServerUnaryReactor* BenchmarkServiceImpl::ScoreModel(grpc::CallbackServerContext* context,
                                                           const v1::ScoreModelRequest* request,
                                                           v1::ScoreModelResponse* response) {
  return Serve(context, deps_, &api::ScoreModel, request, response);
}

}  // namespace assay::server
