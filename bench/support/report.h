// The results of a benchmark run: one row per figure and case, printed as a table (the plain
// SQLite baseline, the ltx figure, their ratio, the spread over runs, and what the store was
// asked to do) and written as JSON.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "bench/support/samples.h"
#include "storage/store_stats.h"

namespace ltxvfs::bench {

// Requests and bytes between ltx and the store for one run's work. These do not depend on the
// simulated latency, so they are the figures to compare with real S3 prices.
struct StoreCost {
  double requests = 0;
  double puts = 0;
  double gets = 0;
  double lists = 0;
  double bytes_sent = 0;
  double bytes_received = 0;
};

// From the "store" object of ltx_stats(); zero for anything missing.
StoreCost store_cost_of(const nlohmann::json& stats);
// From the counters of a store the benchmark opened itself (restore, raw downloads).
StoreCost store_cost_of(const storage::StoreStatsSnapshot& stats);
// Field-wise median over runs.
StoreCost median_cost(const std::vector<StoreCost>& runs);
StoreCost operator-(const StoreCost& a, const StoreCost& b);

struct Row {
  std::string figure;          // "W1"
  std::string name;            // the case, e.g. "1 row/tx NORMAL, ltx dir"
  std::string unit;            // "tx/s", "ms", "MB", "MB/s"
  std::string baseline_label;  // what the baseline is: "unix", "DB size", "raw download"
  std::optional<Summary> baseline;
  std::optional<Summary> ltx;
  std::optional<StoreCost> store;
  std::string note;
  std::string unavailable;  // non-empty: not measured, and why
  bool error = false;       // the figure failed (the run exits non-zero)
  nlohmann::json extra = nlohmann::json::object();
};

class Report {
 public:
  void add(Row row) { rows_.push_back(std::move(row)); }
  const std::vector<Row>& rows() const { return rows_; }
  bool failed() const;
  void print_table(std::ostream& out) const;
  // The same table in Markdown, for bench/RESULTS.md.
  void print_markdown(std::ostream& out) const;
  nlohmann::json to_json() const;

 private:
  std::vector<Row> rows_;
};

// "12.3k", "850", "1.25" — three significant digits, for the table.
std::string format_number(double value);
// "1.5 MiB", "920 B".
std::string format_bytes(double bytes);

}  // namespace ltxvfs::bench
