#include "bench/support/report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iomanip>

namespace ltxvfs::bench {
namespace {

double number_at(const nlohmann::json& j, const char* key) {
  if (!j.is_object() || !j.contains(key) || !j[key].is_number()) return 0;
  return j[key].get<double>();
}

nlohmann::json summary_json(const std::optional<Summary>& s) {
  if (!s) return nullptr;
  return {{"runs", s->runs}, {"median", s->median}, {"min", s->min}, {"max", s->max}};
}

nlohmann::json cost_json(const std::optional<StoreCost>& c) {
  if (!c) return nullptr;
  return {{"requests", c->requests},
          {"puts", c->puts},
          {"gets", c->gets},
          {"lists", c->lists},
          {"bytes_sent", c->bytes_sent},
          {"bytes_received", c->bytes_received}};
}

std::optional<double> ratio_of(const Row& r) {
  if (!r.baseline || !r.ltx || r.baseline->median == 0) return std::nullopt;
  return r.ltx->median / r.baseline->median;
}

std::string fit(const std::string& s, size_t width) {
  return s.size() <= width ? s : s.substr(0, width - 1) + "~";
}

}  // namespace

StoreCost store_cost_of(const nlohmann::json& stats) {
  const nlohmann::json store =
      stats.is_object() && stats.contains("store") ? stats["store"] : nlohmann::json();
  StoreCost c;
  c.requests = number_at(store, "requests");
  c.puts = number_at(store, "puts");
  c.gets = number_at(store, "gets");
  c.lists = number_at(store, "lists");
  c.bytes_sent = number_at(store, "bytes_sent");
  c.bytes_received = number_at(store, "bytes_received");
  return c;
}

StoreCost store_cost_of(const storage::StoreStatsSnapshot& s) {
  auto d = [](uint64_t v) { return static_cast<double>(v); };
  return {d(s.requests), d(s.puts), d(s.gets), d(s.lists), d(s.bytes_sent), d(s.bytes_received)};
}

StoreCost median_cost(const std::vector<StoreCost>& runs) {
  if (runs.empty()) return {};
  auto median = [&](double StoreCost::*field) {
    std::vector<double> v;
    for (const auto& r : runs) v.push_back(r.*field);
    return summarize(v).median;
  };
  return {median(&StoreCost::requests),   median(&StoreCost::puts),
          median(&StoreCost::gets),       median(&StoreCost::lists),
          median(&StoreCost::bytes_sent), median(&StoreCost::bytes_received)};
}

StoreCost operator-(const StoreCost& a, const StoreCost& b) {
  return {a.requests - b.requests,
          a.puts - b.puts,
          a.gets - b.gets,
          a.lists - b.lists,
          a.bytes_sent - b.bytes_sent,
          a.bytes_received - b.bytes_received};
}

bool Report::failed() const {
  return std::any_of(rows_.begin(), rows_.end(), [](const Row& r) { return r.error; });
}

std::string format_number(double value) {
  char buf[32];
  const double a = std::fabs(value);
  if (a >= 1e6) {
    std::snprintf(buf, sizeof buf, "%.3gM", value / 1e6);
  } else if (a >= 1e4) {
    std::snprintf(buf, sizeof buf, "%.3gk", value / 1e3);
  } else if (a >= 100) {
    std::snprintf(buf, sizeof buf, "%.0f", value);
  } else if (a >= 10) {
    std::snprintf(buf, sizeof buf, "%.1f", value);
  } else {
    std::snprintf(buf, sizeof buf, "%.3g", value);
  }
  return buf;
}

std::string format_bytes(double bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB"};
  int u = 0;
  while (bytes >= 1024 && u < 3) {
    bytes /= 1024;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.3g %s", bytes, units[u]);
  return buf;
}

void Report::print_table(std::ostream& out) const {
  out << std::left << std::setw(4) << "fig" << std::setw(52) << "case" << std::setw(6) << "unit"
      << std::right << std::setw(9) << "plain" << std::setw(9) << "ltx" << std::setw(9) << "ratio"
      << std::setw(3) << "n" << std::setw(19) << "ltx min..max" << std::setw(8) << "req"
      << std::setw(11) << "sent" << std::setw(11) << "recv"
      << "\n";
  out << std::string(141, '-') << "\n";
  for (const Row& r : rows_) {
    out << std::left << std::setw(4) << r.figure << std::setw(52) << fit(r.name, 51) << std::setw(6)
        << r.unit << std::right;
    if (!r.unavailable.empty()) {
      out << "  " << (r.error ? "ERROR: " : "not available: ") << r.unavailable << "\n";
      continue;
    }
    const auto ratio = ratio_of(r);
    char ratio_text[16] = "-";
    if (ratio) std::snprintf(ratio_text, sizeof ratio_text, "%.3g", *ratio);
    const size_t runs = r.ltx ? r.ltx->runs : (r.baseline ? r.baseline->runs : 0);
    const std::string spread =
        r.ltx ? format_number(r.ltx->min) + ".." + format_number(r.ltx->max) : "-";
    out << std::setw(9) << (r.baseline ? format_number(r.baseline->median) : "-") << std::setw(9)
        << (r.ltx ? format_number(r.ltx->median) : "-") << std::setw(9) << ratio_text
        << std::setw(3) << runs << std::setw(19) << spread;
    if (r.store) {
      out << std::setw(8) << format_number(r.store->requests) << std::setw(11)
          << format_bytes(r.store->bytes_sent) << std::setw(11)
          << format_bytes(r.store->bytes_received);
    } else {
      out << std::setw(8) << "-" << std::setw(11) << "-" << std::setw(11) << "-";
    }
    out << "\n";
  }
  bool header = false;
  for (const Row& r : rows_) {
    if (r.note.empty()) continue;
    if (!header) out << "\nnotes:\n";
    header = true;
    out << "  " << r.figure << " " << r.name << ": " << r.note << "\n";
  }
}

void Report::print_markdown(std::ostream& out) const {
  out << "| fig | case | unit | plain | ltx | ratio | n | ltx min..max | req | sent | recv | "
         "note |\n";
  out << "|---|---|---|--:|--:|--:|--:|--:|--:|--:|--:|---|\n";
  for (const Row& r : rows_) {
    out << "| " << r.figure << " | " << r.name << " | " << r.unit << " | ";
    if (!r.unavailable.empty()) {
      out << "| | | | | | | | " << (r.error ? "**error**: " : "not available: ") << r.unavailable
          << " |\n";
      continue;
    }
    const auto ratio = ratio_of(r);
    char ratio_text[16] = "-";
    if (ratio) std::snprintf(ratio_text, sizeof ratio_text, "%.3g", *ratio);
    const size_t runs = r.ltx ? r.ltx->runs : (r.baseline ? r.baseline->runs : 0);
    out << (r.baseline ? format_number(r.baseline->median) : "-") << " | "
        << (r.ltx ? format_number(r.ltx->median) : "-") << " | " << ratio_text << " | " << runs
        << " | " << (r.ltx ? format_number(r.ltx->min) + ".." + format_number(r.ltx->max) : "-")
        << " | ";
    if (r.store) {
      out << format_number(r.store->requests) << " | " << format_bytes(r.store->bytes_sent) << " | "
          << format_bytes(r.store->bytes_received);
    } else {
      out << "- | - | -";
    }
    out << " | " << r.note << " |\n";
  }
}

nlohmann::json Report::to_json() const {
  nlohmann::json rows = nlohmann::json::array();
  for (const Row& r : rows_) {
    nlohmann::json j = {{"figure", r.figure},
                        {"case", r.name},
                        {"unit", r.unit},
                        {"baseline_label", r.baseline_label},
                        {"baseline", summary_json(r.baseline)},
                        {"ltx", summary_json(r.ltx)},
                        {"store", cost_json(r.store)},
                        {"note", r.note},
                        {"extra", r.extra}};
    const auto ratio = ratio_of(r);
    j["ratio"] = ratio ? nlohmann::json(*ratio) : nlohmann::json(nullptr);
    if (!r.unavailable.empty()) {
      j[r.error ? "error" : "not_available"] = r.unavailable;
    }
    rows.push_back(std::move(j));
  }
  return rows;
}

}  // namespace ltxvfs::bench
