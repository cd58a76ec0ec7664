// Response-file parsing speed (issue "Calibration fast in every regime": input at the speed of the
// disk, target >= 300 MB/s on a wide CSV). Times ParseResponsesCsv on a file already in memory
// (the disk is not measured), best of --reps, and prints MB/s and ns per cell.
//
//   csv_bench FILE [--reps 5]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>

#include "CLI/CLI.hpp"
#include "client/import/csv.h"

int main(int argc, char** argv) {
  CLI::App app{"csv_bench: parse a response CSV in memory"};
  std::string path;
  int reps = 5;
  app.add_option("file", path, "a wide or long response CSV")->required();
  app.add_option("--reps", reps, "repetitions (the best is reported)");
  CLI11_PARSE(app, argc, argv);
  absl::StatusOr<std::string> text = assay::import::ReadFile(path);
  if (!text.ok()) {
    std::fprintf(stderr, "%s\n", std::string(text.status().message()).c_str());
    return 1;
  }
  double best = 1e300;
  long cells = 0;
  for (int r = 0; r < reps; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    absl::StatusOr<assay::irt::ResponseMatrix> m = assay::import::ParseResponsesCsv(*text, path);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (!m.ok()) {
      std::fprintf(stderr, "%s\n", std::string(m.status().message()).c_str());
      return 1;
    }
    cells = m->num_models() * m->num_items();
    best = std::min(best, s);
  }
  const double mb = static_cast<double>(text->size()) / 1e6;
  std::printf("%s: %.1f MB, %ld cells: best of %d %.3f s, %.0f MB/s, %.1f ns/cell\n", path.c_str(),
              mb, cells, reps, best, mb / best, 1e9 * best / static_cast<double>(cells));
  return 0;
}
