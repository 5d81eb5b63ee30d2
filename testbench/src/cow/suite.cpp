#include "mmusim/testbench/cow/suite.h"

#include <fmt/format.h>
#include <fmt/ostream.h>

#include <algorithm>
#include <filesystem>
#include <initializer_list>
#include <fstream>
#include <sstream>

#include "mmusim/testbench/tools/csv_text.h"
#include "mmusim/testbench/tools/input_error.h"

namespace fs = std::filesystem;

namespace mmusim::testbench::cow {
namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

SuiteEntry entry(const fs::path& file, const std::string& name) {
  return {name, file.string(), run_with_settings(read_file(file.string()))};
}

std::string first_line(const std::string& text) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line))
    if (line.find_first_not_of(" \t\r") != std::string::npos) return line;
  return "";
}

std::string known_bad_label(const std::string& text) {
  const std::size_t colon = text.find(':');
  return colon == std::string::npos ? text : text.substr(0, colon);
}

// The member at keys, or nullptr (operator[] on a const document must not meet a missing key).
const Json* member(const Json& j, std::initializer_list<const char*> keys) {
  const Json* at = &j;
  for (const char* key : keys) {
    if (!at->is_object() || !at->contains(key)) return nullptr;
    at = &(*at)[key];
  }
  return at;
}

std::optional<std::uint64_t> unsigned_member(const Json& j, std::initializer_list<const char*> keys) {
  const Json* v = member(j, keys);
  if (v && v->is_number_unsigned()) return v->get<std::uint64_t>();
  if (v && v->is_number() && v->get<double>() >= 0) return static_cast<std::uint64_t>(v->get<double>());  // a formula
  return std::nullopt;
}

std::string optional_text(const std::optional<std::uint64_t>& v) { return v ? std::to_string(*v) : "-"; }

}  // namespace

std::vector<SuiteEntry> discover(const std::vector<std::string>& paths) {
  std::vector<SuiteEntry> entries;
  for (const std::string& p : paths) {
    const fs::path path(p);
    if (fs::is_directory(path)) {
      std::vector<fs::path> files;
      for (const auto& e : fs::recursive_directory_iterator(path))
        if (e.is_regular_file() && e.path().extension() == ".scn") files.push_back(e.path());
      std::sort(files.begin(), files.end());
      for (const fs::path& f : files) entries.push_back(entry(f, f.lexically_relative(path).replace_extension().string()));
    } else if (fs::is_regular_file(path)) {
      if (path.extension() != ".scn") throw tools::InputError(fmt::format("{}: not a scenario file (*.scn)", p));
      entries.push_back(entry(path, fs::path(p).replace_extension().string()));
    } else {
      throw tools::InputError(fmt::format("{}: no such file or folder", p));
    }
  }
  if (entries.empty()) throw tools::InputError("no scenario files (*.scn) found");
  return entries;
}

std::vector<std::string> run_with_settings(const std::string& text) {
  std::vector<std::string> settings;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("# Run with ", 0) != 0) continue;
    std::istringstream words(line.substr(11));
    std::string word;
    while (words >> word) {
      if (word != "--set") continue;
      std::string kv;
      if (!(words >> kv)) break;
      kv = kv.substr(0, kv.find(':'));  // "--set k=v: because..." ends at the colon
      if (!kv.empty()) settings.push_back(kv);
    }
  }
  return settings;
}

Outcome outcome(const SuiteEntry& e, int status, const std::optional<Json>& stats, const std::string& log) {
  Outcome o;
  o.name = e.name;
  o.status = status;
  const Json* failures = nullptr;
  if (stats) {
    if (const Json* kb = member(*stats, {"known_bad"}); kb && kb->is_string())
      o.known_bad = known_bad_label(kb->get<std::string>());
    o.cycles = unsigned_member(*stats, {"result", "cycles"});
    o.faults = unsigned_member(*stats, {"stats", "mm.faults_total", "value"});
    failures = member(*stats, {"result", "failures"});
  }
  if (status == 0) {
    o.result = "pass";
    return o;
  }
  std::string kind;
  if (status == 1 && failures && failures->is_array() && !failures->empty()) {
    const Json& f = (*failures)[0];
    kind = f.value("kind", "failed");
    o.detail = fmt::format("{}: {}: {}", f.value("where", ""), kind, f.value("message", ""));
  } else {
    kind = status == 1 ? "failed" : status == 2 ? "bad input" : status == 3 ? "internal error"
         : status == 127 ? "not started" : status > 128 ? fmt::format("signal {}", status - 128)
         : fmt::format("exit {}", status);
    o.detail = first_line(log);
  }
  o.result = fmt::format("FAIL ({})", kind);
  return o;
}

void print_table(std::ostream& out, const std::vector<Outcome>& outcomes) {
  std::size_t name_w = 8, kb_w = 9, result_w = 6;
  for (const Outcome& o : outcomes) {
    name_w = std::max(name_w, o.name.size());
    kb_w = std::max(kb_w, o.known_bad.size());
    result_w = std::max(result_w, o.result.size());
  }
  fmt::print(out, "{:<{}}  {:<{}}  {:<{}}  {:>10}  {:>6}\n", "scenario", name_w, "known-bad", kb_w, "result", result_w,
             "cycles", "faults");
  std::size_t passed = 0, known_bad = 0;
  for (const Outcome& o : outcomes) {
    fmt::print(out, "{:<{}}  {:<{}}  {:<{}}  {:>10}  {:>6}\n", o.name, name_w, o.known_bad.empty() ? "-" : o.known_bad,
               kb_w, o.result, result_w, optional_text(o.cycles), optional_text(o.faults));
    passed += o.passed();
    known_bad += o.passed() && !o.known_bad.empty();
  }
  const std::size_t failed = outcomes.size() - passed;
  if (failed) {
    fmt::print(out, "\nfailures:\n");
    for (const Outcome& o : outcomes)
      if (!o.passed()) fmt::print(out, "  {}: {}\n", o.name, o.detail.empty() ? o.result : o.detail);
  }
  fmt::print(out, "\ncow: {} scenario{}: {} passed ({} known-bad reproduced), {} FAILED\n", outcomes.size(),
             outcomes.size() == 1 ? "" : "s", passed, known_bad, failed);
}

std::string table_csv(const std::vector<Outcome>& outcomes) {
  std::string csv = "scenario,known_bad,status,result,cycles,faults,detail\n";
  for (const Outcome& o : outcomes)
    csv += tools::csv_row({o.name, o.known_bad, std::to_string(o.status), o.result,
                           o.cycles ? std::to_string(*o.cycles) : "", o.faults ? std::to_string(*o.faults) : "",
                           o.detail}) +
           "\n";
  return csv;
}

Json table_json(const std::vector<Outcome>& outcomes) {
  Json j;
  j["schema"] = "mmusim.cow";
  j["schema_version"] = 1;
  std::size_t passed = 0;
  auto& rows = j["scenarios"] = Json::array();
  for (const Outcome& o : outcomes) {
    passed += o.passed();
    rows.push_back({{"scenario", o.name},
                    {"known_bad", o.known_bad.empty() ? Json() : Json(o.known_bad)},
                    {"status", o.status},
                    {"passed", o.passed()},
                    {"result", o.result},
                    {"cycles", o.cycles ? Json(*o.cycles) : Json()},
                    {"faults", o.faults ? Json(*o.faults) : Json()},
                    {"detail", o.detail}});
  }
  j["summary"] = {{"scenarios", outcomes.size()}, {"passed", passed}, {"failed", outcomes.size() - passed}};
  return j;
}

}  // namespace mmusim::testbench::cow
