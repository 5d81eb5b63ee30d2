#include "mmusim/testbench/report.h"

#include <fmt/format.h>
#include <fmt/ostream.h>

#include <systemc>

namespace mmusim::testbench {
namespace {

double value_of(const stats::Group& root, const std::string& path) {
  const stats::Stat* s = root.find(path);
  return s ? s->value_as_double() : 0.0;
}

const stats::Distribution* dist_of(const stats::Group& root, const std::string& path) {
  return dynamic_cast<const stats::Distribution*>(root.find(path));
}

void print_latency_table(std::ostream& out, const stats::Group& root, const char* title, const char* prefix,
                         const std::vector<std::string>& names, const char* suffix) {
  bool any = false;
  for (const auto& name : names) {
    const auto* d = dist_of(root, fmt::format("{}.{}{}", prefix, name, suffix));
    any |= d && d->count() > 0;
  }
  if (!any) return;
  fmt::print(out, "\n{:<16}{:>8}{:>10}{:>10}{:>10}{:>10}{:>10}{:>10}   (cycles)\n", title, "count", "mean", "min", "p50",
             "p90", "p99", "max");
  for (const auto& name : names) {
    const auto* d = dist_of(root, fmt::format("{}.{}{}", prefix, name, suffix));
    if (!d || d->count() == 0) continue;
    auto pct = [d](double q) { return d->percentile(q) ? fmt::format("{}", *d->percentile(q)) : std::string("-"); };
    fmt::print(out, "  {:<14}{:>8}{:>10.0f}{:>10}{:>10}{:>10}{:>10}{:>10}\n", name, d->count(), d->mean(), d->min(),
               pct(0.5), pct(0.9), pct(0.99), d->max());
  }
}

}  // namespace

void print_text_report(std::ostream& out, const Scenario& scenario, const RunResult& result,
                       const stats::Group& root, bool with_trace) {
  fmt::print(out, "mmusim run: {}\n", scenario.name);
  if (with_trace) {
    fmt::print(out, "\n{:>12}{:>12}  step\n", "start", "end");
    for (const TraceLine& t : result.trace)
      fmt::print(out, "{:>12}{:>12}  {:<40} -> {}   [line {}]\n", t.cycles_at_start, t.cycles_at_end, t.text,
                 t.outcome, t.where.line);
  }

  std::vector<std::string> kinds;
  for (std::size_t k = 0; k < mm::kFaultKindCount; ++k) kinds.push_back(mm::fault_kind_name(static_cast<mm::FaultKind>(k)));
  print_latency_table(out, root, "Faults", "tb.faults", kinds, ".latency");
  print_latency_table(out, root, "OS operations", "tb.syscalls",
                      std::vector<std::string>(std::begin(kSyscallNames), std::end(kSyscallNames)), "");

  fmt::print(out, "\n{:<16}{:>10}\n", "Memory manager", "");
  fmt::print(out, "  {:<24}{:>10}\n", "pages copied (COW)", value_of(root, "mm.copies"));
  fmt::print(out, "  {:<24}{:>10}\n", "pages zero-filled", value_of(root, "mm.zero_fills"));
  fmt::print(out, "  {:<24}{:>10}\n", "pages allocated", value_of(root, "mm.pages_allocated"));
  fmt::print(out, "  {:<24}{:>10}\n", "pages freed", value_of(root, "mm.pages_freed"));
  fmt::print(out, "  {:<24}{:>10}\n", "TLB pages invalidated", value_of(root, "mm.tlb.flush_pages"));
  fmt::print(out, "  {:<24}{:>10}\n", "TLB full flushes", value_of(root, "mm.tlb.flush_full"));

  for (unsigned cpu = 0; root.find(fmt::format("cpu{}.dtlb.hits.load", cpu)); ++cpu) {
    const std::string t = fmt::format("cpu{}.dtlb", cpu);
    const double hits = value_of(root, t + ".hits.load") + value_of(root, t + ".hits.store");
    const double misses = value_of(root, t + ".misses.load") + value_of(root, t + ".misses.store");
    fmt::print(out, "\ncpu{} {:<11}{:>10}{:>10}{:>10}\n", cpu, "", "load", "store", "total");
    fmt::print(out, "  {:<14}{:>10}{:>10}{:>10}\n", "dTLB hits", value_of(root, t + ".hits.load"),
               value_of(root, t + ".hits.store"), hits);
    fmt::print(out, "  {:<14}{:>10}{:>10}{:>10}\n", "dTLB misses", value_of(root, t + ".misses.load"),
               value_of(root, t + ".misses.store"), misses);
    if (const auto* walks = dist_of(root, fmt::format("cpu{}.walker.walk_cycles", cpu)))
      fmt::print(out, "  {:<14}{:>30}   (mean {:.0f} cycles)\n", "page walks", walks->count(), walks->mean());
  }

  fmt::print(out, "\n{} in {} simulated cycles: {} steps, {} failure{}\n", result.passed() ? "PASSED" : "FAILED",
             result.cycles, scenario.steps.size(), result.failures.size(), result.failures.size() == 1 ? "" : "s");
  for (const Failure& f : result.failures) fmt::print(out, "  {}: {}: {}\n", f.where.str(), f.kind, f.message);
  if (result.stopped) fmt::print(out, "  the run stopped at the first failure above\n");
}

nlohmann::ordered_json tool_versions() {
  nlohmann::ordered_json v;
  v["mmusim"] = MMUSIM_VERSION;
  v["systemc"] = sc_core::sc_release();
  v["fmt"] = fmt::format("{}.{}.{}", FMT_VERSION / 10000, FMT_VERSION / 100 % 100, FMT_VERSION % 100);
  v["nlohmann_json"] = fmt::format("{}.{}.{}", NLOHMANN_JSON_VERSION_MAJOR, NLOHMANN_JSON_VERSION_MINOR,
                                   NLOHMANN_JSON_VERSION_PATCH);
#if defined(__clang__)
  v["compiler"] = fmt::format("clang {}", __clang_version__);
#elif defined(__GNUC__)
  v["compiler"] = fmt::format("g++ {}.{}.{}", __GNUC__, __GNUC_MINOR__, __GNUC_PATCHLEVEL__);
#endif
  return v;
}

nlohmann::ordered_json stats_json(const Scenario& scenario, const SimConfig& config, const RunResult& result,
                                  const stats::Group& root) {
  nlohmann::ordered_json j;
  j["schema"] = "mmusim.stats";
  j["schema_version"] = kStatsSchemaVersion;
  j["tool"] = tool_versions();
  j["scenario"] = scenario.name;
  j["known_bad"] = scenario.known_bad.empty() ? nlohmann::ordered_json() : nlohmann::ordered_json(scenario.known_bad);
  j["seed"] = config.machine.seed;
  j["profile"] = mm::kCostProfileName;
  auto& cfg = j["config"];
  for (const ParamInfo& p : param_table())
    cfg[p.name] = {{"value", p.get(config)}, {"unit", p.unit}, {"description", p.description}};

  auto& res = j["result"];
  res["passed"] = result.passed();
  res["stopped"] = result.stopped;
  res["cycles"] = result.cycles;
  res["failures"] = nlohmann::ordered_json::array();
  for (const Failure& f : result.failures)
    res["failures"].push_back({{"where", f.where.str()}, {"kind", f.kind}, {"message", f.message}});

  struct Writer : stats::Visitor {
    nlohmann::ordered_json out = nlohmann::ordered_json::object();
    void head(nlohmann::ordered_json& e, const stats::Stat& s) {
      e["unit"] = stats::unit_name(s.unit());
      e["description"] = s.description();
    }
    void scalar(const std::string& path, const stats::Scalar& s) override {
      auto& e = out[path];
      e["value"] = s.value();
      head(e, s);
    }
    void formula(const std::string& path, const stats::Formula& s) override {
      auto& e = out[path];
      e["value"] = s.value();
      head(e, s);
    }
    void distribution(const std::string& path, const stats::Distribution& s) override {
      auto& e = out[path];
      e["count"] = s.count();
      e["sum"] = s.sum();
      e["min"] = s.min();
      e["max"] = s.max();
      e["mean"] = s.mean();
      if (s.keeps_values() && s.count() > 0) {
        e["p50"] = *s.percentile(0.5);
        e["p90"] = *s.percentile(0.9);
        e["p99"] = *s.percentile(0.99);
      }
      head(e, s);
      if (s.keeps_values() && s.count() > 0) {
        auto& c = e["cdf"] = nlohmann::ordered_json::array();
        for (const auto& [value, fraction] : s.cdf(kCdfMaxPoints)) c.push_back({value, fraction});
      }
      auto& b = e["buckets"] = nlohmann::ordered_json::array();
      for (std::size_t i = 0; i < stats::Distribution::kBuckets; ++i)
        if (s.buckets()[i]) b.push_back({{"low", stats::Distribution::bucket_low(i)}, {"count", s.buckets()[i]}});
    }
  } writer;
  root.accept(writer);
  j["stats"] = std::move(writer.out);
  return j;
}

}  // namespace mmusim::testbench
