// assay.v1.CompareService over CompareManager: one line per method (server/api does the rest).
#ifndef ASSAY_SERVER_GRPC_COMPARE_SERVICE_H_
#define ASSAY_SERVER_GRPC_COMPARE_SERVICE_H_

#include "assay/v1/compare.grpc.pb.h"
#include "server/grpc/rpc_util.h"

namespace assay::server {

class CompareServiceImpl final : public v1::CompareService::CallbackService {
 public:
  explicit CompareServiceImpl(const ServerDeps& deps) : deps_(deps) {}

  grpc::ServerUnaryReactor* CreateComparison(grpc::CallbackServerContext* context,
                                             const v1::CreateComparisonRequest* request,
                                             v1::Comparison* response) override;
  grpc::ServerUnaryReactor* NextComparisonItems(grpc::CallbackServerContext* context,
                                                const v1::NextComparisonItemsRequest* request,
                                                v1::NextComparisonItemsResponse* response) override;
  grpc::ServerUnaryReactor* SubmitComparisonOutcomes(
      grpc::CallbackServerContext* context, const v1::SubmitComparisonOutcomesRequest* request,
      v1::Comparison* response) override;
  grpc::ServerUnaryReactor* GetComparison(grpc::CallbackServerContext* context,
                                          const v1::GetComparisonRequest* request,
                                          v1::Comparison* response) override;
  grpc::ServerUnaryReactor* ListComparisons(grpc::CallbackServerContext* context,
                                            const v1::ListComparisonsRequest* request,
                                            v1::ListComparisonsResponse* response) override;
  grpc::ServerWriteReactor<v1::Comparison>* WatchComparison(
      grpc::CallbackServerContext* context, const v1::WatchComparisonRequest* request) override;

 private:
  ServerDeps deps_;
};

}  // namespace assay::server

#endif  // ASSAY_SERVER_GRPC_COMPARE_SERVICE_H_
