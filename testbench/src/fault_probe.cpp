#include "mmusim/testbench/fault_probe.h"

#include <fmt/format.h>

#include <stdexcept>

namespace mmusim::testbench {

FaultProbe::KindStats::KindStats(stats::Group& parent, const char* name)
    : group(name, &parent),
      latency(group, "latency", stats::Unit::kCycles,
              fmt::format("per {} fault: cycles from the #PF exception to the completion (or abort) of "
                          "the faulting access",
                          name)) {
  latency.keep_values();
  for (std::size_t p = 0; p < mm::kCostPhaseCount; ++p) {
    const auto phase = static_cast<mm::CostPhase>(p);
    phase_cycles.push_back(std::make_unique<stats::Scalar>(
        group, fmt::format("phase_{}", mm::cost_phase_name(phase)), stats::Unit::kCycles,
        fmt::format("sum over {} faults of the handler cycles spent in phase {}", name,
                    mm::cost_phase_name(phase))));
  }
}

FaultProbe::CpuStats::CpuStats(stats::Group& parent, CpuId cpu)
    : group(fmt::format("cpu{}", cpu), &parent),
      faults("faults", &group),
      latency(faults, "latency", stats::Unit::kCycles,
              fmt::format("per fault taken on cpu{} (every kind): cycles from the #PF exception to the "
                          "completion (or abort) of the access",
                          cpu)) {
  latency.keep_values();
}

FaultProbe::FaultProbe(stats::Group& parent, unsigned cores)
    : group_("tb", &parent),
      faults_group_("faults", &group_),
      all_latency_(faults_group_, "latency", stats::Unit::kCycles,
                   "every fault: cycles from the #PF exception to the completion (or abort) of the access"),
      syscalls_group_("syscalls", &group_) {
  all_latency_.keep_values();
  for (std::size_t k = 0; k < mm::kFaultKindCount; ++k)
    kinds_.push_back(std::make_unique<KindStats>(faults_group_, mm::fault_kind_name(static_cast<mm::FaultKind>(k))));
  for (const char* name : kSyscallNames)
    syscalls_.emplace_back(name, std::make_unique<stats::Distribution>(
                                     syscalls_group_, name, stats::Unit::kCycles,
                                     fmt::format("per {} operation: cycles from kernel entry to return", name)));
  for (auto& [n, dist] : syscalls_) dist->keep_values();
  for (CpuId cpu = 0; cpu < cores; ++cpu) cpus_.push_back(std::make_unique<CpuStats>(group_, cpu));
}

std::vector<stats::Group*> FaultProbe::cpu_groups() {
  std::vector<stats::Group*> groups;
  for (auto& c : cpus_) groups.push_back(&c->group);
  return groups;
}

void FaultProbe::fault_raised(CpuId cpu, mm::FaultKind kind, Cycles now, const CostAccount& handler) {
  KindStats& ks = *kinds_[static_cast<std::size_t>(kind)];
  for (std::size_t p = 0; p < mm::kCostPhaseCount; ++p) ks.phase_cycles[p]->inc(handler.by_phase[p]);
  open_.push_back({cpu, kind, now});
}

void FaultProbe::access_done(CpuId cpu, Cycles now) {
  for (auto it = open_.begin(); it != open_.end();) {
    if (it->cpu != cpu) {
      ++it;
      continue;
    }
    const Cycles latency = now - it->start;
    kinds_[static_cast<std::size_t>(it->kind)]->latency.sample(latency);
    all_latency_.sample(latency);
    if (it->cpu < cpus_.size()) cpus_[it->cpu]->latency.sample(latency);
    it = open_.erase(it);
  }
}

void FaultProbe::syscall(const std::string& name, const CostAccount& cost) {
  for (auto& [n, dist] : syscalls_)
    if (n == name) {
      dist->sample(cost.total());
      return;
    }
  throw std::logic_error("FaultProbe: undeclared syscall statistic " + name);
}

}  // namespace mmusim::testbench
