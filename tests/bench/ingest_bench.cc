// Audit label ingest through gRPC with acknowledged-durable writes (issue #6): starts the real
// assayd on a fresh database file, then C concurrent clients (one connection and one audit each)
// stream labels; a label's latency runs to the arrival of its acknowledgement, which the server
// sends after the commit that holds it. With --batch B each message carries B labels
// (StreamLabelBatches) and each label's latency is its message's. Prints throughput and latency
// percentiles per client count.
//
// Two ways to load the server:
//   closed loop (default): each client keeps at most W messages unacknowledged and sends the next
//     as soon as one is acknowledged; latency runs from the send. Measures saturation throughput
//     (and the latency at saturation, which is mostly queueing).
//   open loop (--rate R): the clients together offer R labels/s on a fixed schedule (each client
//     R/C, evenly spaced, staggered across clients), whatever the server's replies; latency runs
//     from a message's scheduled send time, so time spent waiting behind a slow reply counts too
//     (no coordinated omission). Measures latency at a given throughput. The last column,
//     write_p99_ms, runs from the start of the message's write instead: the part of the tail
//     that is not the client's own lateness (a late pacer, a write waiting behind the last one).
//
// The clients are callback reactors on gRPC's own threads (no thread per client), so the load
// generator takes as little as possible of the CPU it shares with the server.
//
//   build/tests/bench/ingest_bench --assayd build/server/assayd --clients 1,8,32 --labels 4000
//   build/tests/bench/ingest_bench --assayd build/server/assayd --clients 32 --batch 4 --rate 20000
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <memory>
#include <random>

#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "assay/v1/audit.grpc.pb.h"
#include "core/base/splitmix.h"
#include "tests/testing/api.h"
#include "tests/testing/assayd_process.h"
#include "tests/testing/percentile.h"

namespace assay {
namespace {

using testing::Ctx;

int LabelsIn(const v1::SubmitLabelRequest&) { return 1; }
int LabelsIn(const v1::LabelBatch& m) { return m.labels_size(); }
int Errors(const v1::SubmitLabelResponse& r) { return r.error_code() != 0 ? 1 : 0; }
int Errors(const v1::LabelBatchResponse& r) {
  int errors = r.error_code() != 0 ? 1 : 0;
  for (const v1::SubmitLabelResponse& label : r.results()) errors += Errors(label);
  return errors;
}

// One client's stream. Sends messages in order, one write in flight at a time, each once it is
// released: closed loop releases up to `window` past the last acknowledged one; open loop
// (Release() from the pacer) at its scheduled time.
template <typename Request, typename Response>
class Streamer : public grpc::ClientBidiReactor<Request, Response> {
 public:
  Streamer(std::vector<Request> messages, int window, bool open_loop)
      : messages_(std::move(messages)),
        sent_at_(messages_.size()),
        written_at_(messages_.size()),
        window_(window),
        open_loop_(open_loop) {}

  template <typename StartFn>
  void Start(const std::string& key, StartFn start) {
    context_ = Ctx(key, absl::Minutes(10));
    start(context_.get(), this);
    if (open_loop_) this->AddHold();  // the pacer may still write; removed by ReleaseAll
    this->StartRead(&response_);
    this->StartCall();
    if (!open_loop_) {
      absl::MutexLock lock(&mu_);
      released_ = std::min(messages_.size(), static_cast<size_t>(window_));
      TrySendLocked();
    }
  }

  // Open loop: message `i` (the next one) is due now; `due` is its scheduled time.
  void Release(absl::Time due) {
    absl::MutexLock lock(&mu_);
    sent_at_[released_++] = due;
    TrySendLocked();
    if (released_ == messages_.size()) this->RemoveHold();
  }

  void OnWriteDone(bool ok) override {
    absl::MutexLock lock(&mu_);
    writing_ = false;
    if (!ok) failed_ = true;
    TrySendLocked();
  }

  void OnReadDone(bool ok) override {
    const absl::Time now = absl::Now();
    absl::MutexLock lock(&mu_);
    if (!ok) {
      failed_ = true;
      return;
    }
    const double us = absl::ToDoubleMicroseconds(now - sent_at_[acked_]);
    const double written_us = absl::ToDoubleMicroseconds(now - written_at_[acked_]);
    for (int i = 0; i < LabelsIn(messages_[acked_]); ++i) {
      latencies_us_.push_back(us);
      written_latencies_us_.push_back(written_us);
    }
    errors_ += Errors(response_);
    ++acked_;
    if (!open_loop_) released_ = std::min(messages_.size(), acked_ + static_cast<size_t>(window_));
    TrySendLocked();
    if (acked_ == messages_.size()) {
      this->StartWritesDone();
      return;
    }
    this->StartRead(&response_);
  }

  void OnDone(const grpc::Status& status) override {
    {
      absl::MutexLock lock(&mu_);
      if (!status.ok() || acked_ != messages_.size()) ++errors_;
    }
    // Last, with mu_ released: Wait() returns at once and the owner may destroy this object.
    done_.Notify();
  }

  void Wait() { done_.WaitForNotification(); }
  std::vector<double>& latencies_us() { return latencies_us_; }
  std::vector<double>& written_latencies_us() { return written_latencies_us_; }
  int errors() const { return errors_; }

 private:
  void TrySendLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (writing_ || failed_ || next_ >= released_) return;
    writing_ = true;
    written_at_[next_] = absl::Now();
    if (!open_loop_) sent_at_[next_] = written_at_[next_];
    this->StartWrite(&messages_[next_++]);
  }

  absl::Mutex mu_;
  std::vector<Request> messages_;
  // sent_at_: when a message was due (open loop) or written; written_at_: when its write started.
  std::vector<absl::Time> sent_at_ ABSL_GUARDED_BY(mu_), written_at_ ABSL_GUARDED_BY(mu_);
  const int window_;
  const bool open_loop_;
  std::unique_ptr<grpc::ClientContext> context_;
  Response response_;
  size_t released_ ABSL_GUARDED_BY(mu_) = 0, next_ ABSL_GUARDED_BY(mu_) = 0,
                   acked_ ABSL_GUARDED_BY(mu_) = 0;
  bool writing_ ABSL_GUARDED_BY(mu_) = false, failed_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<double> latencies_us_, written_latencies_us_;
  int errors_ = 0;
  absl::Notification done_;
};

// A client's audit with `labels` cases handed out, on a connection of its own.
struct Client {
  std::unique_ptr<v1::AuditService::Stub> stub;
  std::string audit_id;
  std::vector<std::string> case_ids;
};

// Case ids are "c0", "c1", ... or, with `hashed_ids`, 16 hex digits in no particular order (as
// content hashes are; distinct, SplitMix64 being a bijection).
Client SetUpClient(int port, const std::string& key, int labels, bool hashed_ids) {
  Client client;
  client.stub = v1::AuditService::NewStub(testing::OwnConnection(port));
  v1::CreateAuditRequest create;
  create.mutable_config()->set_alpha(1e-12);  // keeps running for the whole benchmark
  create.mutable_config()->set_max_samples(10000000);
  v1::Audit audit;
  if (!client.stub->CreateAudit(Ctx(key).get(), create, &audit).ok()) std::abort();
  client.audit_id = audit.id();
  for (int start = 0; start < labels; start += 1000) {
    v1::HandOutCasesRequest req;
    req.set_audit_id(audit.id());
    for (int i = start; i < std::min(labels, start + 1000); ++i) {
      client.case_ids.push_back(hashed_ids
                                    ? absl::StrFormat("%016x", SplitMix64(static_cast<uint64_t>(i)))
                                    : "c" + std::to_string(i));
      req.add_cases()->set_case_id(client.case_ids.back());
    }
    v1::HandOutCasesResponse resp;
    if (!client.stub->HandOutCases(Ctx(key).get(), req, &resp).ok()) std::abort();
  }
  return client;
}

// The client's labels (y ~ Bernoulli(0.85)) in messages of `batch`.
template <typename Request>
std::vector<Request> Messages(const Client& client, int batch, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::bernoulli_distribution outcome(0.85);
  std::vector<v1::SubmitLabelRequest> labels;
  for (const std::string& id : client.case_ids) {
    labels.emplace_back();
    labels.back().set_audit_id(client.audit_id);
    labels.back().set_case_id(id);
    labels.back().set_y(outcome(rng) ? 1.0 : 0.0);
  }
  std::vector<Request> messages;
  if constexpr (std::is_same_v<Request, v1::SubmitLabelRequest>) {
    messages = std::move(labels);
  } else {
    for (size_t start = 0; start < labels.size(); start += static_cast<size_t>(batch)) {
      messages.emplace_back();
      for (size_t i = start; i < std::min(labels.size(), start + static_cast<size_t>(batch)); ++i) {
        *messages.back().add_labels() = labels[i];
      }
    }
  }
  return messages;
}

struct RunResult {
  std::vector<double> latencies_us;  // from due time (open loop) or write (closed loop)
  std::vector<double> written_us;    // from the write's start: without the client's own queueing
  int errors = 0;
  double seconds = 0;
};

// Streams every client's labels (closed loop, or open loop at `rate` labels/s in total).
template <typename Request, typename Response, typename StartFn>
RunResult Run(std::vector<Client>& clients, const std::string& key, int batch, int window,
              double rate, StartFn start_fn) {
  using S = Streamer<Request, Response>;
  const bool open_loop = rate > 0;
  std::vector<std::unique_ptr<S>> streams;
  for (size_t c = 0; c < clients.size(); ++c) {
    streams.push_back(
        std::make_unique<S>(Messages<Request>(clients[c], batch, c + 1), window, open_loop));
  }
  const absl::Time start = absl::Now();
  for (size_t c = 0; c < clients.size(); ++c) {
    streams[c]->Start(
        key, [&](grpc::ClientContext* ctx, S* s) { start_fn(clients[c].stub.get(), ctx, s); });
  }
  if (open_loop) {
    // Client c sends its k-th message at start + (k + c / C) * period, period = C * batch / rate.
    const size_t per_client = (clients[0].case_ids.size() + batch - 1) / static_cast<size_t>(batch);
    const double n = static_cast<double>(clients.size());
    const absl::Duration period = absl::Seconds(n * batch / rate);
    for (size_t k = 0; k < per_client; ++k) {
      for (size_t c = 0; c < clients.size(); ++c) {
        const absl::Time due =
            start + (static_cast<double>(k) + static_cast<double>(c) / n) * period + period;
        absl::SleepFor(due - absl::Now());
        streams[c]->Release(due);
      }
    }
  }
  RunResult result;
  for (auto& s : streams) {
    s->Wait();
    result.latencies_us.insert(result.latencies_us.end(), s->latencies_us().begin(),
                               s->latencies_us().end());
    result.written_us.insert(result.written_us.end(), s->written_latencies_us().begin(),
                             s->written_latencies_us().end());
    result.errors += s->errors();
  }
  result.seconds = absl::ToDoubleSeconds(absl::Now() - start);
  if (open_loop)
    result.seconds -= absl::ToDoubleSeconds(absl::Seconds(clients.size() * batch / rate));
  return result;
}

}  // namespace
}  // namespace assay

int main(int argc, char** argv) {
  std::string assayd = "build/server/assayd", clients_list = "1,8,32";
  int labels = 4000, window = 16, batch = 1;
  double rate = 0;
  bool hashed_ids = false;
  CLI::App app{"audit label ingest benchmark"};
  app.add_option("--assayd", assayd, "path of the assayd binary")->capture_default_str();
  app.add_option("--clients", clients_list, "client counts to run")->capture_default_str();
  app.add_option("--labels", labels, "labels per client")->capture_default_str();
  app.add_option("--window", window, "closed loop: unacknowledged messages per client")
      ->capture_default_str();
  app.add_option("--batch", batch,
                 "labels per message (> 1: StreamLabelBatches; the window counts messages)")
      ->capture_default_str();
  app.add_option("--rate", rate, "open loop: labels/s offered by all clients together (0: closed)")
      ->capture_default_str();
  app.add_flag("--hashed-ids", hashed_ids, "case ids in no particular order (default c0, c1, ...)");
  CLI11_PARSE(app, argc, argv);

  std::printf(
      "batch clients window offered labels   seconds  labels/s  p50_ms  p99_ms  max_ms errors "
      "write_p99_ms\n");
  for (absl::string_view c : absl::StrSplit(clients_list, ',')) {
    int n = 0;
    if (!absl::SimpleAtoi(c, &n) || n < 1) return 2;
    auto scratch = assay::testing::StartScratchAssayd(assayd, {"--workers", "2"});
    if (!scratch.ok()) {
      std::fprintf(stderr, "cannot start assayd: %s\n", scratch.status().ToString().c_str());
      return 1;
    }
    const std::string& key = (*scratch)->key;
    std::vector<assay::Client> clients;
    for (int i = 0; i < n; ++i) {
      clients.push_back(assay::SetUpClient((*scratch)->server.port, key, labels, hashed_ids));
    }
    using assay::v1::AuditService;
    assay::RunResult r =
        batch > 1 ? assay::Run<assay::v1::LabelBatch, assay::v1::LabelBatchResponse>(
                        clients, key, batch, window, rate,
                        [](AuditService::Stub* stub, grpc::ClientContext* ctx, auto* s) {
                          stub->async()->StreamLabelBatches(ctx, s);
                        })
                  : assay::Run<assay::v1::SubmitLabelRequest, assay::v1::SubmitLabelResponse>(
                        clients, key, batch, window, rate,
                        [](AuditService::Stub* stub, grpc::ClientContext* ctx, auto* s) {
                          stub->async()->StreamLabels(ctx, s);
                        });
    const double count = static_cast<double>(r.latencies_us.size());
    const double p50 = assay::testing::Percentile(r.latencies_us, 0.50) / 1000,
                 p99 = assay::testing::Percentile(r.latencies_us, 0.99) / 1000;
    const double max = r.latencies_us.empty()
                           ? 0
                           : *std::max_element(r.latencies_us.begin(), r.latencies_us.end()) / 1000;
    const double write_p99 = assay::testing::Percentile(r.written_us, 0.99) / 1000;
    std::printf("%5d %7d %6d %7.0f %6.0f %9.2f %9.0f %7.2f %7.2f %7.2f %6d %12.2f\n", batch, n,
                rate > 0 ? 0 : window, rate, count, r.seconds, count / r.seconds, p50, p99, max,
                r.errors, write_p99);
    std::fflush(stdout);
  }
  return 0;
}
