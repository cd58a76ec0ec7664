#include "client/lib/client.h"

#include "absl/strings/str_cat.h"

namespace assay::client {

absl::Status FromGrpcStatus(const grpc::Status& status, absl::string_view call) {
  if (status.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                      absl::StrCat(call, ": ", status.error_message()));
}

AssayClient::AssayClient(const ClientOptions& options)
    : options_(options),
      channel_(grpc::CreateChannel(options.server, grpc::InsecureChannelCredentials())),
      health_(grpc::health::v1::Health::NewStub(channel_)),
      system_(assay::v1::SystemService::NewStub(channel_)) {}

std::unique_ptr<grpc::ClientContext> AssayClient::Context(absl::Duration timeout) const {
  auto context = std::make_unique<grpc::ClientContext>();
  const absl::Duration deadline = timeout == absl::InfiniteDuration() ? options_.timeout : timeout;
  context->set_deadline(absl::ToChronoTime(absl::Now() + deadline));
  if (!options_.token.empty()) context->AddMetadata("authorization", "Bearer " + options_.token);
  if (!options_.team.empty()) context->AddMetadata("x-assay-team", options_.team);
  return context;
}

void AssayClient::SetDeadline(grpc::ClientContext& context) const {
  context.set_deadline(absl::ToChronoTime(absl::Now() + options_.timeout));
}

absl::StatusOr<std::string> AssayClient::Health(const std::string& service) {
  grpc::ClientContext context;
  SetDeadline(context);
  grpc::health::v1::HealthCheckRequest request;
  request.set_service(service);
  grpc::health::v1::HealthCheckResponse response;
  grpc::Status status = health_->Check(&context, request, &response);
  if (!status.ok()) return FromGrpcStatus(status, "health check");
  return grpc::health::v1::HealthCheckResponse::ServingStatus_Name(response.status());
}

absl::StatusOr<assay::v1::GetServerInfoResponse> AssayClient::ServerInfo() {
  grpc::ClientContext context;
  SetDeadline(context);
  assay::v1::GetServerInfoResponse response;
  grpc::Status status = system_->GetServerInfo(&context, {}, &response);
  if (!status.ok()) return FromGrpcStatus(status, "server info");
  return response;
}

}  // namespace assay::client
