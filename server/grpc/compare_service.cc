#include "server/grpc/compare_service.h"

#include "server/api/unary.h"
#include "server/grpc/watch_stream.h"

namespace assay::server {

grpc::ServerUnaryReactor* CompareServiceImpl::CreateComparison(
    grpc::CallbackServerContext* context, const v1::CreateComparisonRequest* request,
    v1::Comparison* response) {
  return Serve(context, deps_, &api::CreateComparison, request, response);
}

grpc::ServerUnaryReactor* CompareServiceImpl::NextComparisonItems(
    grpc::CallbackServerContext* context, const v1::NextComparisonItemsRequest* request,
    v1::NextComparisonItemsResponse* response) {
  return Serve(context, deps_, &api::NextComparisonItems, request, response);
}

grpc::ServerUnaryReactor* CompareServiceImpl::SubmitComparisonOutcomes(
    grpc::CallbackServerContext* context, const v1::SubmitComparisonOutcomesRequest* request,
    v1::Comparison* response) {
  return Serve(context, deps_, &api::SubmitComparisonOutcomes, request, response);
}

grpc::ServerUnaryReactor* CompareServiceImpl::GetComparison(grpc::CallbackServerContext* context,
                                                            const v1::GetComparisonRequest* request,
                                                            v1::Comparison* response) {
  return Serve(context, deps_, &api::GetComparison, request, response);
}

grpc::ServerUnaryReactor* CompareServiceImpl::ListComparisons(
    grpc::CallbackServerContext* context, const v1::ListComparisonsRequest* request,
    v1::ListComparisonsResponse* response) {
  return Serve(context, deps_, &api::ListComparisons, request, response);
}

grpc::ServerWriteReactor<v1::Comparison>* CompareServiceImpl::WatchComparison(
    grpc::CallbackServerContext* context, const v1::WatchComparisonRequest* request) {
  return new WatchStream<v1::Comparison>(context, deps_, api::WatchComparison(deps_, *request));
}

}  // namespace assay::server
