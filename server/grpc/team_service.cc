#include "server/grpc/team_service.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "core/base/status_macros.h"

namespace assay::server {

v1::ApiKeyInfo ApiKeyInfoFromRecord(const storage::ApiKeyRecord& record) {
  v1::ApiKeyInfo info;
  info.set_prefix(record.prefix);
  info.set_role(static_cast<v1::Role>(record.role));
  info.set_description(record.description);
  info.set_created_at(record.created_at);
  info.set_revoked(record.revoked);
  return info;
}

grpc::ServerUnaryReactor* TeamServiceImpl::WhoAmI(grpc::CallbackServerContext* context,
                                                  const v1::WhoAmIRequest* /*request*/,
                                                  v1::WhoAmIResponse* response) {
  return RunRead(context, deps_, Role::kRead, [response](const Principal& who) {
    response->set_team(who.team);
    response->set_role(static_cast<v1::Role>(who.role));
    response->set_key_prefix(who.key_prefix);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* TeamServiceImpl::CreateApiKey(grpc::CallbackServerContext* context,
                                                        const v1::CreateApiKeyRequest* request,
                                                        v1::CreateApiKeyResponse* response) {
  return RunWrite(
      context, deps_, Role::kAdmin,
      [request, response](WriteContext& ctx, const Principal& who) -> absl::Status {
        const int role = request->role();
        if (role < 1 || role > 3) {
          return absl::InvalidArgumentError("role: must be ROLE_READ, ROLE_WRITE or ROLE_ADMIN");
        }
        if (request->description().size() > 200) {
          return absl::InvalidArgumentError("description: at most 200 bytes");
        }
        ASSIGN_OR_RETURN(
            auto created,
            server::CreateApiKey(ctx.txn(), who.team_id, static_cast<Role>(role),
                                 request->description(), absl::ToUnixSeconds(absl::Now())));
        response->set_key(created.first);
        *response->mutable_info() = ApiKeyInfoFromRecord(created.second);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* TeamServiceImpl::ListApiKeys(grpc::CallbackServerContext* context,
                                                       const v1::ListApiKeysRequest* /*request*/,
                                                       v1::ListApiKeysResponse* response) {
  return RunRead(context, deps_, Role::kAdmin,
                 [this, response](const Principal& who) -> absl::Status {
                   ASSIGN_OR_RETURN(std::vector<storage::ApiKeyRecord> keys,
                                    deps_.storage->ListApiKeys(who.team_id));
                   for (const auto& k : keys) *response->add_keys() = ApiKeyInfoFromRecord(k);
                   return absl::OkStatus();
                 });
}

grpc::ServerUnaryReactor* TeamServiceImpl::RevokeApiKey(grpc::CallbackServerContext* context,
                                                        const v1::RevokeApiKeyRequest* request,
                                                        v1::RevokeApiKeyResponse* response) {
  return RunWrite(
      context, deps_, Role::kAdmin,
      [this, request, response](WriteContext& ctx, const Principal& who) -> absl::Status {
        if (request->prefix().empty()) {
          return absl::InvalidArgumentError("prefix: required");
        }
        ASSIGN_OR_RETURN(storage::ApiKeyRecord key,
                         ctx.txn().RevokeApiKey(who.team_id, request->prefix(),
                                                absl::ToUnixSeconds(absl::Now())));
        *response->mutable_info() = ApiKeyInfoFromRecord(key);
        Authenticator* auth = deps_.auth;
        ctx.OnCommit([auth] { auth->ClearCache(); });
        return absl::OkStatus();
      });
}

}  // namespace assay::server
