// Command lines as text a POSIX shell reads back into the same words (commands.txt, sbatch).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace mmusim::testbench::tools {

// The word unchanged when it holds only characters a shell takes literally, else single-quoted.
std::string shell_quote(std::string_view word);
std::string shell_join(const std::vector<std::string>& words);

}  // namespace mmusim::testbench::tools
