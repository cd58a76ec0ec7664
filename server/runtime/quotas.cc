#include "server/runtime/quotas.h"

#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

#include "absl/strings/cord.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/base/status_macros.h"
#include "server/runtime/log.h"

namespace assay::server {
namespace {

constexpr LimitInfo kLimits[] = {
    {Limit::kWriteRate, "write_rate",
     "write calls (and stream messages) per second, sustained", 0},
    {Limit::kWriteBurst, "write_burst",
     "write calls allowed at once above the rate (0: one second's worth)", 0},
    {Limit::kCells, "cells", "response cells stored over all benchmarks", 0},
    {Limit::kOpenAudits, "open_audits", "audits not yet decided", 0},
    {Limit::kOpenSessions, "open_sessions", "adaptive tests not yet finished", 0},
    {Limit::kMonitors, "monitors", "monitors", 0},
    {Limit::kOpenComparisons, "open_comparisons", "comparisons not yet decided", 0},
    {Limit::kConcurrentFits, "concurrent_fits", "fits of the team running at once (>= 1)", 1},
    {Limit::kQueuedFits, "queued_fits", "fits queued or running", 0},
};
static_assert(std::size(kLimits) == kNumLimits);

constexpr char kRetryDelayUrl[] = "type.assay.dev/retry-delay-ms";

}  // namespace

absl::Span<const LimitInfo> AllLimits() { return kLimits; }

const LimitInfo& InfoOf(Limit limit) { return kLimits[static_cast<int>(limit)]; }

absl::StatusOr<Limit> ParseLimit(absl::string_view name) {
  std::vector<std::string> names;
  for (const LimitInfo& info : kLimits) {
    if (name == info.name) return info.limit;
    names.push_back(info.name);
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown limit '", name,
                                                 "'; the limits are ", absl::StrJoin(names, ", ")));
}

absl::Status ValidateLimit(Limit limit, double value) {
  const double least = limit == Limit::kConcurrentFits ? 1 : 0;
  if (!std::isfinite(value) || value < least) {
    return absl::InvalidArgumentError(absl::StrCat(InfoOf(limit).name, ": must be a number >= ",
                                                   least, ", got ", value));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::pair<Limit, std::optional<double>>> ParseLimitAssignment(
    absl::string_view assignment) {
  const size_t eq = assignment.find('=');
  if (eq == absl::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", assignment, "': expected NAME=VALUE (VALUE a number or 'default')"));
  }
  ASSIGN_OR_RETURN(Limit limit, ParseLimit(assignment.substr(0, eq)));
  const absl::string_view text = assignment.substr(eq + 1);
  if (text == "default") return std::make_pair(limit, std::optional<double>());
  double value = 0;
  if (!absl::SimpleAtod(text, &value)) {
    return absl::InvalidArgumentError(absl::StrCat(InfoOf(limit).name, ": '", text,
                                                   "' is not a number (or 'default')"));
  }
  RETURN_IF_ERROR(ValidateLimit(limit, value));
  return std::make_pair(limit, std::optional<double>(value));
}

std::optional<storage::Holding> HoldingOf(Limit limit) {
  switch (limit) {
    case Limit::kCells: return storage::Holding::kCells;
    case Limit::kOpenAudits: return storage::Holding::kOpenAudits;
    case Limit::kOpenSessions: return storage::Holding::kOpenSessions;
    case Limit::kMonitors: return storage::Holding::kMonitors;
    case Limit::kOpenComparisons: return storage::Holding::kOpenComparisons;
    case Limit::kQueuedFits: return storage::Holding::kUnfinishedFits;
    default: return std::nullopt;
  }
}

double TeamLimits::Burst() const {
  return Get(Limit::kWriteBurst) > 0 ? Get(Limit::kWriteBurst)
                                     : std::max(1.0, Get(Limit::kWriteRate));
}

TeamLimits::TeamLimits() {
  for (const LimitInfo& info : kLimits) Set(info.limit, info.default_value);
}

absl::Status WithRetryDelay(absl::Status status, absl::Duration delay) {
  const int64_t ms =
      delay < absl::ZeroDuration()
          ? -1
          : std::max<int64_t>(1, absl::ToInt64Milliseconds(absl::Ceil(delay, absl::Milliseconds(1))));
  status.SetPayload(kRetryDelayUrl, absl::Cord(absl::StrCat(ms)));
  return status;
}

std::optional<absl::Duration> RetryDelayOf(const absl::Status& status) {
  const auto payload = status.GetPayload(kRetryDelayUrl);
  int64_t ms = 0;
  if (!payload.has_value() || !absl::SimpleAtoi(std::string(*payload), &ms)) return std::nullopt;
  return absl::Milliseconds(ms);
}

Quotas::Quotas(storage::Storage* storage, TeamLimits defaults, absl::Duration refresh,
               Metrics* metrics, std::function<absl::Time()> now)
    : storage_(storage),
      defaults_(defaults),
      refresh_(refresh),
      metrics_(metrics),
      now_(std::move(now)) {}

void Quotas::Refresh(int64_t team_id) {
  const absl::Time now = now_();
  {
    absl::MutexLock lock(&mu_);
    auto it = teams_.find(team_id);
    if (it != teams_.end() && now - it->second.read_at < refresh_) return;
  }
  // Read without mu_: the committer takes mu_ (Admit) while it holds the database.
  absl::StatusOr<std::vector<std::pair<std::string, double>>> stored =
      storage_->Reads()->TeamLimits(team_id);
  if (!stored.ok()) {
    Log(LogLevel::kWarning, "team %d: could not read its limits (keeping the old ones): %s",
        team_id, stored.status().ToString());
    return;
  }
  TeamLimits limits = defaults_;
  for (const auto& [name, value] : *stored) {
    absl::StatusOr<Limit> limit = ParseLimit(name);
    if (limit.ok() && ValidateLimit(*limit, value).ok()) limits.Set(*limit, value);
  }
  absl::MutexLock lock(&mu_);
  Team& team = Entry(team_id);
  team.limits = limits;
  team.read_at = now;
}

Quotas::Team& Quotas::Entry(int64_t team_id) {
  auto [it, inserted] = teams_.try_emplace(team_id);
  if (inserted) it->second.limits = defaults_;
  return it->second;
}

TeamLimits Quotas::Of(int64_t team_id) {
  Refresh(team_id);
  return Cached(team_id);
}

TeamLimits Quotas::Cached(int64_t team_id) {
  absl::MutexLock lock(&mu_);
  auto it = teams_.find(team_id);
  return it == teams_.end() ? defaults_ : it->second.limits;
}

void Quotas::Refill(Team& team, absl::Time now) {
  const double rate = team.limits.Get(Limit::kWriteRate);
  const double burst = team.limits.Burst();
  if (!team.filled) {
    team.tokens = burst;
    team.filled = true;
  } else {
    team.tokens = std::min(
        burst, team.tokens + rate * std::max(0.0, absl::ToDoubleSeconds(now - team.tokens_at)));
  }
  team.tokens_at = now;
}

absl::StatusOr<absl::Duration> Quotas::TakeWrite(const Principal& who, absl::Duration may_wait) {
  Refresh(who.team_id);
  return *Take(who, may_wait, /*fresh_only=*/false);
}

std::optional<absl::StatusOr<absl::Duration>> Quotas::TakeWriteCached(const Principal& who,
                                                                      absl::Duration may_wait) {
  return Take(who, may_wait, /*fresh_only=*/true);
}

std::optional<absl::StatusOr<absl::Duration>> Quotas::Take(const Principal& who,
                                                           absl::Duration may_wait,
                                                           bool fresh_only) {
  const absl::Time now = now_();
  absl::MutexLock lock(&mu_);
  auto known = teams_.find(who.team_id);
  if (fresh_only && (known == teams_.end() || now - known->second.read_at >= refresh_)) {
    return std::nullopt;
  }
  Team& team = known != teams_.end() ? known->second : Entry(who.team_id);
  const double rate = team.limits.Get(Limit::kWriteRate);
  if (rate <= 0) return absl::ZeroDuration();
  Refill(team, now);
  // When the next token not yet taken is due (now, if the bucket holds one).
  const absl::Duration wait = absl::Seconds(std::max(0.0, (1 - team.tokens) / rate));
  if (wait <= may_wait) {
    team.tokens -= 1;
    if (wait > absl::ZeroDuration() && metrics_ != nullptr) metrics_->RecordWriteHeld(who.team);
    return wait;
  }
  team.promised = std::max(now + (wait - may_wait), team.promised + absl::Seconds(1 / rate));
  const absl::Duration retry = team.promised - now;
  if (metrics_ != nullptr) metrics_->RecordQuotaRefusal(who.team, InfoOf(Limit::kWriteRate).name);
  return WithRetryDelay(
      absl::ResourceExhaustedError(
          absl::StrCat("write_rate: team over its limit of ", rate, " writes per second; retry in ",
                       absl::FormatDuration(absl::Ceil(retry, absl::Milliseconds(1))))),
      retry);
}

double Quotas::WriteTokens(int64_t team_id) {
  Refresh(team_id);
  absl::MutexLock lock(&mu_);
  Team& team = Entry(team_id);
  Refill(team, now_());
  return std::max(0.0, team.tokens);
}

absl::Status Quotas::CheckCapacity(const TeamLimits& limits, Limit limit, double used,
                                   double adding) {
  const double most = limits.Get(limit);
  if (most <= 0 || used + adding <= most) return absl::OkStatus();
  return WithRetryDelay(
      absl::ResourceExhaustedError(absl::StrCat(InfoOf(limit).name, ": team at its limit of ",
                                                most, " (", InfoOf(limit).help, "); has ", used,
                                                ", this call adds ", adding)),
      -absl::Milliseconds(1));
}

absl::Status Quotas::Admit(storage::WriteTxn& txn, const Principal& who, Limit limit,
                           double adding) {
  const int64_t team_id = who.team_id;
  const std::optional<storage::Holding> holding = HoldingOf(limit);
  if (!holding.has_value()) {
    return absl::InternalError(absl::StrCat(InfoOf(limit).name, " is not a capacity limit"));
  }
  const TeamLimits limits = Cached(team_id);
  if (limits.Get(limit) <= 0) return absl::OkStatus();  // unlimited: no count needed
  ASSIGN_OR_RETURN(int64_t used, txn.CountHolding(*holding, team_id));
  absl::Status admitted = CheckCapacity(limits, limit, static_cast<double>(used), adding);
  if (!admitted.ok() && metrics_ != nullptr) metrics_->RecordQuotaRefusal(who.team, InfoOf(limit).name);
  return admitted;
}

}  // namespace assay::server
