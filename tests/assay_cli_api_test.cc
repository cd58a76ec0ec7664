// The `assay` CLI as a user drives it against a live assayd (real processes, loopback, port 0):
// every command over the API once, with the outputs a user reads and the failures they meet
// (wrong token, unknown ids, malformed files, a read-only key writing).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "core/cat/session.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "client/import/csv.h"
#include "tests/testing/assayd_process.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/temp_dir.h"

namespace assay {
namespace {

using nlohmann::json;
using ::testing::AllOf;
using ::testing::ContainsRegex;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr char kMath500[] = ASSAY_SHARED_DATA "/math500.csv";

class CliApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = dir_.File("assay.db");
    ASSERT_OK_AND_ASSIGN(admin_key_, testing::CreateTeamWithAssayd(ASSAYD_PATH, db_, "evals"));
    ASSERT_OK_AND_ASSIGN(auto server, testing::StartAssayd(ASSAYD_PATH, db_));
    server_ = std::make_unique<testing::RunningAssayd>(std::move(server));
    address_ = absl::StrCat("127.0.0.1:", server_->port);
  }
  void TearDown() override {
    if (server_) server_->process.Signal(SIGTERM);
  }

  // Runs `assay --server ADDRESS --token KEY ARGS...` (KEY = the admin key unless given).
  testing::RunResult Assay(const std::vector<std::string>& args, const std::string& key = "") {
    std::vector<std::string> argv = {ASSAY_CLI_PATH, "--server", address_, "--token",
                                     key.empty() ? admin_key_ : key};
    argv.insert(argv.end(), args.begin(), args.end());
    absl::StatusOr<testing::RunResult> run = testing::Run(argv, absl::Seconds(120));
    EXPECT_TRUE(run.ok()) << run.status();
    return run.ok() ? *run : testing::RunResult{};
  }
  // Runs a command that must succeed and returns its stdout.
  std::string Ok(const std::vector<std::string>& args, const std::string& key = "") {
    testing::RunResult run = Assay(args, key);
    EXPECT_EQ(run.exit_code, 0) << absl::StrJoin(args, " ") << "\n" << run.output;
    return run.output;
  }
  json OkJson(const std::vector<std::string>& args, const std::string& key = "") {
    std::vector<std::string> with_json = args;
    with_json.push_back("--json");
    const std::string out = Ok(with_json, key);
    json doc = json::parse(out, nullptr, false);
    EXPECT_FALSE(doc.is_discarded()) << out;
    return doc;
  }
  // Runs a command that must fail with exit code 1 and one "assay: error: ..." line.
  std::string Fails(const std::vector<std::string>& args, const std::string& key = "") {
    testing::RunResult run = Assay(args, key);
    EXPECT_EQ(run.exit_code, 1) << absl::StrJoin(args, " ") << "\n" << run.output;
    EXPECT_THAT(run.output, StartsWith("assay: error: "));
    EXPECT_EQ(std::count(run.output.begin(), run.output.end(), '\n'), 1) << run.output;
    return run.output;
  }

  testing::TempDir dir_;
  std::string db_, admin_key_, address_;
  std::unique_ptr<testing::RunningAssayd> server_;
};

TEST_F(CliApiTest, EveryCommandAsAUserDrivesIt) {
  // Benchmarks and upload.
  const json bm = OkJson({"benchmarks", "create", "MATH-500", "--description", "from LART"});
  const std::string id = bm["id"];
  ASSERT_THAT(id, StartsWith("bm_"));
  EXPECT_THAT(Ok({"upload", id, kMath500}),
              HasSubstr("uploaded 70000 cells in 1 chunks: 70000 added, 0 changed, 0 unchanged; "
                        "benchmark now 140 models x 500 items, 70000 cells"));
  EXPECT_THAT(Ok({"benchmarks", "get", id}),
              AllOf(HasSubstr("name         MATH-500\n"), HasSubstr("num_models   140\n")));
  const std::string list = Ok({"benchmarks", "list"});
  EXPECT_THAT(list, HasSubstr("id"));
  EXPECT_THAT(list, HasSubstr(id + "  MATH-500     140    500  70000"));
  EXPECT_EQ(Ok({"benchmarks", "items", id, "--csv", "--limit", "2"}), "item,tags\n0,\n1,\n");

  // A fit followed to the end (not a terminal: plain lines), then its tables.
  const std::string fit_out = Ok({"fits", "start", id, "--wait"});
  EXPECT_THAT(fit_out, HasSubstr("succeeded: iteration"));
  const json fits = OkJson({"fits", "list", id});
  ASSERT_EQ(fits["fits"].size(), 1u);
  const std::string fit_id = fits["fits"][0]["id"];
  EXPECT_EQ(fits["fits"][0]["current"], true);
  // Human output: aligned key/value lines, nested messages flattened, times as ISO 8601 in local
  // time, durations with their unit.
  const std::string fit_text = Ok({"fits", "get", fit_id});
  EXPECT_THAT(fit_text, ContainsRegex("\nstate +FIT_STATE_SUCCEEDED\n"));
  EXPECT_THAT(fit_text, ContainsRegex("\noptions\\.max_iter +5000\n"));
  EXPECT_THAT(fit_text, ContainsRegex("\ncreated_at +20[0-9][0-9]-[01][0-9]-[0-3][0-9]T"
                                      "[0-2][0-9]:[0-5][0-9]:[0-5][0-9][-+][0-9][0-9]:[0-9][0-9]\n"));
  EXPECT_THAT(fit_text, ContainsRegex("\nseconds +[0-9.]+ s\n"));

  const std::string top = Ok({"abilities", id, "--limit", "3"});
  std::vector<std::string> lines = absl::StrSplit(top, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 4u) << top;
  EXPECT_THAT(lines[0], AllOf(StartsWith("rank  model"), HasSubstr("theta")));
  EXPECT_THAT(lines[1], StartsWith("   1  "));
  ASSERT_OK_AND_ASSIGN(auto csv, import::ParseCsv(Ok({"abilities", id, "--csv"}), "stdout"));
  EXPECT_EQ(csv.size(), 141u);
  const json abilities = OkJson({"abilities", id, "--sort", "model"});
  ASSERT_EQ(abilities["abilities"].size(), 140u);
  EXPECT_LT(abilities["abilities"][0]["model"].get<std::string>(),
            abilities["abilities"][1]["model"].get<std::string>());
  const json hardest = OkJson({"items", id, "--sort", "difficulty", "--limit", "11"});
  ASSERT_EQ(hardest["items"].size(), 11u);
  for (const json& item : hardest["items"]) EXPECT_THAT(item["flags"], HasSubstr("never_solved"));
  EXPECT_THAT(Fails({"items", id, "--sort", "hardness"}),
              HasSubstr("--sort: 'hardness' is not one of item, difficulty, discrimination, "
                        "p_correct, misfit"));

  // Score one model's own row.
  ASSERT_OK_AND_ASSIGN(std::string text, import::ReadFile(kMath500));
  std::vector<std::string> rows = absl::StrSplit(text, '\n');
  const std::string one = dir_.File("one.csv");
  std::ofstream(one) << rows[0] << "\n" << rows[1] << "\n";
  const json score = OkJson({"score", id, one});
  EXPECT_EQ(score["num_responses"], 500);
  EXPECT_EQ(score["fit_id"], fit_id);
  // The human form says what its accuracy interval is (θ-based, assumes the 2PL).
  EXPECT_THAT(Ok({"score", id, one}), HasSubstr("assumes the model fits it"));

  // An adaptive session: start, submit with --next, get, list.
  const std::string started =
      Ok({"sessions", "start", id, "--model", "new-model", "--max-items", "3"});
  EXPECT_THAT(started, HasSubstr(": 0 answered"));
  const json session = OkJson({"sessions", "list"})["sessions"][0];
  const std::string sid = session["id"];
  const std::string item = session["pending_items"][0];
  EXPECT_THAT(Ok({"sessions", "submit", sid, item, "1", "--next"}),
              AllOf(HasSubstr("session " + sid + ": 1 answered"), HasSubstr("next: ")));
  EXPECT_THAT(Ok({"sessions", "get", sid}), HasSubstr(": 1 answered"));
  // The table (which asks for the BASIC view) and the JSON (FULL: with the outcomes).
  EXPECT_THAT(Ok({"sessions", "list"}), AllOf(HasSubstr(sid), HasSubstr("new-model")));
  EXPECT_EQ(OkJson({"sessions", "list"})["sessions"][0]["outcomes"].size(), 1u);
  EXPECT_THAT(Fails({"sessions", "submit", sid, "no-such-item", "1"}),
              HasSubstr("SubmitOutcomes: "));

  // An audit: create, hand out, label, void, status, list, watch.
  const json audit = OkJson({"audits", "create", "--name", "refusals", "--tau", "0.85"});
  const std::string aid = audit["id"];
  EXPECT_THAT(Ok({"audits", "case", aid, "c1", "c2"}),
              AllOf(HasSubstr("case  p_model  p_auditor"), HasSubstr("c1 "), HasSubstr("c2 ")));
  EXPECT_THAT(Ok({"audits", "label", aid, "c1", "1"}),
              HasSubstr("case c1 labelled: 1 steps merged"));
  EXPECT_THAT(Ok({"audits", "label", aid, "c1", "1"}), HasSubstr("case c1 labelled (duplicate"));
  Ok({"audits", "void", aid, "c2"});
  const std::string audit_text = Ok({"audits", "status", aid});
  EXPECT_THAT(audit_text, ContainsRegex("\ntested +1\n"));
  EXPECT_THAT(audit_text, ContainsRegex("\nconfig\\.tau +0\\.85\n"));
  EXPECT_THAT(Ok({"audits", "list"}), HasSubstr(aid + "  refusals"));
  EXPECT_THAT(Ok({"audits", "watch", aid, "--limit", "1"}),
              HasSubstr("audit " + aid + " rev 4: 1 tested of 2 handed out"));
  EXPECT_THAT(Fails({"audits", "label", aid, "c3", "1"}), HasSubstr("SubmitLabel: "));

  // A monitor.
  const json monitor = OkJson({"monitors", "create", "--tau", "0.9", "--alpha", "0.05"});
  const std::string mid = monitor["id"];
  EXPECT_THAT(Ok({"monitors", "scores", mid, "1", "1", "0", "1"}), HasSubstr("t 4"));
  EXPECT_THAT(Ok({"monitors", "scores", mid, "--first-t", "3", "0", "1"}), HasSubstr("t 4"));
  EXPECT_THAT(Ok({"monitors", "status", mid}), ContainsRegex("\nt +4\n"));
  EXPECT_THAT(Ok({"monitors", "watch", mid, "--limit", "1"}),
              HasSubstr("monitor " + mid + ": t 4"));
  EXPECT_THAT(Ok({"monitors", "list", "--csv"}), HasSubstr(mid + ",,4,"));
  EXPECT_THAT(Fails({"monitors", "scores", mid, "1", "x"}),
              HasSubstr("score 2: 'x' is not a number"));
  EXPECT_THAT(Fails({"monitors", "scores", mid, "1.5"}), HasSubstr("SubmitScores: "));

  // Keys: a read key can read but not write; a revoked key is refused.
  const std::string read_key = std::string(absl::StripTrailingAsciiWhitespace(
      Ok({"keys", "create", "--role", "read", "--description", "dashboard"})));
  EXPECT_THAT(Ok({"whoami"}, read_key),
              AllOf(HasSubstr("team        evals"), HasSubstr("ROLE_READ")));
  Ok({"benchmarks", "get", id}, read_key);
  EXPECT_THAT(Fails({"benchmarks", "create", "x"}, read_key), HasSubstr("CreateBenchmark: "));
  const json keys = OkJson({"keys", "list"});
  ASSERT_EQ(keys["keys"].size(), 2u);
  std::string read_prefix;
  for (const json& k : keys["keys"]) {
    if (k["description"] == "dashboard") read_prefix = k["prefix"];
  }
  EXPECT_THAT(Ok({"keys", "revoke", read_prefix}), HasSubstr("revoked " + read_prefix));
  EXPECT_THAT(Fails({"whoami"}, read_key), HasSubstr("WhoAmI: "));
  // Revoking again (what a client retry does) succeeds and changes nothing.
  EXPECT_THAT(Ok({"keys", "revoke", read_prefix}), HasSubstr("revoked " + read_prefix));
  EXPECT_EQ(OkJson({"keys", "list"})["keys"].size(), 2u);
}

TEST_F(CliApiTest, FailuresPrintOneClearLine) {
  EXPECT_THAT(Fails({"benchmarks", "list"}, "not-a-key"), HasSubstr("ListBenchmarks: "));
  EXPECT_THAT(Fails({"benchmarks", "get", "bm_missing"}),
              HasSubstr("GetBenchmark: benchmark_id: no benchmark 'bm_missing'"));
  EXPECT_THAT(Fails({"abilities", "bm_missing"}), HasSubstr("ListAbilities: "));
  EXPECT_THAT(Fails({"upload", "bm_missing", kMath500}), HasSubstr("benchmark"));
  // A malformed file: the message names file, line and column; nothing is sent.
  const json bm = OkJson({"benchmarks", "create", "b"});
  const std::string bad = dir_.File("bad.csv");
  std::ofstream(bad) << ",q1,q2\nm1,1,0\nm2,1,2\n";
  EXPECT_THAT(Fails({"upload", bm["id"], bad}), HasSubstr("bad.csv:3:3: "));
  EXPECT_EQ(OkJson({"benchmarks", "get", bm["id"]})["num_cells"], "0");  // int64: a JSON string
  EXPECT_THAT(Fails({"import", dir_.File("nothing.jsonl"), "--summary"}), HasSubstr("cannot open"));
  EXPECT_THAT(Fails({"import", kMath500}), HasSubstr("give --summary or --benchmark"));
  // Usage errors exit 2; --help exits 0 on every level.
  testing::RunResult usage = Assay({"audits", "label", "a_1"});
  EXPECT_EQ(usage.exit_code, 2) << usage.output;
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"--help"}, {"fits", "--help"}, {"fits", "start", "--help"}, {"import", "--help"}}) {
    testing::RunResult help = Assay(args);
    EXPECT_EQ(help.exit_code, 0) << help.output;
    EXPECT_THAT(help.output, HasSubstr("Usage:"));
  }
}

// Fit progress: on a terminal one bar redrawn in place ("\r[###   ] fit ..."), on a pipe plain
// lines. The terminal is util-linux's `script` (bsdutils, essential in Debian).
TEST_F(CliApiTest, FitProgressIsABarOnATerminalAndLinesOnAPipe) {
  const std::string id = OkJson({"benchmarks", "create", "MATH-500"})["id"];
  Ok({"upload", id, kMath500});
  std::string command;
  for (const std::string& arg :
       {std::string(ASSAY_CLI_PATH), std::string("--server"), address_, std::string("--token"),
        admin_key_, std::string("fits"), std::string("start"), id, std::string("--wait")}) {
    absl::StrAppend(&command, "'", arg, "' ");
  }
  ASSERT_OK_AND_ASSIGN(auto tty,
                       testing::Run({"/usr/bin/script", "-q", "-e", "-c", command, "/dev/null"},
                                    absl::Seconds(120)));
  ASSERT_EQ(tty.exit_code, 0) << tty.output;
  // The bar (an actual CR, then "[###   ] fit ..."), then the final state written over it.
  EXPECT_THAT(tty.output, ::testing::ContainsRegex("\r\\[#* *\\] fit fit_[0-9a-f]+ \\(v1\\) "));
  EXPECT_THAT(tty.output,
              ::testing::ContainsRegex("\rfit fit_[0-9a-f]+ \\(v1\\) succeeded: iteration"));
  // Redrawn in place: one line break at the end (the terminal writes it as CR LF), none before.
  EXPECT_EQ(std::count(tty.output.begin(), tty.output.end(), '\n'), 1) << tty.output;

  const std::string piped = Ok({"fits", "start", id, "--wait"});
  EXPECT_EQ(piped.find('\r'), std::string::npos) << piped;
  EXPECT_THAT(piped, ::testing::ContainsRegex("fit fit_[0-9a-f]+ \\(v2\\) succeeded: iteration"));
}

// One audit config for both tools: the README's file (the API's AuditConfig) replayed offline and
// created live give the same e-values and decision on the same labels, one case at a time; the
// old offline form is read by both with a deprecation line.
TEST_F(CliApiTest, OneAuditConfigFileForTheOfflineAndTheLiveAudit) {
  const std::string config = dir_.File("audit.json"), old_config = dir_.File("old.json");
  std::ofstream(config) << R"({"tau":0.85,"alpha":0.05,"budget":3,"method":"AUDIT_METHOD_SR",
      "max_samples":250,"ewaf":true,"model_grid":[0.6,0.655,0.71,0.765,0.82],
      "auditor_grid":[0.88,0.91,0.94],"eta":0.1})";
  std::ofstream(old_config) << R"({"tau":0.85,"alpha":0.05,"budget":3,"method":"sr",
      "max_samples":250,"alternative":{"kind":"ewaf","model_grid":[0.6,0.655,0.71,0.765,0.82],
      "auditor_grid":[0.88,0.91,0.94],"eta":0.1}})";
  const std::vector<std::string> labels = {"1", "0", "0", "1", "0", "0", "0", "1", "1", "0"};
  std::ofstream(dir_.File("labels.txt")) << absl::StrJoin(labels, "\n") << "\n";
  ASSERT_OK_AND_ASSIGN(auto offline,
                       testing::Run({ASSAY_CLI_PATH, "audit", "replay", "--config", config,
                                     "--labels", dir_.File("labels.txt")}));
  ASSERT_EQ(offline.exit_code, 0) << offline.output;
  ASSERT_OK_AND_ASSIGN(auto rows, import::ParseCsv(offline.output, "stdout"));
  ASSERT_EQ(rows.size(), labels.size() + 1);
  EXPECT_EQ(rows.back().fields[8], "failure_mode_found");

  const std::string aid = OkJson({"audits", "create", "--config", config})["id"];
  for (size_t k = 0; k < labels.size(); ++k) {
    const std::string c = absl::StrCat("c", k + 1);
    Ok({"audits", "case", aid, c});
    Ok({"audits", "label", aid, c, labels[k]});
  }
  const json live = OkJson({"audits", "status", aid});
  EXPECT_EQ(live["decision"], "DECISION_FAILURE_MODE_FOUND");
  EXPECT_NEAR(live["e_model"].get<double>(), std::stod(rows.back().fields[4]), 1e-9);
  EXPECT_NEAR(live["e_auditor"].get<double>(), std::stod(rows.back().fields[5]), 1e-9);

  testing::RunResult old = Assay({"audits", "create", "--config", old_config, "--json"});
  ASSERT_EQ(old.exit_code, 0) << old.output;
  EXPECT_THAT(old.output, HasSubstr(old_config + ": deprecated: "));
  const std::string old_id =
      json::parse(old.output.substr(old.output.find('{', old.output.find('\n'))))["id"];
  EXPECT_EQ(OkJson({"audits", "status", old_id})["config"], live["config"]);
}

// The estimator through the clients: the CLI's `fits start --method` and the Python client's
// start_fit(method=...) reach FitOptions.method, and the Fit says which ran and why.
TEST_F(CliApiTest, FitMethodFromTheCliAndThePythonClient) {
  const std::string id = OkJson({"benchmarks", "create", "LSAT7"})["id"];
  Ok({"upload", id, ASSAY_SHARED_DATA "/lsat7.csv"});
  Ok({"fits", "start", id, "--wait"});
  json fits = OkJson({"fits", "list", id});
  ASSERT_EQ(fits["fits"].size(), 1u);
  EXPECT_EQ(fits["fits"][0]["method"], "FIT_METHOD_MARGINAL_MODELS");
  EXPECT_THAT(fits["fits"][0]["method_reason"].get<std::string>(), HasSubstr("5 items < 100"));
  Ok({"fits", "start", id, "--wait", "--method", "joint"});
  fits = OkJson({"fits", "list", id});
  ASSERT_EQ(fits["fits"].size(), 2u);
  EXPECT_THAT(Fails({"fits", "start", id, "--method", "bayes"}),
              HasSubstr("--method: must be auto, joint, marginal-items or marginal-models"));

  const std::string script = absl::StrCat(
      "import sys, time\n"
      "from assay_client import AssayClient\n"
      "with AssayClient(sys.argv[1], token=sys.argv[2]) as c:\n"
      "    fit = c.start_fit(sys.argv[3], method='marginal-items')\n"
      "    while fit['state'] in ('FIT_STATE_QUEUED', 'FIT_STATE_RUNNING'):\n"
      "        time.sleep(0.05)\n"
      "        fit = c.fit(fit['id'])\n"
      "    print(fit['state'], fit['method'], fit['options']['method'])\n");
  ASSERT_OK_AND_ASSIGN(
      auto run, testing::Run({"/usr/bin/env", "PYTHONPATH=" ASSAY_PYTHON_PATH, "/usr/bin/python3",
                              "-c", script, address_, admin_key_, id}));
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_THAT(run.output, HasSubstr("FIT_STATE_SUCCEEDED FIT_METHOD_MARGINAL_ITEMS "
                                    "FIT_METHOD_MARGINAL_ITEMS"));
}

// A team's limits, set by the administrator on the database: `assay whoami` shows them, the CLI
// lists the fit queue, and the Python client waits out the write rate's retry delay by itself but
// does not retry a capacity limit.
TEST_F(CliApiTest, TeamLimitsThroughTheCliAndThePythonClient) {
  server_->process.Signal(SIGTERM);
  ASSERT_OK(server_->process.Wait(absl::Seconds(30)).status());
  ASSERT_OK_AND_ASSIGN(auto limits,
                       testing::Run({ASSAYD_PATH, "--db", db_, "team", "limits", "evals",
                                     "write_rate=2", "write_burst=1", "monitors=3"}));
  ASSERT_EQ(limits.exit_code, 0) << limits.output;
  EXPECT_THAT(limits.output, HasSubstr("write_rate"));
  ASSERT_OK_AND_ASSIGN(auto bad, testing::Run({ASSAYD_PATH, "--db", db_, "team", "limits",
                                               "evals", "monitor=3"}));
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_THAT(bad.output, HasSubstr("unknown limit 'monitor'"));
  ASSERT_OK_AND_ASSIGN(auto server, testing::StartAssayd(ASSAYD_PATH, db_));
  server_ = std::make_unique<testing::RunningAssayd>(std::move(server));
  address_ = absl::StrCat("127.0.0.1:", server_->port);

  const json me = OkJson({"whoami"});
  std::map<std::string, double> limit;
  for (const json& l : me["limits"]) limit[l["name"]] = l.value("limit", 0.0);
  EXPECT_EQ(limit["write_rate"], 2);
  EXPECT_EQ(limit["monitors"], 3);
  EXPECT_EQ(limit["concurrent_fits"], 1);
  // People get a table: each limit, its value (0 shown as unlimited), what the team uses.
  const std::string table = Ok({"whoami"});
  EXPECT_THAT(table, HasSubstr("limit             value"));
  EXPECT_THAT(table, ::testing::ContainsRegex("monitors +3 +0 +monitors"));
  EXPECT_THAT(table, ::testing::ContainsRegex("cells +unlimited +0"));
  EXPECT_THAT(Ok({"fits", "list"}), HasSubstr("starts after"));

  const std::string script =
      "import sys, time\n"
      "from assay_client import AssayClient, AssayError\n"
      "with AssayClient(sys.argv[1], token=sys.argv[2], attempts=10) as c:\n"
      "    start = time.monotonic()\n"
      "    for k in range(3):\n"
      "        c.call('MonitorService', 'CreateMonitor', config={'tau': 0.85, 'alpha': 0.01})\n"
      "    print('three created in %.2f s' % (time.monotonic() - start))\n"
      "    time.sleep(0.6)\n"
      "    start = time.monotonic()\n"
      "    try:\n"
      "        c.call('MonitorService', 'CreateMonitor', config={'tau': 0.85, 'alpha': 0.01})\n"
      "    except AssayError as e:\n"
      "        print(e.code.name, e.details, 'after %.2f s' % (time.monotonic() - start))\n";
  ASSERT_OK_AND_ASSIGN(
      auto run, testing::Run({"/usr/bin/env", "PYTHONPATH=" ASSAY_PYTHON_PATH, "/usr/bin/python3",
                              "-c", script, address_, admin_key_}));
  ASSERT_EQ(run.exit_code, 0) << run.output;
  // Burst 1 at 2 per second: the second and third waited about 0.5 s each.
  double seconds = 0;
  ASSERT_EQ(std::sscanf(run.output.c_str(), "three created in %lf s", &seconds), 1) << run.output;
  EXPECT_GE(seconds, 0.9);
  EXPECT_THAT(run.output, HasSubstr("RESOURCE_EXHAUSTED monitors: team at its limit of 3"));
  double refused_after = 1;
  ASSERT_NE(run.output.find("after "), std::string::npos);
  std::sscanf(run.output.c_str() + run.output.find("after ") + 6, "%lf", &refused_after);
  EXPECT_LT(refused_after, 0.4);  // no retries of a capacity limit
}

// The Python client's adaptive tests share the server's defaults: the goal accuracy (the default)
// takes the model-assisted design, the goal ability maximum information; both echo what was filled
// in, and a test runs to its end through next_items/submit.
TEST_F(CliApiTest, PythonSessionsStateTheirGoalAndShareTheDefaults) {
  const std::string id = OkJson({"benchmarks", "create", "MATH-500"})["id"];
  Ok({"upload", id, ASSAY_SHARED_DATA "/math500.csv"});
  Ok({"fits", "start", id, "--wait"});
  const std::string script = absl::StrCat(
      "import sys\n"
      "from assay_client import AssayClient\n"
      "with AssayClient(sys.argv[1], token=sys.argv[2]) as c:\n"
      "    s = c.start_session(sys.argv[3], 'new-model', max_items=5)\n"
      "    print(s['options']['goal'], s['options']['selection'], s['options']['max_items'])\n"
      "    a = c.start_session(sys.argv[3], 'new-model', goal='ability')\n"
      "    print(a['options']['goal'], a['options']['selection'], a['options']['max_items'])\n"
      "    while not s.get('finished'):\n"
      "        items = c.next_items(s['id'])\n"
      "        if not items: break\n"
      "        s = c.submit(s['id'], items[0], 1)\n"
      "    print('answered', s['answered'], s['stop_reason'])\n");
  ASSERT_OK_AND_ASSIGN(
      auto run, testing::Run({"/usr/bin/env", "PYTHONPATH=" ASSAY_PYTHON_PATH, "/usr/bin/python3",
                              "-c", script, address_, admin_key_, id}));
  ASSERT_EQ(run.exit_code, 0) << run.output;
  const cat::CatOptions defaults;
  EXPECT_THAT(run.output, HasSubstr("CAT_GOAL_ACCURACY CAT_SELECTION_MODEL_ASSISTED 5"));
  EXPECT_THAT(run.output, HasSubstr(absl::StrCat("CAT_GOAL_ABILITY CAT_SELECTION_FISHER ",
                                                 defaults.max_items)));
  EXPECT_THAT(run.output, HasSubstr("answered 5 max_items"));
}

// Comparisons from the CLI and the Python client: `compare create` with the baseline known
// (A = a stored row of the benchmark), `submit --next` steps, status/list/watch, a bad option named;
// the Python client runs a both-sampled comparison of the same pair to its decision.
TEST_F(CliApiTest, ComparisonsFromTheCliAndThePythonClient) {
  const std::string id = OkJson({"benchmarks", "create", "MATH-500"})["id"];
  Ok({"upload", id, ASSAY_SHARED_DATA "/math500.csv"});
  Ok({"fits", "start", id, "--wait"});
  const std::string a = "HuggingFaceTB_SmolLM3_3B_zero_shot", b = "HuggingFaceTB_SmolLM3_3B_one_shot";
  json c = OkJson({"compare", "create", id, "--a", a, "--b", b, "--baseline-known", "--seed", "3"});
  const std::string cid = c["id"];
  EXPECT_EQ(c["options"]["baseline_known"], true);
  EXPECT_EQ(c["options"]["delta"], 0.01);
  ASSERT_EQ(c["pending_items"].size(), 1u);
  // The item ids are MATH-500's column names; answer "correct" for the first five.
  std::string item = c["pending_items"][0];
  for (int k = 0; k < 5; ++k) {
    c = OkJson({"compare", "submit", cid, item, "1", "--next"});
    ASSERT_EQ(c["pending_items"].size(), 1u);
    item = c["pending_items"][0];
  }
  EXPECT_EQ(c["items"], "5");  // int64 as a JSON string, as grpcurl prints it
  EXPECT_THAT(Ok({"compare", "status", cid}), HasSubstr("5 of 500 items"));
  EXPECT_THAT(Ok({"compare", "list"}), HasSubstr(cid));
  EXPECT_THAT(Ok({"compare", "watch", cid, "--limit", "1"}), HasSubstr("comparison " + cid));
  EXPECT_THAT(Fails({"compare", "create", id, "--a", a, "--b", b, "--delta", "150"}),
              HasSubstr("options.delta"));
  EXPECT_THAT(Fails({"compare", "submit", cid, "no-such-item", "1"}),
              HasSubstr("outcomes[0].item"));

  const std::string script = absl::StrCat(
      "import csv, sys\n"
      "from assay_client import AssayClient\n"
      "rows = {r[0]: r[1:] for r in csv.reader(open(sys.argv[4]))}\n"
      "names = rows['']\n"
      "col = {n: i for i, n in enumerate(names)}\n"
      "def y(model, item): return 1.0 if rows[model][col[item]] == '1' else 0.0\n"
      "with AssayClient(sys.argv[1], token=sys.argv[2]) as c:\n"
      "    cmp = c.create_comparison(sys.argv[3], sys.argv[5], sys.argv[6], seed=4)\n"
      "    end = c.run_comparison(cmp['id'], lambda i: (y(sys.argv[5], i), y(sys.argv[6], i)),"
      " batch=4)\n"
      "    print('decision', end['decision'], 'items', end['items'], 'steps', len(end['steps']))\n");
  ASSERT_OK_AND_ASSIGN(
      auto run, testing::Run({"/usr/bin/env", "PYTHONPATH=" ASSAY_PYTHON_PATH, "/usr/bin/python3",
                              "-c", script, address_, admin_key_, id,
                              ASSAY_SHARED_DATA "/math500.csv", a, b}));
  ASSERT_EQ(run.exit_code, 0) << run.output;
  // One-shot is 18.4 points below zero-shot for this model: a regression, early.
  EXPECT_THAT(run.output, HasSubstr("decision COMPARE_DECISION_REGRESSION"));
}

// The Python client's example (Debian's python3-grpcio, stubs generated by the build) against the
// same kind of live server: the leaderboard, then an audit followed to its end.
TEST_F(CliApiTest, PythonExamplePrintsLeaderboardAndWatchesAudit) {
  const std::string id = OkJson({"benchmarks", "create", "MATH-500"})["id"];
  Ok({"upload", id, kMath500});
  Ok({"fits", "start", id, "--wait"});
  const std::string aid = OkJson({"audits", "create", "--tau", "0.85", "--max-samples", "3"})["id"];
  Ok({"audits", "case", aid, "c1", "c2", "c3"});
  for (const char* c : {"c1", "c2", "c3"}) Ok({"audits", "label", aid, c, "1"});

  ASSERT_OK_AND_ASSIGN(
      auto run, testing::Run({"/usr/bin/env", "PYTHONPATH=" ASSAY_PYTHON_PATH, "/usr/bin/python3",
                              ASSAY_PYTHON_EXAMPLE, "--server", address_, "--token", admin_key_,
                              "--benchmark", id, "--audit", aid, "--top", "3"}));
  ASSERT_EQ(run.exit_code, 0) << run.output;
  std::vector<std::string> lines = absl::StrSplit(run.output, '\n', absl::SkipEmpty());
  ASSERT_GE(lines.size(), 6u) << run.output;
  EXPECT_THAT(lines[0], HasSubstr("MATH-500: 140 models x 500 items, calibration fit_"));
  EXPECT_THAT(lines[1], HasSubstr("rank  model"));
  // The same top three, in the same order, as the CLI's table.
  const json top = OkJson({"abilities", id, "--limit", "3"});
  for (int i = 0; i < 3; ++i) {
    EXPECT_THAT(lines[2 + i], HasSubstr(top["abilities"][i]["model"].get<std::string>()));
  }
  EXPECT_THAT(run.output, HasSubstr("3 tested"));
  EXPECT_THAT(lines.back(), HasSubstr("DECISION_INCONCLUSIVE"));
  // A wrong token: one error line, exit 1.
  ASSERT_OK_AND_ASSIGN(
      auto bad, testing::Run({"/usr/bin/env", "PYTHONPATH=" ASSAY_PYTHON_PATH, "/usr/bin/python3",
                              ASSAY_PYTHON_EXAMPLE, "--server", address_, "--token", "nope"}));
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_THAT(bad.output, HasSubstr("error: ListBenchmarks: "));
}

TEST(CliImportTest, SummaryOfTheFixtureLogs) {
  ASSERT_OK_AND_ASSIGN(auto run, testing::Run({ASSAY_CLI_PATH, "import",
                                               ASSAY_SHARED_DATA "/fixtures", "--summary"}));
  EXPECT_EQ(run.exit_code, 0) << run.output;
  EXPECT_THAT(run.output,
              AllOf(HasSubstr("  format   inspect\n  model    ollama/qwen2.5:0.5b\n"),
                    HasSubstr("  samples  3, accuracy 0.3333\n  log says 3 samples, accuracy "
                              "0.3333 (results.scores 'choice')\n"),
                    HasSubstr("  samples  10, accuracy 0.0000\n  log says 5000 samples"),
                    HasSubstr("total: 5 sources, 5 models, 35 items, 38 cells\n")));
  ASSERT_OK_AND_ASSIGN(auto json_run, testing::Run({ASSAY_CLI_PATH, "import",
                                                    ASSAY_SHARED_DATA "/fixtures/helm", "--json"}));
  const json doc = json::parse(json_run.output);
  ASSERT_EQ(doc["sources"].size(), 2u);
  EXPECT_EQ(doc["sources"][0]["samples"], 10);
  EXPECT_EQ(doc["sources"][0]["accuracy"], 0.3);
  EXPECT_EQ(doc["cells"], 20);
}

}  // namespace
}  // namespace assay
