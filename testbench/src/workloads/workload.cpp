// What every workload shares: parameters, the scenario builder, the table and its outputs.
#include "mmusim/testbench/workload.h"

#include <fmt/format.h>
#include <fmt/ostream.h>

#include <algorithm>

#include "mmusim/machine/machine_config.h"
#include "mmusim/testbench/scenario.h"
#include "mmusim/testbench/tools/csv_text.h"

namespace mmusim::testbench {

std::vector<std::uint64_t> parse_sizes(const std::string& text) {
  std::vector<std::uint64_t> sizes;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    const std::size_t comma = std::min(text.find(',', pos), text.size());
    std::string item = text.substr(pos, comma - pos);
    pos = comma + 1;
    std::uint64_t scale = 1;
    if (!item.empty()) {
      switch (item.back()) {
        case 'K': case 'k': scale = 1ull << 10; break;
        case 'M': case 'm': scale = 1ull << 20; break;
        case 'G': case 'g': scale = 1ull << 30; break;
        case 'p': scale = kPageSize; break;
        default: break;
      }
      if (scale != 1) item.pop_back();
    }
    const auto n = parse_u64(item);
    if (!n || *n == 0 || *n > (1ull << 46) / scale)
      throw WorkloadError(fmt::format("--size: bad size '{}' (a positive number of bytes with K, M or G, or of "
                                      "pages with p; a comma-separated list for several)",
                                      text.substr(0, comma)));
    const std::uint64_t bytes = *n * scale;
    if (bytes % kPageSize)
      throw WorkloadError(fmt::format("--size: {} bytes is not a multiple of 4 KiB", bytes));
    sizes.push_back(bytes);
  }
  return sizes;
}

std::string size_name(std::uint64_t bytes) {
  if (bytes % (1ull << 30) == 0) return fmt::format("{}G", bytes >> 30);
  if (bytes % (1ull << 20) == 0) return fmt::format("{}M", bytes >> 20);
  return fmt::format("{}K", bytes >> 10);
}

std::size_t RunView::index(const std::string& stat) const {
  const auto it = std::find(watched_.begin(), watched_.end(), stat);
  if (it == watched_.end()) throw std::logic_error("workload row reads unwatched statistic " + stat);
  return static_cast<std::size_t>(it - watched_.begin());
}

Cycles RunView::cycles(std::size_t step) const {
  const StepTiming& t = result_.steps.at(step);
  return t.end - t.start;
}

double RunView::count(std::size_t step, const std::string& stat) const {
  const StepTiming& t = result_.steps.at(step);
  return t.watched.empty() ? 0.0 : t.watched[index(stat)];
}

double RunView::sum(std::size_t step, const std::string& stat) const {
  const StepTiming& t = result_.steps.at(step);
  return t.watched_sum.empty() ? 0.0 : t.watched_sum[index(stat)];
}

double RunView::mean(std::size_t step, const std::string& stat) const {
  const double n = count(step, stat);
  return n > 0 ? sum(step, stat) / n : 0.0;
}

std::size_t ScenarioBuilder::step(const std::string& line) {
  text += line;
  text += '\n';
  return steps_++;
}

void ScenarioBuilder::comment(const std::string& line) { text += "# " + line + "\n"; }

const std::vector<Workload>& workloads() {
  static const std::vector<Workload> all = [] {
    std::vector<Workload> w;
    add_fault_workloads(w);
    add_flush_workloads(w);
    add_fork_workloads(w);
    return w;
  }();
  return all;
}

const Workload* find_workload(const std::string& name) {
  for (const Workload& w : workloads())
    if (w.name == name) return &w;
  return nullptr;
}

WorkloadParams resolve_params(const Workload& w, WorkloadParams p, bool size_given, bool threads_given,
                              bool cores_given, bool iterations_given) {
  const WorkloadParams& d = w.defaults;
  if (!size_given) p.sizes = d.sizes;
  if (!cores_given) p.cores = d.cores;
  // Threads follow the cores unless given: one thread per core.
  if (!threads_given) p.threads = std::max(d.threads, p.cores);
  if (!iterations_given) p.iterations = d.iterations;
  if (p.sizes.empty()) throw WorkloadError("--size: no size given");
  if (p.sizes.size() > 1 && w.name != "fork")
    throw WorkloadError(fmt::format("--size: {} takes one size (only fork takes a list)", w.name));
  if (p.cores < 1 || p.cores > machine::kMaxCores)
    throw WorkloadError(fmt::format("--cores {}: must be 1..{}", p.cores, machine::kMaxCores));
  if (p.threads < 1 || p.threads > 1024) throw WorkloadError(fmt::format("--threads {}: must be 1..1024", p.threads));
  if (p.threads < p.cores)
    throw WorkloadError(fmt::format("--cores {} needs at least {} threads (one per core), --threads is {}", p.cores,
                                    p.cores, p.threads));
  if (p.iterations < 1 || p.iterations > 1'000'000)
    throw WorkloadError(fmt::format("--iterations {}: must be 1..1000000", p.iterations));
  if (w.check) w.check(p);
  return p;
}

WorkloadPlan plan_workload(const Workload& w, const WorkloadParams& params) {
  ScenarioBuilder b;
  b.comment(fmt::format("workload {}: {}", w.name, w.description));
  std::string sizes;
  for (std::uint64_t s : params.sizes) sizes += (sizes.empty() ? "" : ",") + size_name(s);
  b.comment(fmt::format("--size {} --threads {} --cores {} --iterations {}", sizes, params.threads, params.cores,
                        params.iterations));
  w.build(params, b);
  return {std::move(b.text), std::move(b.rows)};
}

namespace {
// Above this many pages the invariant checks (which walk every mapping after each operation)
// would dominate the run: they are turned off unless the user set mm.check_invariants.
constexpr std::uint64_t kCheckedPagesLimit = 4096;
}  // namespace

bool fit_config(const Workload& w, const WorkloadParams& params, SimConfig& config, bool invariants_set) {
  const std::uint64_t needed = w.memory_needed(params);
  constexpr std::uint64_t kMax = 1ull << machine::kModelMaxPhysAddrBits;
  if (needed > kMax)
    throw WorkloadError(fmt::format("workload {} needs {} bytes of simulated memory; the model holds at most 2^{}",
                                    w.name, needed, machine::kModelMaxPhysAddrBits));
  if (config.machine.memory.size_bytes < needed) config.machine.memory.size_bytes = needed;
  std::uint64_t pages = 0;
  for (std::uint64_t s : params.sizes) pages += s / kPageSize * params.threads;
  if (!invariants_set && pages > kCheckedPagesLimit && config.kernel.check_invariants) {
    config.kernel.check_invariants = false;
    return true;
  }
  return false;
}

WorkloadTable make_table(const Workload& w, const WorkloadPlan& plan, const RunResult& result) {
  WorkloadTable t;
  t.columns = w.columns;
  const RunView view(result, w.watch);
  for (const RowMaker& row : plan.rows) t.rows.push_back(row(view));
  return t;
}

namespace {

std::string cell_text(const Cell& c) {
  if (c.is_string()) return c.get<std::string>();
  if (c.is_number_float()) {
    const double v = c.get<double>();
    return v == static_cast<double>(static_cast<long long>(v)) ? fmt::format("{}", static_cast<long long>(v))
                                                               : fmt::format("{:.1f}", v);
  }
  return c.dump();
}

void print_summary_line(std::ostream& out, const std::string& name, const stats::Distribution& d) {
  fmt::print(out, "  {:<34}{:>9}{:>10}{:>10}{:>10}{:>10}\n", name, d.count(), *d.percentile(0.5), *d.percentile(0.9),
             *d.percentile(0.99), d.max());
}

}  // namespace

void print_workload_report(std::ostream& out, const Workload& w, const WorkloadParams& params,
                           const WorkloadTable& table, const RunResult& result, const stats::Group& root) {
  std::string sizes;
  for (std::uint64_t s : params.sizes) sizes += (sizes.empty() ? "" : ",") + size_name(s);
  fmt::print(out, "mmusim workload {}: size {}, {} thread{}, {} core{}, {} iteration{}\n", w.name, sizes,
             params.threads, params.threads == 1 ? "" : "s", params.cores, params.cores == 1 ? "" : "s",
             params.iterations, params.iterations == 1 ? "" : "s");
  fmt::print(out, "{}\nmirrors: {}\n\n", w.description, w.mirrors);

  std::vector<std::string> heads;
  std::vector<std::size_t> widths;
  for (const WorkloadColumn& c : table.columns) {
    heads.push_back(c.unit.empty() || c.unit == c.name ? c.name : fmt::format("{} ({})", c.name, c.unit));
    widths.push_back(heads.back().size());
  }
  std::vector<std::vector<std::string>> cells;
  for (const auto& row : table.rows) {
    cells.emplace_back();
    for (std::size_t i = 0; i < row.size(); ++i) {
      cells.back().push_back(cell_text(row[i]));
      widths[i] = std::max(widths[i], cells.back().back().size());
    }
  }
  for (std::size_t i = 0; i < heads.size(); ++i) fmt::print(out, "{}{:>{}}", i ? " | " : "", heads[i], widths[i]);
  fmt::print(out, "\n");
  for (std::size_t i = 0; i < heads.size(); ++i) fmt::print(out, "{}{}", i ? "-+-" : "", std::string(widths[i], '-'));
  fmt::print(out, "\n");
  for (const auto& row : cells) {
    for (std::size_t i = 0; i < row.size(); ++i)
      fmt::print(out, "{}{:>{}}", i ? " | " : "", row[i], widths[i]);
    fmt::print(out, "\n");
  }

  fmt::print(out, "\n{:<36}{:>9}{:>10}{:>10}{:>10}{:>10}   (cycles)\n", "Latency by kind", "count", "p50", "p90",
             "p99", "max");
  std::vector<std::string> paths = root.paths();
  std::stable_partition(paths.begin(), paths.end(), [](const std::string& p) { return p.compare(0, 6, "tb.cpu") != 0; });
  for (const std::string& path : paths) {
    const auto* d = dynamic_cast<const stats::Distribution*>(root.find(path));
    if (!d || !d->keeps_values() || d->count() == 0 || path.compare(0, 3, "tb.") != 0) continue;
    if (path.find(".syscalls.") != std::string::npos) continue;
    if (path.find("targets") != std::string::npos || path.find("pages") != std::string::npos) continue;
    std::string name = path.substr(3);
    if (name.size() > 8 && name.compare(name.size() - 8, 8, ".latency") == 0) name.resize(name.size() - 8);
    print_summary_line(out, name, *d);
  }
  fmt::print(out, "\n{} in {} simulated cycles: {} steps, {} failure{}\n", result.passed() ? "PASSED" : "FAILED",
             result.cycles, result.steps.size(), result.failures.size(), result.failures.size() == 1 ? "" : "s");
  for (const Failure& f : result.failures) fmt::print(out, "  {}: {}: {}\n", f.where.str(), f.kind, f.message);
}

void write_workload_table_csv(std::ostream& out, const WorkloadTable& table) {
  std::vector<std::string> fields;
  for (const WorkloadColumn& c : table.columns) fields.push_back(c.name);
  out << tools::csv_row(fields) << '\n';
  for (const auto& row : table.rows) {
    fields.clear();
    for (const Cell& cell : row)
      fields.push_back(cell.is_number() ? tools::number_text(cell.get<double>())
                                        : cell.is_string() ? cell.get<std::string>() : cell.dump());
    out << tools::csv_row(fields) << '\n';
  }
}

nlohmann::ordered_json workload_json(const Workload& w, const WorkloadParams& params, const WorkloadTable& table) {
  nlohmann::ordered_json j;
  j["name"] = w.name;
  j["family"] = w.family;
  auto& p = j["parameters"];
  p["sizes_bytes"] = params.sizes;
  p["threads"] = params.threads;
  p["cores"] = params.cores;
  p["iterations"] = params.iterations;
  j["columns"] = nlohmann::ordered_json::array();
  for (const WorkloadColumn& c : table.columns) j["columns"].push_back({{"name", c.name}, {"unit", c.unit}});
  j["rows"] = nlohmann::ordered_json::array();
  for (const auto& row : table.rows) {
    nlohmann::ordered_json r = nlohmann::ordered_json::object();
    for (std::size_t i = 0; i < row.size(); ++i) r[table.columns[i].name] = row[i];
    j["rows"].push_back(std::move(r));
  }
  return j;
}

}  // namespace mmusim::testbench
