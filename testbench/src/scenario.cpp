#include "mmusim/testbench/scenario.h"

#include <fmt/format.h>

#include <cerrno>
#include <charconv>
#include <utility>

namespace mmusim::testbench {

std::string Location::str() const {
  return line > 0 ? fmt::format("{}:{}:{}", file, line, column) : file;
}

ScenarioError::ScenarioError(const Location& where, const std::string& reason)
    : std::runtime_error(fmt::format("{}: error: {}", where.str(), reason)) {}

std::string AddrExpr::str() const {
  if (region.empty()) return fmt::format("{:#x}", offset);
  return offset ? fmt::format("{}+{:#x}", region, offset) : region;
}

const char* compare_symbol(Compare cmp) {
  switch (cmp) {
    case Compare::kEq: return "==";
    case Compare::kNe: return "!=";
    case Compare::kLt: return "<";
    case Compare::kLe: return "<=";
    case Compare::kGt: return ">";
    case Compare::kGe: return ">=";
  }
  return "?";
}

std::string trim_blanks(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return {};
  const auto e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

std::optional<std::uint64_t> parse_u64(std::string_view text) {
  std::uint64_t value = 0;
  const char* first = text.data();
  const char* last = text.data() + text.size();
  int base = 10;
  if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
    first += 2;
    base = 16;
  }
  auto [ptr, ec] = std::from_chars(first, last, value, base);
  if (first == last || ec != std::errc() || ptr != last) return std::nullopt;
  return value;
}

bool compare(double lhs, Compare cmp, double rhs) {
  switch (cmp) {
    case Compare::kEq: return lhs == rhs;
    case Compare::kNe: return lhs != rhs;
    case Compare::kLt: return lhs < rhs;
    case Compare::kLe: return lhs <= rhs;
    case Compare::kGt: return lhs > rhs;
    case Compare::kGe: return lhs >= rhs;
  }
  return false;
}

namespace {
constexpr std::pair<const char*, int> kErrnos[] = {
    {"EPERM", EPERM}, {"ENOENT", ENOENT}, {"ESRCH", ESRCH}, {"EINTR", EINTR},   {"EIO", EIO},
    {"EAGAIN", EAGAIN}, {"ENOMEM", ENOMEM}, {"EACCES", EACCES}, {"EFAULT", EFAULT}, {"EBUSY", EBUSY},
    {"EEXIST", EEXIST}, {"EINVAL", EINVAL}, {"ENOSPC", ENOSPC}, {"EMLINK", EMLINK}, {"ENOSYS", ENOSYS},
    {"EOPNOTSUPP", EOPNOTSUPP}, {"EHWPOISON", EHWPOISON},
};
}  // namespace

std::optional<int> errno_by_name(std::string_view name) {
  for (const auto& [n, v] : kErrnos)
    if (name == n) return v;
  return std::nullopt;
}

const char* errno_name(int err) {
  for (const auto& [n, v] : kErrnos)
    if (err == v) return n;
  return "E?";
}

}  // namespace mmusim::testbench
