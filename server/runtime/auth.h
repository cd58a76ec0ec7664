// Authentication and authorization: API keys sent as `authorization: Bearer KEY` (gRPC metadata or
// an HTTP header), each belonging to one team with one role (read < write < admin). Keys are random
// 256-bit secrets stored only as SHA-256 hashes (a fast hash is right here: the secret has full entropy, so there
// is nothing to brute-force). See proto/assay/v1/teams.proto for the user-facing contract.
#ifndef ASSAY_SERVER_RUNTIME_AUTH_H_
#define ASSAY_SERVER_RUNTIME_AUTH_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/storage/storage.h"

namespace assay::server {

enum class Role : int { kRead = 1, kWrite = 2, kAdmin = 3 };

const char* RoleName(Role role);  // "read", "write", "admin"
// InvalidArgument naming the accepted values.
absl::StatusOr<Role> ParseRole(absl::string_view name);

// Who is calling: the team every resource access is scoped to.
struct Principal {
  int64_t team_id = 0;
  std::string team;
  Role role = Role::kRead;
  std::string key_prefix;
};

// SHA-256 of `data` (32 raw bytes).
std::string Sha256(absl::string_view data);

// `bytes` bytes from the CSPRNG as lowercase hex (ids, keys).
std::string RandomHex(int bytes);

// A freshly drawn key: "ak_" + 64 hex digits; `prefix` is its first 12 characters.
struct NewApiKey {
  std::string secret;
  std::string prefix;
  std::string hash;  // Sha256(secret)
};
NewApiKey GenerateApiKey();

// Creates a key for `team_id` inside `txn`, drawing again on the (astronomically unlikely) prefix
// collision. Returns the secret and the stored record.
absl::StatusOr<std::pair<std::string, storage::ApiKeyRecord>> CreateApiKey(
    storage::WriteTxn& txn, int64_t team_id, Role role, const std::string& description,
    int64_t now);

// Resolves the caller of a call. Valid keys are cached for `cache_ttl`, so a key revoked by
// RevokeApiKey on this server stops working at once (the cache is cleared) and one revoked
// directly in the database within `cache_ttl`.
//
// Thread safety: thread safe.
class Authenticator {
 public:
  explicit Authenticator(storage::Storage* storage, absl::Duration cache_ttl = absl::Seconds(10))
      : storage_(storage), cache_ttl_(cache_ttl) {}

  // Resolves an `authorization` value as the client sent it ("Bearer KEY"; "" when there was
  // none). UNAUTHENTICATED: none or malformed, unknown or revoked key. PERMISSION_DENIED: the key's
  // role is below `needed`. May read the database (cache miss): call it on the executor.
  absl::StatusOr<Principal> Authenticate(absl::string_view authorization, Role needed);
  // As Authenticate, from what it already knows: nullopt when the answer needs the database (the
  // key is not cached, or its entry has expired). Never reads, so an adapter's I/O thread may call
  // it.
  std::optional<absl::StatusOr<Principal>> AuthenticateCached(absl::string_view authorization,
                                                              Role needed);

  // Forgets every cached key (after a revocation).
  void ClearCache();

 private:
  // Authenticate (`may_read`) or AuthenticateCached (nullopt only when !may_read).
  std::optional<absl::StatusOr<Principal>> Resolve(absl::string_view authorization, Role needed,
                                                   bool may_read);
  struct Cached {
    Principal principal;
    absl::Time expires;
  };
  storage::Storage* storage_;
  absl::Duration cache_ttl_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, Cached> cache_ ABSL_GUARDED_BY(mu_);  // by key hash
};

}  // namespace assay::server

#endif  // ASSAY_SERVER_RUNTIME_AUTH_H_
