// assay.v1.BenchmarkService over BenchmarkManager and FitJobs: authentication, executor and
// commit-queue plumbing, the upload stream and the fit watch.
#ifndef ASSAY_SERVER_GRPC_BENCHMARK_SERVICE_H_
#define ASSAY_SERVER_GRPC_BENCHMARK_SERVICE_H_

#include "assay/v1/benchmarks.grpc.pb.h"
#include "server/grpc/rpc_util.h"

namespace assay::server {

class BenchmarkServiceImpl final : public v1::BenchmarkService::CallbackService {
 public:
  explicit BenchmarkServiceImpl(const ServerDeps& deps) : deps_(deps) {}

  grpc::ServerUnaryReactor* CreateBenchmark(grpc::CallbackServerContext* context,
                                            const v1::CreateBenchmarkRequest* request,
                                            v1::Benchmark* response) override;
  grpc::ServerUnaryReactor* GetBenchmark(grpc::CallbackServerContext* context,
                                         const v1::GetBenchmarkRequest* request,
                                         v1::Benchmark* response) override;
  grpc::ServerUnaryReactor* ListBenchmarks(grpc::CallbackServerContext* context,
                                           const v1::ListBenchmarksRequest* request,
                                           v1::ListBenchmarksResponse* response) override;
  grpc::ServerReadReactor<v1::UploadResponsesRequest>* UploadResponses(
      grpc::CallbackServerContext* context, v1::UploadResponsesResponse* response) override;
  grpc::ServerUnaryReactor* ListBenchmarkItems(grpc::CallbackServerContext* context,
                                               const v1::ListBenchmarkItemsRequest* request,
                                               v1::ListBenchmarkItemsResponse* response) override;
  grpc::ServerUnaryReactor* StartFit(grpc::CallbackServerContext* context,
                                     const v1::StartFitRequest* request,
                                     v1::Fit* response) override;
  grpc::ServerUnaryReactor* GetFit(grpc::CallbackServerContext* context,
                                   const v1::GetFitRequest* request, v1::Fit* response) override;
  grpc::ServerUnaryReactor* ListFits(grpc::CallbackServerContext* context,
                                     const v1::ListFitsRequest* request,
                                     v1::ListFitsResponse* response) override;
  grpc::ServerWriteReactor<v1::Fit>* WatchFit(grpc::CallbackServerContext* context,
                                              const v1::WatchFitRequest* request) override;
  grpc::ServerUnaryReactor* CancelFit(grpc::CallbackServerContext* context,
                                      const v1::CancelFitRequest* request,
                                      v1::Fit* response) override;
  grpc::ServerUnaryReactor* SetCurrentFit(grpc::CallbackServerContext* context,
                                          const v1::SetCurrentFitRequest* request,
                                          v1::Benchmark* response) override;
  grpc::ServerUnaryReactor* ListAbilities(grpc::CallbackServerContext* context,
                                          const v1::ListAbilitiesRequest* request,
                                          v1::ListAbilitiesResponse* response) override;
  grpc::ServerUnaryReactor* ListItemParams(grpc::CallbackServerContext* context,
                                           const v1::ListItemParamsRequest* request,
                                           v1::ListItemParamsResponse* response) override;
  grpc::ServerUnaryReactor* ScoreModel(grpc::CallbackServerContext* context,
                                       const v1::ScoreModelRequest* request,
                                       v1::ScoreModelResponse* response) override;

 private:
  ServerDeps deps_;
};

}  // namespace assay::server

#endif  // ASSAY_SERVER_GRPC_BENCHMARK_SERVICE_H_
