#include "server/runtime/auth.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "core/base/status_macros.h"

namespace assay::server {

const char* RoleName(Role role) {
  switch (role) {
    case Role::kRead:
      return "read";
    case Role::kWrite:
      return "write";
    case Role::kAdmin:
      return "admin";
  }
  return "?";
}

absl::StatusOr<Role> ParseRole(absl::string_view name) {
  if (name == "read") return Role::kRead;
  if (name == "write") return Role::kWrite;
  if (name == "admin") return Role::kAdmin;
  return absl::InvalidArgumentError(
      absl::StrCat("role: must be read, write or admin, got '", name, "'"));
}

std::string Sha256(absl::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_Digest(data.data(), data.size(), digest, &size, EVP_sha256(), nullptr);
  return std::string(reinterpret_cast<const char*>(digest), size);
}

std::string RandomHex(int bytes) {
  std::string random(static_cast<size_t>(bytes), '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(random.data()), bytes) != 1) {
    // OpenSSL's CSPRNG cannot fail on Linux once seeded from getrandom(); if it ever does, issuing
    // a predictable key would be far worse than stopping.
    abort();
  }
  return absl::BytesToHexString(random);
}

NewApiKey GenerateApiKey() {
  NewApiKey key;
  key.secret = absl::StrCat("ak_", RandomHex(32));
  key.prefix = key.secret.substr(0, 12);
  key.hash = Sha256(key.secret);
  return key;
}

absl::StatusOr<std::pair<std::string, storage::ApiKeyRecord>> CreateApiKey(
    storage::WriteTxn& txn, int64_t team_id, Role role, const std::string& description,
    int64_t now) {
  for (int attempt = 0;; ++attempt) {
    NewApiKey key = GenerateApiKey();
    absl::StatusOr<storage::ApiKeyRecord> record =
        txn.InsertApiKey(team_id, key.prefix, key.hash, static_cast<int>(role), description, now);
    if (absl::IsAlreadyExists(record.status()) && attempt < 3) continue;
    RETURN_IF_ERROR(record.status());
    return std::make_pair(std::move(key.secret), *std::move(record));
  }
}

absl::StatusOr<Principal> Authenticator::Authenticate(absl::string_view authorization,
                                                      Role needed) {
  return *Resolve(authorization, needed, /*may_read=*/true);
}

std::optional<absl::StatusOr<Principal>> Authenticator::AuthenticateCached(
    absl::string_view authorization, Role needed) {
  return Resolve(authorization, needed, /*may_read=*/false);
}

std::optional<absl::StatusOr<Principal>> Authenticator::Resolve(absl::string_view authorization,
                                                                Role needed, bool may_read) {
  if (authorization.empty()) {
    return absl::UnauthenticatedError(
        "missing API key: send 'authorization: Bearer <key>' (gRPC metadata or HTTP header)");
  }
  absl::string_view value = authorization;
  if (!absl::ConsumePrefix(&value, "Bearer ") || value.empty()) {
    return absl::UnauthenticatedError("authorization must be 'Bearer <key>'");
  }
  const std::string hash = Sha256(value);
  const absl::Time now = absl::Now();
  std::optional<Principal> principal;
  {
    absl::MutexLock lock(&mu_);
    auto cached = cache_.find(hash);
    if (cached != cache_.end() && cached->second.expires > now) {
      principal = cached->second.principal;
    }
  }
  if (!principal.has_value()) {
    if (!may_read) return std::nullopt;
    ASSIGN_OR_RETURN(std::optional<storage::ApiKeyRecord> key,
                     storage_->Reads()->FindApiKeyByHash(hash));
    if (!key.has_value() || key->revoked) {
      return absl::UnauthenticatedError("invalid or revoked API key");
    }
    principal = Principal{key->team_id, key->team_name, static_cast<Role>(key->role), key->prefix};
    absl::MutexLock lock(&mu_);
    if (cache_.size() > 100000) cache_.clear();  // bound memory against key-guessing floods
    cache_[hash] = Cached{*principal, now + cache_ttl_};
  }
  if (static_cast<int>(principal->role) < static_cast<int>(needed)) {
    return absl::PermissionDeniedError(absl::StrCat("this call needs the ", RoleName(needed),
                                                    " role; the key has ",
                                                    RoleName(principal->role)));
  }
  return *principal;
}

void Authenticator::ClearCache() {
  absl::MutexLock lock(&mu_);
  cache_.clear();
}

}  // namespace assay::server
